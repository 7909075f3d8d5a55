import { SrError, invalidArgument, limitReached } from "../errors.js";
import { foldName } from "../names.js";
import type { Change, Registry, Selection } from "../registry/registry.js";
import { type Clock, systemClock } from "./clock.js";
import { type WatchKeys, type WatchRequest, filterOf } from "./filter.js";
import { ChangeHistory } from "./history.js";
import { LatestValueWatcher } from "./latest.js";
import { changeBytes } from "./pending.js";
import { cutSnapshot } from "./snapshot.js";
import { Watcher, type WatcherHost } from "./watcher.js";
import type { ReplicatedLog } from "../replication/log.js";

/** How long a resume waits for this replica to apply a revision the cluster already has (docs/watch.md). */
export const REPLICA_BEHIND_MS = 5_000;

/** Local changes kept for watchers that go live after them (a replica's own core changes rarely). */
const RECENT_LOCAL = 64;

export interface WatchOptions {
  /** Changes kept for resuming (`start_revision`). */
  history: number;
  /** A watcher's pending live changes, in messages and estimated bytes. */
  budgetMessages: number;
  budgetBytes: number;
  /** Idle time after which a watcher gets a `progress` event. */
  progressIntervalMs: number;
  /** Watchers of every kind (WatchStatus and health Watch streams), in all and per connection. */
  maxWatchers: number;
  maxWatchersPerConnection: number;
}

export const DEFAULT_WATCH_OPTIONS: WatchOptions = {
  history: 10_000,
  budgetMessages: 1_000,
  budgetBytes: 4 * 1024 * 1024,
  progressIntervalMs: 30_000,
  maxWatchers: 10_000,
  maxWatchersPerConnection: 1_000,
};

/** What the hub reads of the registry (a durable one also hands over its kept history). */
export type WatchedRegistry = Pick<Registry, "onChange" | "revision" | "snapshot" | "reportsOf"> & Partial<Pick<Registry, "takeRestoredHistory">>;

/** What the hub's index holds: anything offered the changes of the group it watches ("" for all). */
interface Subscriber {
  readonly filter: WatchKeys;
  readonly owner: string;
  offer(change: Change, bytes: number): void;
}

/**
 * Fans registry changes out to watchers (after etcd's watchable store): a
 * bounded history for resuming and catching up, live watchers indexed by
 * group so a change is offered only to those of its group and those of
 * everything, and one quota of watchers shared by every kind. Knows nothing of
 * gRPC: the transport pulls each watcher's events at the pace its stream drains.
 */
export class WatchHub {
  private readonly watchers = new Set<Watcher>();
  private readonly latestWatchers = new Set<LatestValueWatcher<unknown>>();
  private readonly perOwner = new Map<string, number>();
  private readonly everything = new Set<Subscriber>();
  private readonly byGroup = new Map<string, Set<Subscriber>>();
  private readonly history: ChangeHistory;
  private readonly host: WatcherHost;
  private readonly unsubscribe: () => void;
  private offered = 0;
  /** Local changes (a replica's own core), numbered, the last RECENT_LOCAL of them. */
  private localSeq = 0;
  private readonly recentLocal: { seq: number; change: Change }[] = [];

  constructor(
    private readonly registry: WatchedRegistry,
    readonly options: WatchOptions = DEFAULT_WATCH_OPTIONS,
    clock: Clock = systemClock,
    /** The cluster, when this registry is one of its replicas (etcd): a resume may be ahead of this replica only. */
    private readonly replica?: Pick<ReplicatedLog, "clusterRevision" | "reached">,
  ) {
    // Keep at least a full budget of changes so catching-up watchers within
    // budget never fall out of the history, even with a tiny `history`.
    // A durable registry's kept changes come first, so a watcher resumes across a restart (docs/storage.md).
    const kept = registry.takeRestoredHistory?.() ?? [];
    this.history = new ChangeHistory(Math.max(options.history, options.budgetMessages, 1), kept[0] ? kept[0].revision - 1 : registry.revision);
    for (const change of kept) this.history.append(change);
    const hub = this;
    this.host = {
      get revision() {
        return registry.revision;
      },
      get localSeq() {
        return hub.localSeq;
      },
      clock,
      progressIntervalMs: options.progressIntervalMs,
      historyAt: (revision) => this.history.at(revision),
      snapshot: (filter, resync) => cutSnapshot(registry, filter, resync),
      index: (watcher, live) => {
        if (!live) return this.unindex(watcher);
        this.index(watcher);
        this.replayLocal(watcher);
      },
      forget: (watcher) => {
        if (this.watchers.delete(watcher)) this.release(watcher);
      },
    };
    this.unsubscribe = registry.onChange((change) => this.publish(change));
  }

  get revision(): number {
    return this.registry.revision;
  }

  /** The oldest `start_revision` that can still be resumed from. */
  get oldestResumable(): number {
    return Math.max(this.history.firstRevision - 1, this.history.headRevision - this.options.history);
  }

  /** Open watchers of every kind: what `max_watchers` counts. */
  get watcherCount(): number {
    return this.watchers.size + this.latestWatchers.size;
  }

  get latestWatcherCount(): number {
    return this.latestWatchers.size;
  }

  /** How many times a change was offered to a watcher, in all (for metrics and tests). */
  get offers(): number {
    return this.offered;
  }

  /** The WatchStatus watchers, for metrics and tests. */
  list(): readonly Watcher[] {
    return [...this.watchers];
  }

  /** True when a `start_revision` above this replica's revision needs `awaitStart` first. */
  needsWait(start: number | undefined): boolean {
    return this.replica !== undefined && start !== undefined && start > this.revision;
  }

  /**
   * A replica asked to resume from a revision it has not applied yet (docs/watch.md):
   * REVISION_AHEAD when the cluster has not reached it either, REPLICA_BEHIND
   * when this replica has not applied it within 5 s; else resolves, and `watch`
   * resumes from it.
   */
  async awaitStart(start: number): Promise<void> {
    if (!this.replica || start <= this.revision) return;
    const cluster = await this.replica.clusterRevision();
    if (start > cluster) throw revisionAhead(start, cluster);
    if (!(await this.replica.reached(start, REPLICA_BEHIND_MS))) {
      throw new SrError(
        "REPLICA_BEHIND",
        `start_revision: ${start} is in the cluster (at revision ${cluster}) but this replica has applied only up to ${this.revision} within ${REPLICA_BEHIND_MS / 1000} s: resume on another replica or retry`,
        { field: "start_revision" },
      );
    }
  }

  /** Starts a WatchStatus watch for `owner` (one connection). Throws SrError on a bad request or a limit. */
  watch(request: WatchRequest, owner: string): Watcher {
    const filter = filterOf(request);
    this.checkQuota(owner);
    const start = request.startRevision;
    if (start !== undefined) this.checkStart(start);
    const budget = { messages: this.options.budgetMessages, bytes: this.options.budgetBytes };
    const watcher = new Watcher(this.host, filter, owner, budget, start);
    this.watchers.add(watcher);
    this.count(owner);
    return watcher;
  }

  /**
   * Starts a latest-value watch of `read()` for `owner`, woken by every change
   * of the selected group (or of anything); it counts toward the same quotas.
   */
  watchLatest<T>(selection: Selection, owner: string, read: () => T): LatestValueWatcher<T> {
    this.checkQuota(owner);
    const filter = { groupKey: foldName(selection.group ?? ""), identifierKey: foldName(selection.identifier ?? "") };
    const watcher: LatestValueWatcher<T> = new LatestValueWatcher<T>(
      () => {
        if (this.latestWatchers.delete(watcher)) this.release(watcher);
      },
      filter,
      owner,
      read,
    );
    this.latestWatchers.add(watcher);
    this.count(owner);
    this.index(watcher);
    return watcher;
  }

  /** Lets every watcher read what is pending, then ends it (graceful stop). */
  drainAll(): void {
    for (const watcher of this.watchers) watcher.drain();
    this.drainLatest();
  }

  /** Lets every latest-value watcher yield its final value, then ends it. */
  drainLatest(): void {
    for (const watcher of this.latestWatchers) watcher.drain();
  }

  /** Ends every watcher at once and stops listening to the registry. */
  close(): void {
    for (const watcher of [...this.watchers, ...this.latestWatchers]) watcher.close();
    this.unsubscribe();
  }

  private publish(change: Change): void {
    // A replica's own change (its core in etcd mode) is not in the history, so a resume does not replay it;
    // live watchers get it now, and those still on their snapshot or catching up once they are live.
    if (!change.local) this.history.append(change);
    else {
      this.recentLocal.push({ seq: ++this.localSeq, change });
      if (this.recentLocal.length > RECENT_LOCAL) this.recentLocal.shift();
    }
    const group = this.byGroup.get(change.groupKey);
    if (this.everything.size === 0 && !group) return;
    const bytes = changeBytes(change);
    this.offerTo(this.everything, change, bytes);
    if (group) this.offerTo(group, change, bytes);
  }

  /** A watcher going live gets the local changes made since its snapshot, as of now's revision (never behind what it has). */
  private replayLocal(watcher: Watcher): void {
    for (const { seq, change } of this.recentLocal) {
      if (seq > watcher.localMark) watcher.offer({ ...change, revision: this.registry.revision }, changeBytes(change));
    }
    watcher.localMark = this.localSeq;
  }

  private offerTo(subscribers: Set<Subscriber>, change: Change, bytes: number): void {
    // A watcher may leave the set (over budget) while it is walked; Set iteration allows that.
    for (const subscriber of subscribers) {
      this.offered++;
      subscriber.offer(change, bytes);
    }
  }

  private index(subscriber: Subscriber): void {
    const key = subscriber.filter.groupKey;
    let subscribers = key === "" ? this.everything : this.byGroup.get(key);
    if (!subscribers) this.byGroup.set(key, (subscribers = new Set()));
    subscribers.add(subscriber);
  }

  private unindex(subscriber: Subscriber): void {
    const key = subscriber.filter.groupKey;
    const subscribers = key === "" ? this.everything : this.byGroup.get(key);
    // An emptied group's set goes, so groups watched once and left cost nothing.
    if (subscribers?.delete(subscriber) && subscribers.size === 0 && key !== "") this.byGroup.delete(key);
  }

  private checkQuota(owner: string): void {
    if (this.watcherCount >= this.options.maxWatchers) {
      throw limitReached("limits.max_watchers", `the server serves its maximum of ${this.options.maxWatchers} watch streams`);
    }
    if ((this.perOwner.get(owner) ?? 0) >= this.options.maxWatchersPerConnection) {
      throw limitReached(
        "limits.max_watchers_per_connection",
        `this connection holds its maximum of ${this.options.maxWatchersPerConnection} watch streams`,
      );
    }
  }

  private count(owner: string): void {
    this.perOwner.set(owner, (this.perOwner.get(owner) ?? 0) + 1);
  }

  private release(subscriber: Subscriber): void {
    this.unindex(subscriber);
    const owned = (this.perOwner.get(subscriber.owner) ?? 1) - 1;
    if (owned > 0) this.perOwner.set(subscriber.owner, owned);
    else this.perOwner.delete(subscriber.owner);
  }

  private checkStart(start: number): void {
    if (start > this.revision) throw revisionAhead(start, this.revision);
    if (start < this.oldestResumable) {
      throw new SrError(
        "HISTORY_COMPACTED",
        `start_revision: ${start} is older than the history; the oldest revision still resumable is ${this.oldestResumable} (watch without start_revision for a fresh snapshot)`,
        { field: "start_revision", oldestRevision: this.oldestResumable },
      );
    }
  }
}

const revisionAhead = (start: number, revision: number): SrError =>
  invalidArgument("REVISION_AHEAD", "start_revision", `${start} is above the current revision ${revision}`);
