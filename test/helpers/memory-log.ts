/**
 * An in-memory stand-in for the etcd cluster behind a replicated registry
 * (src/storage/etcd/etcd-storage.ts), for socket-free tests of
 * src/domain/replication/: one shared, ordered log of batches, each at a
 * position (etcd's mod revision of `P/log`: it grows by more than one per
 * commit, so a test never confuses positions with registry revisions), and
 * one `ReplicatedLog` per replica.
 *
 * What it mimics of the adapter:
 * - `commitBatch` succeeds only when the log's head is the position this
 *   replica had applied last when it asked (etcd's `If(mod(P/log) = position)`,
 *   built as the call is made); on success the outcome's position is the new
 *   head; on a conflict it carries the current head;
 * - committed batches reach each replica asynchronously and in order (the
 *   watch): on a microtask after the commit (`delivery: "microtask"`, the
 *   default), a macrotask later (`"macrotask"`, after the commit's answer), or
 *   only when the test says (`hold()` / `deliver()`); each batch is applied with
 *   `registry.applyEntry` per entry, then its id is remembered (`applied`) and
 *   the replica's position moves, as `applyLog` does;
 * - the engine can be lost (`lose(cause)`: `unavailable` says why, commits
 *   and `clusterRevision` reject with STORAGE_UNAVAILABLE) and recovered;
 * - a commit's answer can be lost (`loseNextAnswer`): the batch is committed
 *   but the caller sees a rejection, or (`retried`) the outcome of the
 *   etcd client's automatic retry, i.e. a conflict at the head its own batch made.
 *
 * `caughtUp` and `reached` time out on the given clock (a FakeClock in the
 * lease tests, so a timeout is a matter of `advance`).
 */
import { listReports, listStatus } from "../../src/domain/listing/pager.js";
import type { LeaseSettings } from "../../src/domain/leases/rules.js";
import { type Change, Registry, type RegistryLimits } from "../../src/domain/registry/registry.js";
import { FakeClock } from "../domain/watch/fake-clock.js";
import { type Entry, entryRevision } from "../../src/domain/replication/entry.js";
import type { CommitOutcome, ReplicatedLog } from "../../src/domain/replication/log.js";
import { ReplicatedWrites, storageUnavailable } from "../../src/domain/replication/writer.js";
import { type Clock, systemClock } from "../../src/domain/watch/clock.js";

/** One committed batch, as the log keeps it (a deep copy: replicas share no object). */
export interface CommittedBatch {
  position: number;
  id: string;
  by: string;
  entries: Entry[];
}

export type Delivery = "microtask" | "macrotask";

export interface ClusterOptions {
  /** Where `caughtUp` and `reached` time out; the system clock by default. */
  clock?: Clock;
  delivery?: Delivery;
  /** The position of the log key when the cluster is created (etcd: the revision of `open`'s transaction). */
  startPosition?: number;
  /** How much the position grows per commit (etcd revisions move with every transaction, not only ours). */
  stride?: number;
}

interface Waiter {
  done: () => boolean;
  resolve: (ok: boolean) => void;
  timer: unknown;
}

/** Plain JSON, as etcd keeps it: what one replica decided is never the object another applies. */
const copy = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

export class MemoryCluster {
  readonly batches: CommittedBatch[] = [];
  readonly replicas: MemoryReplica[] = [];
  readonly clock: Clock;
  readonly delivery: Delivery;
  private readonly startPosition: number;
  private readonly stride: number;
  private lostCause: string | undefined;
  private answerLosses: { retried: boolean }[] = [];
  /** Commits refused because their replica had not applied the head (for assertions). */
  conflicts = 0;

  constructor(options: ClusterOptions = {}) {
    this.clock = options.clock ?? systemClock;
    this.delivery = options.delivery ?? "microtask";
    this.startPosition = options.startPosition ?? 100;
    this.stride = options.stride ?? 3;
  }

  /** The log's head: the position of the last committed batch. */
  get head(): number {
    return this.batches.at(-1)?.position ?? this.startPosition;
  }

  /** The cluster's revision (`P/rev`): where the last batch with changes left it. */
  get revision(): number {
    for (let i = this.batches.length - 1; i >= 0; i--) {
      const entries = (this.batches[i] as CommittedBatch).entries;
      if (entries.length > 0) return Math.max(...entries.map(entryRevision));
    }
    return 0;
  }

  get unavailable(): string | undefined {
    return this.lostCause;
  }

  /** A new replica following `registry` (built with `replicated: true`) from the start of the log. */
  join(registry: Registry, name = `replica-${this.replicas.length + 1}`): MemoryReplica {
    const replica = new MemoryReplica(this, registry, name, this.startPosition);
    this.replicas.push(replica);
    replica.scheduleDelivery();
    return replica;
  }

  /** The engine is lost: writes refused, naming `cause`. */
  lose(cause = "etcd does not answer (quorum lost?)"): void {
    this.lostCause = cause;
  }

  recover(): void {
    this.lostCause = undefined;
  }

  /** The next commit is kept by the cluster but its answer never comes back (or comes back as the retry's conflict). */
  loseNextAnswer(options: { retried?: boolean } = {}): void {
    this.answerLosses.push({ retried: options.retried ?? false });
  }

  /** Every change committed, in the log's order. */
  changes() {
    return this.batches.flatMap((b) => b.entries.flatMap((e) => e.changes));
  }

  /** @internal the replica's commit, with etcd's condition. */
  async commit(replica: MemoryReplica, expected: number, id: string, entries: Entry[]): Promise<CommitOutcome> {
    // The engine answers later, never within the caller's turn.
    await Promise.resolve();
    if (this.lostCause !== undefined) {
      throw storageUnavailable(`etcd did not answer the commit (the write may or may not have been kept): ${this.lostCause}`);
    }
    if (this.head !== expected) {
      this.conflicts++;
      return { committed: false, position: this.head };
    }
    const position = this.head + this.stride;
    this.batches.push({ position, id, by: replica.name, entries: copy(entries) });
    for (const r of this.replicas) r.scheduleDelivery();
    const lost = this.answerLosses.shift();
    if (lost?.retried) {
      // The client tried again: the condition no longer holds, since the head is our own batch now.
      this.conflicts++;
      return { committed: false, position: this.head };
    }
    if (lost) throw storageUnavailable("etcd did not answer the commit (the write may or may not have been kept): deadline exceeded");
    return { committed: true, position };
  }
}

export class MemoryReplica implements ReplicatedLog {
  /** The position of the last batch this replica applied. */
  position: number;
  private held = false;
  private scheduled = false;
  private readonly waiters = new Set<Waiter>();
  private readonly recent = new Set<string>();
  /** Batches applied here, in order (for assertions). */
  readonly appliedBatches: CommittedBatch[] = [];

  constructor(
    readonly cluster: MemoryCluster,
    readonly registry: Registry,
    readonly name: string,
    start: number,
  ) {
    this.position = start;
  }

  get unavailable(): string | undefined {
    return this.cluster.unavailable;
  }

  /** Batches committed and not yet applied here. */
  get behind(): number {
    return this.cluster.batches.filter((b) => b.position > this.position).length;
  }

  commitBatch(id: string, entries: Entry[]): Promise<CommitOutcome> {
    // As the adapter's transaction: its condition is the position applied when the commit is asked, not when it lands.
    return this.cluster.commit(this, this.position, id, entries);
  }

  caughtUp(position: number, timeoutMs: number): Promise<boolean> {
    return this.waitFor(() => this.position >= position, timeoutMs);
  }

  applied(id: string): boolean {
    return this.recent.has(id);
  }

  async clusterRevision(): Promise<number> {
    await Promise.resolve();
    const lost = this.cluster.unavailable;
    if (lost !== undefined) throw storageUnavailable(`cannot read the cluster's revision from etcd: ${lost}`);
    return this.cluster.revision;
  }

  reached(revision: number, timeoutMs: number): Promise<boolean> {
    return this.waitFor(() => this.registry.revision >= revision, timeoutMs);
  }

  /** Stops delivering commits to this replica until `release` or `deliver`. */
  hold(): void {
    this.held = true;
  }

  /** Delivers again, starting with what was held back. */
  release(): void {
    this.held = false;
    this.deliver();
  }

  /** Applies every committed batch not applied yet (held or not), or only the next `count`. */
  deliver(count = Infinity): number {
    let applied = 0;
    for (const batch of this.cluster.batches) {
      if (applied >= count) break;
      if (batch.position <= this.position) continue;
      // As applyLog: each entry on top of the one before, then the id, then the position.
      for (const entry of copy(batch.entries)) this.registry.applyEntry(entry);
      if (batch.id) this.recent.add(batch.id);
      this.position = batch.position;
      this.appliedBatches.push(batch);
      applied++;
      for (const waiter of this.waiters) if (waiter.done()) this.settle(waiter, true);
    }
    return applied;
  }

  /** @internal a commit happened: the watch brings it here soon, unless held. */
  scheduleDelivery(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    const run = () => {
      this.scheduled = false;
      if (!this.held) this.deliver();
    };
    if (this.cluster.delivery === "microtask") queueMicrotask(run);
    else setImmediate(run);
  }

  private waitFor(done: () => boolean, timeoutMs: number): Promise<boolean> {
    if (done()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const waiter: Waiter = { done, resolve, timer: undefined };
      waiter.timer = this.cluster.clock.setTimer(() => this.settle(waiter, false), timeoutMs);
      this.waiters.add(waiter);
    });
  }

  private settle(waiter: Waiter, ok: boolean): void {
    if (!this.waiters.delete(waiter)) return;
    this.cluster.clock.clearTimer(waiter.timer);
    waiter.resolve(ok);
  }

  /** Waiters not settled yet (for assertions). */
  get waiting(): number {
    return this.waiters.size;
  }
}

// ---- fixtures: replicas over one memory cluster, and what tests compare of a registry ----


export const WALL_START = 1_700_000_000_000;

/** One replica: its registry, its view of the log, its writer, and every change its listeners heard. */
export interface Node {
  name: string;
  registry: Registry;
  replica: MemoryReplica;
  writes: ReplicatedWrites;
  changes: Change[];
}

/**
 * `count` replicas of one registry over one memory cluster, on one fake
 * monotonic clock (lease deadlines, commit timeouts) and a wall clock that
 * moves with it.
 */
export function replicatedCluster(
  count: number,
  options: { delivery?: Delivery; leases?: LeaseSettings; limits?: RegistryLimits; clock?: FakeClock } = {},
) {
  const clock = options.clock ?? new FakeClock();
  const start = clock.now();
  const wall = () => WALL_START + (clock.now() - start);
  const cluster = new MemoryCluster({ clock, delivery: options.delivery });
  const nodes: Node[] = Array.from({ length: count }, (_, i) => {
    const name = String.fromCharCode(65 + i);
    const registry = new Registry(options.limits, wall, { clock, leases: options.leases, replicated: true });
    const replica = cluster.join(registry, name);
    const writes = new ReplicatedWrites(registry, replica);
    const changes: Change[] = [];
    registry.onChange((change) => changes.push(change));
    return { name, registry, replica, writes, changes };
  });
  return { clock, wall, cluster, nodes };
}

/** Lets every pending promise, microtask and immediate run, `rounds` event-loop turns (no timers, no sleeping). */
export async function settle(rounds = 20): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

/** Turns the event loop until `condition` holds (fails after `rounds` turns, never waiting on time). */
export async function until(condition: () => boolean, what: string, rounds = 2_000): Promise<void> {
  for (let i = 0; i < rounds; i++) {
    if (condition()) return;
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  throw new Error(`never happened: ${what}`);
}

/**
 * Everything a user (or a replica) can tell of a registry's state, in list
 * order: the revision, the counts, every group and identifier with its
 * reports, report numbering and lease; `deadlines` adds the monotonic deadlines
 * (they differ between replicas, which arm leases when they apply).
 */
export function stateOf(registry: Registry, options: { deadlines?: boolean; internal?: boolean } = {}) {
  return {
    revision: registry.revision,
    totalIdentifiers: registry.totalIdentifiers,
    scheduledLeases: registry.scheduledLeases,
    groups: registry
      .groupsInOrder()
      .filter((g) => options.internal !== false || !g.internal)
      .map((g) => ({
        name: g.name,
        key: g.key,
        internal: g.internal,
        revision: g.revision,
        createTime: g.createTime,
        identifiers: registry.identifiersInOrder(g).map((i) => ({
          name: i.name,
          key: i.key,
          status: i.status,
          details: i.details,
          revision: i.revision,
          updateTime: i.updateTime,
          capacity: i.reports.capacity,
          added: i.reports.added,
          reports: i.reports.list(),
          lease: i.lease && {
            ttlMs: i.lease.ttlMs,
            removeAfterMs: i.lease.removeAfterMs,
            armed: i.lease.armed,
            expireTime: i.lease.expireTime,
            ...(options.deadlines ? { deadline: i.lease.deadline } : {}),
          },
        })),
      })),
  };
}

/** What ListStatus and ListReports answer for everything. */
export function listed(registry: Registry) {
  return {
    status: listStatus(registry, { group: "", pageSize: 0, pageToken: "" }),
    reports: listReports(registry, { group: "", identifier: "", pageSize: 0, pageToken: "" }),
  };
}

/** A change as a user sees it in a watch, without who wrote it. */
export const shown = (c: Change) => {
  const { by: _by, ...rest } = c;
  return rest;
};
