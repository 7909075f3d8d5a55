/**
 * When and from where a watch reconnects, as a state machine with no sockets
 * and no timers: the caller feeds it what the stream did and carries out what
 * it answers, so every resume decision can be tested without a server.
 *
 * Phases: `streaming` (a call is open or being opened; the resume point is the
 * last revision delivered), `snapshot` (parts of a snapshot were delivered but
 * not its last, so they are not a whole state yet), `switching` (another
 * registry answered; its call is being cancelled).
 */
import { status } from "@grpc/grpc-js";
import type { WatchStatusRequest, WatchStatusResponse } from "../../gen/ts/sr/v1/sr.js";
import type { Reason } from "../../src/protocol/wire.js";

/** As much of a stream's error as resuming depends on. */
export interface StreamError {
  code: number;
  reason?: Reason | undefined;
}

/** Open a call with `request`, after backoff attempt `backoffAttempt` (0: at once). */
export interface Connect {
  do: "connect";
  request: WatchStatusRequest;
  backoffAttempt: number;
  /** The call asks for a fresh snapshot that replaces what was delivered (it will be marked `resync`). */
  resync: boolean;
}

/** What to do with a message: hand it over (calling `onResync` first when `resynced`: the first part of a resync snapshot), or drop it. */
export type Delivery = { do: "yield"; message: WatchStatusResponse; resynced: boolean } | { do: "skip" };

/** What to do once the call has ended. */
export type AfterCall<E> = Connect | { do: "throw"; error: E } | { do: "stop" };

export type Phase = "streaming" | "snapshot" | "switching";

/**
 * Failures of the connection or the server, not of the request. RESOURCE_EXHAUSTED
 * (a watcher limit) is surfaced, not waited out. The publisher retries these too.
 */
export const RETRYABLE: ReadonlySet<number> = new Set<number>([status.CANCELLED, status.UNKNOWN, status.ABORTED, status.INTERNAL, status.UNAVAILABLE]);

/** A resume point the server cannot serve (too old, or from another registry's future): start over. */
const STALE = new Set<Reason | undefined>(["HISTORY_COMPACTED", "REVISION_AHEAD"]);

export class ResumeMachine<E extends StreamError = StreamError> {
  private phase_: Phase = "streaming";
  /** The last revision fully delivered: where a reconnect resumes (undefined: a fresh snapshot). */
  private resumeFrom: bigint | undefined;
  private registryId: string | undefined;
  /** The next snapshot replaces what was delivered, so it is marked `resync`. */
  private pendingResync = false;
  /** Consecutive reconnects without a message in between. */
  private failures = 0;

  constructor(
    private readonly base: WatchStatusRequest,
    /** false: the raw stream, ended by its first error or end. */
    private readonly resume = true,
  ) {
    this.resumeFrom = base.startRevision;
  }

  get phase(): Phase {
    return this.phase_;
  }

  /** The first call. */
  start(): Connect {
    return this.connect(0);
  }

  /** The call's initial metadata named registry `id`. `cancel`: end the call (then report how it ended). */
  registry(id: string): { do: "continue" | "cancel" } {
    const previous = this.registryId;
    this.registryId = id;
    // Revisions mean nothing in another registry; without a resume point there is nothing to protect.
    if (previous === undefined || previous === id || this.resumeFrom === undefined) return { do: "continue" };
    this.phase_ = "switching";
    return { do: "cancel" };
  }

  message(message: WatchStatusResponse): Delivery {
    if (this.phase_ === "switching") return { do: "skip" };
    this.failures = 0;
    const event = message.event;
    if (event?.$case !== "snapshot") {
      if (this.phase_ === "streaming") this.resumeFrom = message.revision;
      return { do: "yield", message, resynced: false };
    }
    const marked: WatchStatusResponse =
      this.pendingResync && !event.value.resync ? { ...message, event: { $case: "snapshot", value: { ...event.value, resync: true } } } : message;
    // A resync (ours or the server's) is announced with its first part, before
    // any part is handed over, so the caller drops its old state first.
    const resynced = this.phase_ !== "snapshot" && (this.pendingResync || event.value.resync);
    if (!event.value.last) {
      this.phase_ = "snapshot";
      return { do: "yield", message: marked, resynced };
    }
    // The last part: the snapshot is whole, and the resync complete.
    this.phase_ = "streaming";
    this.pendingResync = false;
    this.resumeFrom = message.revision;
    return { do: "yield", message: marked, resynced };
  }

  /** The call failed with `error`. */
  failed(error: E): AfterCall<E> {
    return this.afterCall(error);
  }

  /** The call ended without an error (the server closed it). */
  ended(): AfterCall<E> {
    return this.afterCall(undefined);
  }

  private afterCall(error: E | undefined): AfterCall<E> {
    if (this.phase_ === "switching") return this.restart(0);
    if (!this.resume) return error ? { do: "throw", error } : { do: "stop" };
    if (error && !RETRYABLE.has(error.code)) {
      // Anything but a stale resume point is the caller's to fix.
      if (!STALE.has(error.reason) || this.resumeFrom === undefined) return { do: "throw", error };
      return this.restart(0);
    }
    this.failures++;
    // Dropped mid-snapshot: the parts seen so far are not a whole state.
    if (this.phase_ === "snapshot") return this.restart(this.failures);
    return this.connect(this.failures);
  }

  /** Starts over from a fresh snapshot, which will be marked `resync`. */
  private restart(backoffAttempt: number): Connect {
    this.resumeFrom = undefined;
    this.pendingResync = true;
    return this.connect(backoffAttempt);
  }

  private connect(backoffAttempt: number): Connect {
    this.phase_ = "streaming";
    const request = { ...this.base, startRevision: this.resumeFrom };
    return { do: "connect", request, backoffAttempt, resync: this.pendingResync };
  }
}
