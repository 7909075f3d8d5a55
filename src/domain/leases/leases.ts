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
  /**
   * Replaces both when set (a replicated registry, docs/storage.md): `lease` reached its
   * deadline and nothing was changed; the handler proposes the expiry or the removal to
   * the cluster, which commits it once, and calls `retry` when that could not be done now.
   */
  due?: ((lease: Lease) => void) | undefined;
}

/** A lease's fields and place in the queue, to put it back exactly (a replicated registry's proposals). */
export interface LeaseState {
  ttlMs: number;
  removeAfterMs: number | undefined;
  armed: boolean;
  deadline: number;
  expireTime: number;
  /** Where it was queued; undefined when it was not. */
  queuedAt: number | undefined;
}

/** A lease as replicas exchange it: its settings and wall-clock deadline (no monotonic time). */
export interface LeaseRow {
  ttlMs: number;
  removeAfterMs: number | undefined;
  armed: boolean;
  expireTime: number;
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

  /**
   * A lease as another replica left it (a committed change or refresh): re-armed here
   * for its full ttl from now (never early), or waiting its full remove_after when it
   * ran out. `current` is reused when there is one.
   */
  install(current: Lease | undefined, owner: { groupKey: string; identifierKey: string }, row: LeaseRow): Lease | undefined {
    if (!row.armed && row.removeAfterMs === undefined) {
      if (current) this.drop(current);
      return undefined;
    }
    const lease = current ?? { ...owner, ttlMs: row.ttlMs, removeAfterMs: row.removeAfterMs, armed: row.armed, deadline: 0, expireTime: 0 };
    lease.ttlMs = row.ttlMs;
    lease.removeAfterMs = row.removeAfterMs;
    lease.armed = row.armed;
    lease.expireTime = row.expireTime;
    lease.deadline = this.clock.now() + (row.armed ? row.ttlMs : (row.removeAfterMs as number));
    this.queue.schedule(lease, lease.deadline);
    return lease;
  }

  /** A lease's fields and place in the queue, for `reinstate`. */
  stateOf(lease: Lease): LeaseState {
    const { ttlMs, removeAfterMs, armed, deadline, expireTime } = lease;
    return { ttlMs, removeAfterMs, armed, deadline, expireTime, queuedAt: this.queue.deadlineOf(lease) };
  }

  /** Puts a lease back as `stateOf` found it. */
  reinstate(lease: Lease, state: LeaseState): void {
    lease.ttlMs = state.ttlMs;
    lease.removeAfterMs = state.removeAfterMs;
    lease.armed = state.armed;
    lease.deadline = state.deadline;
    lease.expireTime = state.expireTime;
    if (state.queuedAt === undefined) this.queue.cancel(lease);
    else this.queue.schedule(lease, state.queuedAt);
  }

  /** Runs out an armed lease now (a replicated registry's expiry, within its proposal). */
  expire(lease: Lease): void {
    lease.armed = false;
    this.expiredCount++;
    if (lease.removeAfterMs !== undefined) this.queue.schedule(lease, (lease.deadline += lease.removeAfterMs));
  }

  /** Asks again after `delayMs` for a lease whose expiry or removal could not be committed yet (its deadline is kept). */
  retry(lease: Lease, delayMs: number): void {
    this.queue.schedule(lease, this.clock.now() + delayMs);
  }

  /** Sets the count of expirations back (a proposal that was put back). */
  setExpirations(count: number): void {
    this.expiredCount = count;
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
    if (this.handlers.due) {
      this.handlers.due(lease);
      return;
    }
    if (!lease.armed) {
      this.handlers.removeDue(lease);
      return;
    }
    // "Within remove_after" of running out, measured from the deadline itself.
    this.expire(lease);
    this.handlers.expired(lease);
  }
}
