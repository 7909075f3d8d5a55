import { SrError, invalidArgument, limitReached } from "../errors.js";
import { ALL, checkName, foldName, utf8Length } from "../names.js";
import { MAX_PAGE_BYTES } from "../listing/page-token.js";
import type { ReportEntry } from "../report-ring.js";
import {
  type Change,
  type GroupReportsPage,
  type Registry,
  type StatusView,
  estimateReportBytes,
  estimateStatusBytes,
} from "../registry/registry.js";

export interface WatchOptions {
  /** Changes kept for resuming (`start_revision`). */
  history: number;
  /** A watcher's pending live changes, in messages and estimated bytes. */
  budgetMessages: number;
  budgetBytes: number;
  /** Idle time after which a watcher gets a `progress` event. */
  progressIntervalMs: number;
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

/** Identifiers per snapshot part. */
export const SNAPSHOT_PART_IDENTIFIERS = 1_000;

export interface WatchRequest {
  group: string;
  identifier: string;
  startRevision?: number | undefined;
  includeDetails: boolean;
  includeReports: boolean;
  includeRegistrations: boolean;
}

export interface SnapshotPart {
  kind: "snapshot";
  revision: number;
  identifiers: StatusView[];
  reports: GroupReportsPage[];
  resync: boolean;
  last: boolean;
}

export type WatchEvent =
  | SnapshotPart
  | { kind: "change"; revision: number; change: Change }
  | { kind: "progress"; revision: number };

interface Filter {
  groupKey: string;
  identifierKey: string;
  includeDetails: boolean;
  includeReports: boolean;
  includeRegistrations: boolean;
}

function matches(filter: Filter, change: Change): boolean {
  if (filter.groupKey && change.groupKey !== filter.groupKey) return false;
  // A whole group's removal (identifierKey "") removes the watched identifier too.
  if (filter.identifierKey && change.identifierKey !== filter.identifierKey && change.identifierKey !== "") return false;
  switch (change.kind) {
    case "status":
      return change.statusChanged || filter.includeDetails;
    case "report":
      return filter.includeReports;
    case "registered":
    case "unregistered":
      return filter.includeRegistrations;
  }
}

function changeBytes(change: Change): number {
  switch (change.kind) {
    case "status":
      return estimateStatusBytes(change.group, change.identifier, change.details);
    case "report":
      return estimateStatusBytes(change.group, change.identifier, undefined) + estimateReportBytes(change.report.text);
    case "registered":
      return estimateStatusBytes(change.group, change.identifier, change.status.details);
    case "unregistered":
      return estimateStatusBytes(change.group, change.identifier, undefined);
  }
}

/** The last changes of the registry, by revision, for resuming and catching up. */
class ChangeHistory {
  private readonly ring: (Change | undefined)[];
  private head: number;
  /** The registry's revision when recording began: nothing before it is kept. */
  private readonly baseRevision: number;

  constructor(
    private readonly capacity: number,
    startRevision: number,
  ) {
    this.ring = new Array(capacity);
    this.head = startRevision;
    this.baseRevision = startRevision;
  }

  /** The oldest revision kept; everything from it to the head can be read. */
  get firstRevision(): number {
    return Math.max(this.head - this.capacity + 1, this.baseRevision + 1);
  }

  get headRevision(): number {
    return this.head;
  }

  append(change: Change): void {
    this.head = change.revision;
    this.ring[change.revision % this.capacity] = change;
  }

  /** The change at `revision`, or undefined when it has left the history. */
  at(revision: number): Change | undefined {
    if (revision < this.firstRevision || revision > this.head) return undefined;
    return this.ring[revision % this.capacity];
  }
}

type Waiter = (event: WatchEvent | undefined) => void;

/**
 * One watch stream's state. Its events are pulled with `next()`, one at a
 * time, so the transport can wait for its stream to drain between them:
 * - first the pending snapshot parts, if any;
 * - then, while catching up (after a snapshot or a `start_revision`), changes
 *   read straight from the shared history, costing no memory of its own;
 * - then live changes, queued up to the budget; past it the queue is dropped
 *   and a resync snapshot replaces it once the reader asks for more.
 */
export class Watcher {
  private parts: SnapshotPart[] = [];
  /** While catching up: the last revision read from the history. */
  private cursor: number | undefined;
  private queue: Change[] = [];
  /** Estimated size of each queued change, parallel to `queue`. */
  private queueSizes: number[] = [];
  private queueHead = 0;
  private queueBytes = 0;
  private overflowed = false;
  private waiter: Waiter | undefined;
  private timer: NodeJS.Timeout | undefined;
  private lastSent: number;
  private closed = false;
  private draining = false;
  /** The highest number of live changes ever queued (for tests and metrics). */
  maxPending = 0;
  /** How many resync snapshots were sent. */
  resyncs = 0;

  constructor(
    private readonly hub: WatchHub,
    readonly filter: Filter,
    readonly owner: string,
    private readonly options: WatchOptions,
  ) {
    this.lastSent = Date.now();
  }

  get pending(): number {
    return this.queue.length - this.queueHead;
  }

  /** @internal Starts with a snapshot of the watched identifiers. */
  startWithSnapshot(resync: boolean): void {
    this.parts = this.hub.snapshotParts(this.filter, resync);
    this.cursor = this.hub.revision;
  }

  /** @internal Starts by replaying the history after `revision`. */
  startAfter(revision: number): void {
    this.cursor = revision;
  }

  /** @internal A change just made (of estimated size `bytes`), offered to every live watcher. */
  offer(change: Change, bytes: number): void {
    if (this.closed || this.cursor !== undefined || this.overflowed) return;
    if (!matches(this.filter, change)) return;
    if (this.pending + 1 > this.options.budgetMessages || this.queueBytes + bytes > this.options.budgetBytes) {
      // Past the budget: drop what is pending; a resync snapshot replaces it.
      this.clearQueue();
      this.overflowed = true;
    } else {
      this.queue.push(change);
      this.queueSizes.push(bytes);
      this.queueBytes += bytes;
      if (this.pending > this.maxPending) this.maxPending = this.pending;
    }
    this.wake();
  }

  /** The next event; undefined once the watch has ended. */
  next(): Promise<WatchEvent | undefined> {
    const event = this.take();
    if (event || this.closed || this.draining) {
      if (event) this.lastSent = Date.now();
      return Promise.resolve(event);
    }
    return new Promise((resolve) => {
      this.waiter = resolve;
      const idle = Math.max(0, this.lastSent + this.options.progressIntervalMs - Date.now());
      this.timer = setTimeout(() => this.deliver({ kind: "progress", revision: this.hub.revision }), idle);
      this.timer.unref?.();
    });
  }

  /** Ends the watch now, dropping anything pending. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.clearQueue();
    this.parts = [];
    this.deliver(undefined);
    this.hub.forget(this);
  }

  /** Ends the watch once everything already pending has been read. */
  drain(): void {
    this.draining = true;
    if (this.waiter) this.deliver(undefined);
  }

  private wake(): void {
    if (!this.waiter) return;
    const event = this.take();
    if (event) this.deliver(event);
  }

  private deliver(event: WatchEvent | undefined): void {
    const waiter = this.waiter;
    this.waiter = undefined;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (event) this.lastSent = Date.now();
    waiter?.(event);
  }

  private take(): WatchEvent | undefined {
    if (this.closed) return undefined;
    if (this.overflowed && this.parts.length === 0) {
      this.overflowed = false;
      this.resyncs++;
      this.startWithSnapshot(true);
    }
    const part = this.parts.shift();
    if (part) return part;
    if (this.cursor !== undefined) {
      const head = this.hub.revision;
      while (this.cursor < head) {
        const change = this.hub.historyAt(this.cursor + 1);
        if (!change) {
          // Fell out of the history while catching up: resync instead.
          this.cursor = undefined;
          this.overflowed = true;
          return this.take();
        }
        this.cursor++;
        if (matches(this.filter, change)) {
          if (this.cursor === head) this.cursor = undefined;
          return { kind: "change", revision: change.revision, change };
        }
      }
      this.cursor = undefined; // caught up: live from here
    }
    if (this.queueHead < this.queue.length) {
      const change = this.queue[this.queueHead] as Change;
      this.queueBytes -= this.queueSizes[this.queueHead++] as number;
      if (this.queueHead === this.queue.length) this.clearQueue();
      return { kind: "change", revision: change.revision, change };
    }
    return undefined;
  }

  private clearQueue(): void {
    this.queue = [];
    this.queueSizes = [];
    this.queueHead = 0;
    this.queueBytes = 0;
  }
}

/**
 * Fans registry changes out to watchers, with a bounded history for resuming
 * and a bounded queue per watcher. Knows nothing of gRPC: the transport pulls
 * events from each Watcher at the pace its stream drains.
 */
export class WatchHub {
  private readonly watchers = new Set<Watcher>();
  private readonly perOwner = new Map<string, number>();
  private readonly history: ChangeHistory;
  private readonly unsubscribe: () => void;

  constructor(
    private readonly registry: Registry,
    readonly options: WatchOptions = DEFAULT_WATCH_OPTIONS,
  ) {
    // Keep at least a full budget of changes so catching-up watchers within
    // budget never fall out of the history, even with a tiny `history`.
    this.history = new ChangeHistory(Math.max(options.history, options.budgetMessages, 1), registry.revision);
    this.unsubscribe = registry.onChange((change) => {
      this.history.append(change);
      const bytes = changeBytes(change);
      for (const watcher of this.watchers) watcher.offer(change, bytes);
    });
  }

  get revision(): number {
    return this.registry.revision;
  }

  /** The oldest `start_revision` that can still be resumed from. */
  get oldestResumable(): number {
    return Math.max(this.history.firstRevision - 1, this.history.headRevision - this.options.history);
  }

  get watcherCount(): number {
    return this.watchers.size;
  }

  /** Live watchers, for metrics and tests. */
  list(): readonly Watcher[] {
    return [...this.watchers];
  }

  /** Starts a watch for `owner` (one connection). Throws SrError on a bad request or a limit. */
  watch(request: WatchRequest, owner: string): Watcher {
    const filter = this.filterOf(request);
    if (this.watchers.size >= this.options.maxWatchers) {
      throw limitReached("limits.max_watchers", `the server serves its maximum of ${this.options.maxWatchers} watch streams`);
    }
    const owned = this.perOwner.get(owner) ?? 0;
    if (owned >= this.options.maxWatchersPerConnection) {
      throw limitReached(
        "limits.max_watchers_per_connection",
        `this connection holds its maximum of ${this.options.maxWatchersPerConnection} watch streams`,
      );
    }
    const watcher = new Watcher(this, filter, owner, this.options);
    if (request.startRevision === undefined) {
      watcher.startWithSnapshot(false);
    } else {
      const start = request.startRevision;
      if (start > this.revision) {
        throw invalidArgument("REVISION_AHEAD", "start_revision", `${start} is above the current revision ${this.revision}`);
      }
      if (start < this.oldestResumable) {
        throw new SrError(
          "HISTORY_COMPACTED",
          `start_revision: ${start} is older than the history; the oldest revision still resumable is ${this.oldestResumable} (watch without start_revision for a fresh snapshot)`,
          { field: "start_revision", oldestRevision: this.oldestResumable },
        );
      }
      watcher.startAfter(start);
    }
    this.watchers.add(watcher);
    this.perOwner.set(owner, owned + 1);
    return watcher;
  }

  /** Lets every watcher read what is pending, then ends it (graceful stop). */
  drainAll(): void {
    for (const watcher of this.watchers) watcher.drain();
  }

  /** Ends every watcher at once and stops listening to the registry. */
  close(): void {
    for (const watcher of [...this.watchers]) watcher.close();
    this.unsubscribe();
  }

  /** @internal */
  forget(watcher: Watcher): void {
    if (!this.watchers.delete(watcher)) return;
    const owned = (this.perOwner.get(watcher.owner) ?? 1) - 1;
    if (owned > 0) this.perOwner.set(watcher.owner, owned);
    else this.perOwner.delete(watcher.owner);
  }

  /** @internal */
  historyAt(revision: number): Change | undefined {
    return this.history.at(revision);
  }

  /** @internal The snapshot of a filter at the current revision, cut into parts. */
  snapshotParts(filter: Filter, resync: boolean): SnapshotPart[] {
    const revision = this.registry.revision;
    const views = this.registry.snapshot({ group: filter.groupKey, identifier: filter.identifierKey });
    const parts: SnapshotPart[] = [];
    let part: SnapshotPart | undefined;
    let bytes = 0;
    const newPart = (): SnapshotPart => {
      part = { kind: "snapshot", revision, identifiers: [], reports: [], resync, last: false };
      parts.push(part);
      bytes = 0;
      return part;
    };
    for (const view of views) {
      let current = part ?? newPart();
      const size = estimateStatusBytes(view.group, view.identifier, view.details);
      if (current.identifiers.length >= SNAPSHOT_PART_IDENTIFIERS || (bytes > 0 && bytes + size > MAX_PAGE_BYTES)) {
        current = newPart();
      }
      current.identifiers.push(view);
      bytes += size;
      if (!filter.includeReports) continue;
      const { capacity, reports } = this.registry.reportsOf(view.group, view.identifier);
      let entry = this.reportsEntry(current, view, capacity);
      bytes += 10 + utf8Length(view.identifier);
      for (const report of reports) {
        const reportSize = estimateReportBytes(report.text);
        if (entry.reports.length > 0 && bytes + reportSize > MAX_PAGE_BYTES) {
          current = newPart();
          entry = this.reportsEntry(current, view, capacity);
        }
        entry.reports.push(report);
        bytes += reportSize;
      }
    }
    const final = part ?? newPart();
    final.last = true;
    return parts;
  }

  private reportsEntry(part: SnapshotPart, view: StatusView, capacity: number): { reports: ReportEntry[] } {
    let group = part.reports[part.reports.length - 1];
    if (group?.group !== view.group) {
      group = { group: view.group, identifiers: [] };
      part.reports.push(group);
    }
    const entry = { identifier: view.identifier, capacity, reports: [] as ReportEntry[] };
    group.identifiers.push(entry);
    return entry;
  }

  private filterOf(request: WatchRequest): Filter {
    if (request.identifier !== "") {
      if (request.group === "") throw invalidArgument("GROUP_REQUIRED", "identifier", "needs a group (an identifier is named within its group)");
      if (foldName(request.identifier) === ALL) {
        throw invalidArgument("NAME_RESERVED", "identifier", "'all' is not allowed here (leave identifier empty to watch every identifier of the group)");
      }
      checkName("identifier", request.identifier, "identifier");
    }
    if (request.group !== "") checkName("group", request.group, "group");
    return {
      groupKey: foldName(request.group),
      identifierKey: foldName(request.identifier),
      includeDetails: request.includeDetails,
      includeReports: request.includeReports,
      includeRegistrations: request.includeRegistrations,
    };
  }
}
