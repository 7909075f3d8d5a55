/**
 * Publisher liveness (docs/model.md, Leases): each identifier may hold a lease
 * that runs out `ttl` after its last arming write, and then, with
 * `remove_after`, a removal deadline. This room keeps the lease state machine
 * and its deadlines; the registry owns the identifiers and makes the changes
 * (it is the one place that builds a Change), called back through LeaseHandlers.
 */
import { type Clock, systemClock } from "../watch/clock.js";
import { DeadlineQueue } from "./deadline-queue.js";

/** One identifier's lease. Only Leases changes it; readers see `armed`, `ttlMs` and `expireTime`. */
export interface Lease {
  /** Folded names of the identifier it belongs to. */
  readonly groupKey: string;
  readonly identifierKey: string;
  ttlMs: number;
  removeAfterMs: number | undefined;
  /** True until it runs out; afterwards it only waits for its removal (with `removeAfterMs`). */
  armed: boolean;
  /** Monotonic: when it runs out (armed) or when its identifier is removed (not armed). */
  deadline: number;
  /** Wall-clock milliseconds since the epoch when it runs out (meaningful while armed). */
  expireTime: number;
}

/** What a write asks of a lease: undefined keeps, 0 disarms (ttl) or clears (remove_after). */
export interface LeaseWrite {
  ttlMs?: number | undefined;
  removeAfterMs?: number | undefined;
}

export interface LeaseHandlers {
  /** `lease` ran out (already disarmed; its removal, if any, scheduled): mark its identifier expired. */
  expired(lease: Lease): void;
  /** `remove_after` passed since `lease` ran out, with no arming write: remove its identifier. */
  removeDue(lease: Lease): void;
}

/** Every lease of one registry on one deadline queue: many leases cost one timer. */
export class Leases {
  private readonly queue: DeadlineQueue<Lease>;
  private expiredCount = 0;

  constructor(
    private readonly handlers: LeaseHandlers,
    private readonly clock: Clock = systemClock,
    private readonly wallNow: () => number = Date.now,
  ) {
    this.queue = new DeadlineQueue(clock, (lease) => this.due(lease));
  }

  /** Leases armed or waiting for their removal (for tests and metrics). */
  get scheduled(): number {
    return this.queue.size;
  }

  /** Leases that ran out since this registry started (for metrics: `sr_lease_expirations_total`). */
  get expirations(): number {
    return this.expiredCount;
  }

  /**
   * The lease after a write to its identifier (SetStatus, RefreshLease, or a
   * creating registration with `current` undefined): a `ttl` arms it, an armed
   * lease restarts with its own `ttl` when none is given, `ttl` 0 disarms it
   * with its `remove_after`, `remove_after` 0 clears a pending removal. The
   * caller has checked the write (leases/rules.ts).
   */
  write(current: Lease | undefined, owner: { groupKey: string; identifierKey: string }, write: LeaseWrite): Lease | undefined {
    const ttlMs = write.ttlMs ?? (current?.armed ? current.ttlMs : undefined);
    const removeAfterMs = write.removeAfterMs === undefined ? current?.removeAfterMs : write.removeAfterMs || undefined;
    if (ttlMs === 0 || (ttlMs === undefined && removeAfterMs === undefined)) {
      if (current) this.drop(current);
      return undefined;
    }
    if (ttlMs === undefined) return current;
    const lease = current ?? { ...owner, ttlMs, removeAfterMs, armed: true, deadline: 0, expireTime: 0 };
    lease.ttlMs = ttlMs;
    lease.removeAfterMs = removeAfterMs;
    lease.armed = true;
    lease.deadline = this.clock.now() + ttlMs;
    lease.expireTime = this.wallNow() + ttlMs;
    this.queue.schedule(lease, lease.deadline);
    return lease;
  }

  /**
   * A kept lease brought back as the process starts (a durable registry): an
   * armed one re-armed for its full ttl, one that had run out waiting its full
   * remove_after again (never early; docs/storage.md).
   */
  restore(owner: { groupKey: string; identifierKey: string }, kept: { ttlMs: number; removeAfterMs: number | undefined; armed: boolean }): Lease | undefined {
    if (!kept.armed && kept.removeAfterMs === undefined) return undefined;
    const lease: Lease = { ...owner, ttlMs: kept.ttlMs, removeAfterMs: kept.removeAfterMs, armed: kept.armed, deadline: 0, expireTime: 0 };
    lease.deadline = this.clock.now() + (kept.armed ? kept.ttlMs : (kept.removeAfterMs as number));
    lease.expireTime = this.wallNow() + kept.ttlMs;
    this.queue.schedule(lease, lease.deadline);
    return lease;
  }

  /** Forgets a lease whose identifier is gone (or disarmed). */
  drop(lease: Lease): void {
    lease.armed = false;
    this.queue.cancel(lease);
  }

  close(): void {
    this.queue.close();
  }

  private due(lease: Lease): void {
    if (!lease.armed) {
      this.handlers.removeDue(lease);
      return;
    }
    lease.armed = false;
    this.expiredCount++;
    // "Within remove_after" of running out, measured from the deadline itself.
    if (lease.removeAfterMs !== undefined) this.queue.schedule(lease, (lease.deadline += lease.removeAfterMs));
    this.handlers.expired(lease);
  }
}
