/**
 * A publisher that owns its status through a lease: it sets the status once
 * with a `ttl`, then only restarts the lease with RefreshLease (every third
 * of the ttl) until stopped. It never writes the status again, so a status or
 * details another writer set in between stay as they are; and when its
 * process dies the refreshes stop with it, the lease runs out, and the server
 * marks the identifier not ready by itself.
 *
 *   const publisher = await sr.publish({ group: "billing", status: 1, details: "ready", ttlMs: 15_000 });
 *   publisher.stop();
 */
import { status } from "@grpc/grpc-js";
import type { Duration } from "../../gen/ts/google/protobuf/duration.js";
import type {
  DeepPartial,
  RefreshLeaseRequest,
  RefreshLeaseResponse,
  SetStatusRequest,
  SetStatusResponse,
} from "../../gen/ts/sr/v1/sr.js";
import { SrError } from "./errors.js";
import { RETRYABLE } from "./resume.js";
import type { CallOpts } from "./unary.js";

/** The two calls a publisher makes; an SrClient has both. */
export interface LeaseCalls {
  setStatus(request: DeepPartial<SetStatusRequest>, opts?: CallOpts): Promise<SetStatusResponse>;
  refreshLease(request: DeepPartial<RefreshLeaseRequest>, opts?: CallOpts): Promise<RefreshLeaseResponse>;
}

/**
 * The time and timers a publisher runs on. Injected so tests can fire a
 * refresh at once instead of waiting a third of the ttl.
 */
export interface PublisherClock {
  /** Milliseconds on a monotonic clock. */
  now(): number;
  setTimeout(run: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/**
 * The real clock. Its timers are unref'd: a publisher alone never keeps its
 * process alive, so it cannot outlive the program it speaks for.
 */
export const realClock: PublisherClock = {
  now: () => performance.now(),
  setTimeout: (run, ms) => setTimeout(run, ms).unref(),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

export interface PublishRequest {
  group: string;
  /** Empty or absent: `main`. */
  identifier?: string;
  /** > 0 ready, < 0 not ready. */
  status: number;
  details?: string;
  /** How long the lease lasts without a refresh (the server accepts 1 s to 30 days). */
  ttlMs: number;
  /** Once the lease has run out, the identifier (for `main`, the group) is removed after this long. */
  removeAfterMs?: number;
}

export interface PublishOptions {
  /**
   * Called once when the lease is lost, with why: an SrError whose reason
   * says what happened (`LEASE_NOT_ARMED`: it ran out or another writer
   * disarmed it; `IDENTIFIER_NOT_FOUND`, `GROUP_NOT_FOUND`: removed; a
   * permission), or the last transient error when none of the retries got
   * through before the lease ran out. The publisher has stopped by then.
   */
  onLost?: (error: Error) => void;
  clock?: PublisherClock;
  /**
   * The first retry of a failed refresh waits this long, each next one twice
   * as long, up to a third of the ttl (default 250 ms). The last goes out at
   * least this long before the lease runs out.
   */
  retryMs?: number;
}

export type PublisherState = "active" | "stopped" | "lost";

/** Failures worth another try: the connection or the server, not the request. Our own deadline included. */
const TRANSIENT = new Set<number>([...RETRYABLE, status.DEADLINE_EXCEEDED]);

function toDuration(ms: number): Duration {
  const whole = Math.floor(ms / 1000);
  return { seconds: BigInt(whole), nanos: Math.round((ms - whole * 1000) * 1e6) };
}

function toMs(duration: Duration): number {
  return Number(duration.seconds) * 1000 + duration.nanos / 1e6;
}

/**
 * Sets the status with a lease and returns the publisher keeping it alive.
 * Rejects with the SrError of that first SetStatus (the group does not exist,
 * a ttl out of range, ...); nothing is refreshed then.
 */
export async function publish(calls: LeaseCalls, request: PublishRequest, options: PublishOptions = {}): Promise<Publisher> {
  if (!(Number.isFinite(request.ttlMs) && request.ttlMs > 0)) throw new RangeError(`ttlMs must be a positive number of milliseconds, not ${request.ttlMs}`);
  const clock = options.clock ?? realClock;
  const sent = clock.now();
  await calls.setStatus({
    group: request.group,
    identifier: request.identifier ?? "",
    status: request.status,
    details: request.details,
    ttl: toDuration(request.ttlMs),
    removeAfter: request.removeAfterMs === undefined ? undefined : toDuration(request.removeAfterMs),
  });
  return new Publisher(calls, { group: request.group, identifier: request.identifier ?? "" }, request.ttlMs, sent, clock, options);
}

export class Publisher {
  /** Resolves once the publisher is done: undefined when stopped, the error when the lease was lost. */
  readonly done: Promise<Error | undefined>;
  private state_: PublisherState = "active";
  private timer: unknown;
  private finish!: (error: Error | undefined) => void;
  /** When the server's lease runs out at the latest, on the clock: the last confirmed send plus the ttl. */
  private deadline: number;
  /** Failed refreshes in a row. */
  private failures = 0;
  private readonly retryMs: number;

  /** Use publish() (or SrClient.publish), which sets the status first. */
  constructor(
    private readonly calls: LeaseCalls,
    private readonly target: { group: string; identifier: string },
    private ttlMs: number,
    setAt: number,
    private readonly clock: PublisherClock,
    private readonly options: PublishOptions,
  ) {
    this.done = new Promise((resolve) => (this.finish = resolve));
    this.retryMs = options.retryMs ?? 250;
    this.deadline = setAt + ttlMs;
    this.schedule(ttlMs / 3);
  }

  get state(): PublisherState {
    return this.state_;
  }

  /**
   * Stops refreshing. The status stays as it is until the lease runs out (a
   * ttl after the last refresh); to say "not ready" at once, set the status.
   */
  stop(): void {
    this.end("stopped", undefined);
  }

  private schedule(ms: number): void {
    this.timer = this.clock.setTimeout(() => void this.refresh(), ms);
  }

  private end(state: Exclude<PublisherState, "active">, error: Error | undefined): void {
    if (this.state_ !== "active") return;
    this.state_ = state;
    this.clock.clearTimeout(this.timer);
    this.finish(error);
    if (error) this.options.onLost?.(error);
  }

  private async refresh(): Promise<void> {
    if (this.state_ !== "active") return;
    const sent = this.clock.now();
    const left = this.deadline - sent;
    let response: RefreshLeaseResponse;
    try {
      // A call that hangs must not use up the lease: it gives up in time for a retry.
      response = await this.calls.refreshLease(this.target, { timeoutMs: Math.max(1, Math.min(this.ttlMs / 3, left)) });
    } catch (error) {
      this.failed(error instanceof Error ? error : new Error(String(error)));
      return;
    }
    if (this.state_ !== "active") return;
    this.failures = 0;
    // Another writer's SetStatus may have given the lease another ttl: follow it.
    if (response.leaseTtl) this.ttlMs = toMs(response.leaseTtl);
    this.deadline = sent + this.ttlMs;
    this.schedule(this.ttlMs / 3);
  }

  private failed(error: Error): void {
    if (this.state_ !== "active") return;
    const transient = error instanceof SrError && TRANSIENT.has(error.code);
    this.failures++;
    const backoff = Math.min(this.retryMs * 2 ** (this.failures - 1), this.ttlMs / 3);
    // A try goes out at least retryMs before the lease runs out, in time to
    // arrive; after that the server expires it and a retry could only hear
    // LEASE_NOT_ARMED.
    const delay = Math.min(backoff, this.deadline - this.clock.now() - this.retryMs);
    if (!transient || delay <= 0) this.end("lost", error);
    else this.schedule(delay);
  }
}
