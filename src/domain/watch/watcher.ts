import type { Change } from "../registry/registry.js";
import type { Clock } from "./clock.js";
import { type WatchFilter, matches } from "./filter.js";
import { type Budget, PendingChanges } from "./pending.js";
import type { SnapshotPart, SnapshotParts } from "./snapshot.js";
import { ENDED, type EventSource, IDLE, type Pulled, Wakeup } from "./source.js";

export type WatchEvent =
  | SnapshotPart
  | { kind: "change"; revision: number; change: Change }
  | { kind: "progress"; revision: number };

/**
 * Where a watcher's next event comes from (docs/watch.md, "A watcher's life"):
 * - `snapshot`: the parts of a snapshot taken at one revision;
 * - `catching_up`: the shared history, from a cursor up to the registry's revision;
 * - `live`: its own queue, which the hub fills as changes happen, within the budget;
 * - `over_budget`: nothing (the queue was dropped); the next read starts a resync snapshot;
 * - `closed`: nothing ever again.
 */
export type WatcherState = "snapshot" | "catching_up" | "live" | "over_budget" | "closed";

const NEXT_STATES: Record<WatcherState, readonly WatcherState[]> = {
  snapshot: ["catching_up", "closed"],
  catching_up: ["live", "over_budget", "closed"],
  live: ["over_budget", "closed"],
  over_budget: ["snapshot", "closed"],
  closed: [],
};

/** What a watcher needs of its hub. */
export interface WatcherHost {
  readonly revision: number;
  /** How many local changes (a replica's own core) the host has seen: a watcher notes it when its snapshot is taken. */
  readonly localSeq?: number;
  readonly clock: Clock;
  readonly progressIntervalMs: number;
  historyAt(revision: number): Change | undefined;
  /** A snapshot at the current revision, its parts cut as they are taken. */
  snapshot(filter: WatchFilter, resync: boolean): SnapshotParts;
  /** Adds a subscriber to the index of those offered changes, or takes it out. */
  index(watcher: Watcher, live: boolean): void;
  /** The watcher has closed: free its quota. */
  forget(watcher: Watcher): void;
}

/**
 * One WatchStatus stream's position and pending events, pulled one at a time
 * (EventSource) so the transport writes no faster than its stream drains.
 * Draining (graceful stop) is not a state: it only turns "nothing now" into the end.
 */
export class Watcher implements EventSource<WatchEvent> {
  private current: WatcherState;
  /** While in `snapshot`: the parts not yet taken, made one at a time. */
  private parts: SnapshotParts | undefined;
  /** While catching up: the last revision read from the history. */
  private cursor: number;
  private readonly queue: PendingChanges;
  private draining = false;
  private readonly wakeup = new Wakeup();
  private timer: unknown;
  private progressDue = false;
  private lastSent: number;
  /** How many resync snapshots were started (for tests and metrics). */
  resyncs = 0;
  /** The host's local changes up to this one are in what the watcher has (its snapshot); later ones it gets once live. */
  localMark: number;

  constructor(
    private readonly host: WatcherHost,
    readonly filter: WatchFilter,
    readonly owner: string,
    budget: Budget,
    /** Replays the history after this revision; undefined starts with a snapshot. */
    startAfter: number | undefined,
  ) {
    this.queue = new PendingChanges(budget);
    this.localMark = host.localSeq ?? 0;
    this.lastSent = host.clock.now();
    this.cursor = startAfter ?? host.revision;
    this.current = startAfter === undefined ? "snapshot" : "catching_up";
    this.enter(this.current, undefined);
  }

  get state(): WatcherState {
    return this.current;
  }

  /** Live changes queued and not yet read. */
  get pending(): number {
    return this.queue.size;
  }

  /** The most live changes ever queued at once. */
  get maxPending(): number {
    return this.queue.maxSize;
  }

  /** A change of the watched group (or of anything, for an everything-watcher); only live watchers are offered one. */
  offer(change: Change, bytes: number): void {
    if (!matches(this.filter, change)) return;
    if (!this.queue.push(change, bytes)) this.moveTo("over_budget");
    this.wakeup.fire();
  }

  next(): Pulled<WatchEvent> {
    const event = this.take();
    if (event) return this.sent(event);
    if (this.current === "closed" || this.draining) return ENDED;
    if (this.progressDue) return this.sent({ kind: "progress", revision: this.host.revision });
    return IDLE;
  }

  wait(wake: () => void): void {
    this.wakeup.set(wake);
    // One timer at a time: a timer armed for an earlier deadline re-arms itself when it fires.
    if (this.timer === undefined && this.current !== "closed") this.armProgress();
  }

  /** Ends the watch once everything already pending has been read (graceful stop). */
  drain(): void {
    this.draining = true;
    this.wakeup.fire();
  }

  /** Ends the watch now, dropping anything pending. Idempotent. */
  close(): void {
    if (this.current !== "closed") this.moveTo("closed");
  }

  /** The one place a watcher changes state. */
  private moveTo(next: WatcherState): void {
    const from = this.current;
    if (!NEXT_STATES[from].includes(next)) throw new Error(`watcher: no move from ${from} to ${next}`);
    if (from === "live") {
      this.host.index(this, false);
      this.queue.clear();
    }
    this.current = next;
    this.enter(next, from);
  }

  /** Sets up what `state` reads from. */
  private enter(state: WatcherState, from: WatcherState | undefined): void {
    switch (state) {
      case "snapshot": {
        const resync = from === "over_budget";
        if (resync) this.resyncs++;
        this.localMark = this.host.localSeq ?? 0;
        this.parts = this.host.snapshot(this.filter, resync);
        this.cursor = this.parts.revision;
        return;
      }
      case "catching_up":
      case "over_budget":
        return;
      case "live":
        this.host.index(this, true);
        return;
      case "closed":
        this.parts?.drop();
        this.parts = undefined;
        if (this.timer !== undefined) this.host.clock.clearTimer(this.timer);
        this.timer = undefined;
        this.host.forget(this);
        this.wakeup.fire();
        return;
    }
  }

  private take(): WatchEvent | undefined {
    for (;;) {
      switch (this.current) {
        case "closed":
          return undefined;
        case "over_budget":
          this.moveTo("snapshot");
          continue;
        case "snapshot": {
          const parts = this.parts as SnapshotParts;
          const part = parts.next() as SnapshotPart;
          if (parts.done) {
            this.parts = undefined;
            this.moveTo("catching_up");
          }
          return part;
        }
        case "catching_up": {
          const change = this.catchUp();
          if (change) return { kind: "change", revision: change.revision, change };
          continue;
        }
        case "live": {
          const change = this.queue.shift();
          return change && { kind: "change", revision: change.revision, change };
        }
      }
    }
  }

  /** The next matching change of the history, moving on (live, or over budget) when there is none. */
  private catchUp(): Change | undefined {
    const head = this.host.revision;
    while (this.cursor < head) {
      const change = this.host.historyAt(this.cursor + 1);
      if (!change) {
        // Fell out of the history while catching up: resync instead.
        this.moveTo("over_budget");
        return undefined;
      }
      this.cursor++;
      if (matches(this.filter, change)) {
        if (this.cursor === head) this.moveTo("live");
        return change;
      }
    }
    this.moveTo("live");
    return undefined;
  }

  private sent(event: WatchEvent): WatchEvent {
    this.progressDue = false;
    this.lastSent = this.host.clock.now();
    return event;
  }

  private armProgress(): void {
    const idle = Math.max(0, this.lastSent + this.host.progressIntervalMs - this.host.clock.now());
    this.timer = this.host.clock.setTimer(() => {
      this.timer = undefined;
      if (!this.wakeup.pending) return; // not waiting: the next wait arms it again
      if (this.host.clock.now() - this.lastSent >= this.host.progressIntervalMs) {
        this.progressDue = true;
        this.wakeup.fire();
      } else {
        this.armProgress();
      }
    }, idle);
  }
}
