import { estimateHeaderBytes, estimateReportBytes, estimateViewBytes } from "../listing/sizes.js";
import type { ReportEntry } from "../report-ring.js";
import type { GroupReportsPage, Registry, StatusView } from "../registry/registry.js";
import type { WatchFilter } from "./filter.js";

/** Identifiers per snapshot part. */
export const SNAPSHOT_PART_IDENTIFIERS = 1_000;

/**
 * Estimated bytes per snapshot part: well under the 1 MiB the contract allows,
 * so what a stalled stream holds in grpc-js and HTTP/2 (the part it was
 * writing when `write()` returned false) stays small. 1,000 identifiers of
 * ordinary names fit under it, so those parts stay at 1,000 identifiers.
 */
export const SNAPSHOT_PART_BYTES = 64 * 1024;

export interface SnapshotPart {
  kind: "snapshot";
  revision: number;
  identifiers: StatusView[];
  reports: GroupReportsPage[];
  resync: boolean;
  last: boolean;
}

export type SnapshotRegistry = Pick<Registry, "revision" | "snapshot" | "reportsOf"> & Partial<Pick<Registry, "localChanges">>;

/** The watched identifiers (and their reports) as they were at one revision: read-only once made. */
interface Capture {
  readonly revision: number;
  readonly views: readonly StatusView[];
  /** With include_reports: each view's reports, by the view's index. */
  readonly reports: readonly { capacity: number; reports: ReportEntry[] }[] | undefined;
}

/**
 * Captures shared by the snapshots taken at the same revision of the same
 * selection (watchers opened together, or resyncing together, hold one copy),
 * held weakly: a capture lives as long as a snapshot still reads it.
 */
const captures = new WeakMap<SnapshotRegistry, { revision: number; local: number; byKey: Map<string, WeakRef<Capture>> }>();

function captureOf(registry: SnapshotRegistry, filter: WatchFilter): Capture {
  const revision = registry.revision;
  // A replica's own changes (its core in etcd mode) change the state without a revision.
  const local = registry.localChanges ?? 0;
  let cache = captures.get(registry);
  if (cache?.revision !== revision || cache.local !== local) captures.set(registry, (cache = { revision, local, byKey: new Map() }));
  const key = `${filter.groupKey}\0${filter.identifierKey}\0${filter.includeReports ? 1 : 0}`;
  const shared = cache.byKey.get(key)?.deref();
  if (shared) return shared;
  const views = registry.snapshot({ group: filter.groupKey, identifier: filter.identifierKey });
  const reports = filter.includeReports ? views.map((view) => registry.reportsOf(view.group, view.identifier)) : undefined;
  const capture: Capture = { revision, views, reports };
  // A lease's view is as of its making, and a refresh changes it without a
  // revision: a capture holding one is not handed to a later watcher.
  if (!views.some((view) => view.lease !== undefined)) cache.byKey.set(key, new WeakRef(capture));
  else cache.byKey.delete(key);
  return capture;
}

/**
 * The parts of one snapshot, cut on demand: the watched identifiers at one
 * revision, in parts of at most 1,000 identifiers or about 64 KiB
 * (SNAPSHOT_PART_BYTES; one identifier's reports may span parts); every part
 * has the same revision and only the final one is `last`. What the parts are
 * made of is captured once, when the snapshot is taken (changes after it are
 * the history's), and each part is built only when it is taken, so a watcher
 * that stops reading holds no parts of its own.
 */
export class SnapshotParts implements Iterable<SnapshotPart> {
  private capture: Capture | undefined;
  /** The next view to put in a part. */
  private index = 0;
  /** Set when the reports of the view before `index` continue in the next part: the next of them. */
  private reportIndex: number | undefined;

  constructor(
    capture: Capture,
    private readonly resync: boolean,
  ) {
    this.capture = capture;
    this.revision = capture.revision;
  }

  /** The revision every part carries. */
  readonly revision: number;

  /** True once the final part has been taken (or the snapshot dropped). */
  get done(): boolean {
    return this.capture === undefined;
  }

  /** The next part; undefined once the final one has been taken. */
  next(): SnapshotPart | undefined {
    const capture = this.capture;
    if (!capture) return undefined;
    const part: SnapshotPart = { kind: "snapshot", revision: capture.revision, identifiers: [], reports: [], resync: this.resync, last: false };
    let bytes = 0;
    const fill = (view: StatusView, from: number): boolean => {
      const { capacity, reports } = capture.reports![this.index - 1]!;
      const entry = reportsEntry(part, view, capacity);
      for (let r = from; r < reports.length; r++) {
        const report = reports[r]!;
        const reportSize = estimateReportBytes(report.text);
        if (entry.reports.length > 0 && bytes + reportSize > SNAPSHOT_PART_BYTES) {
          this.reportIndex = r;
          return false;
        }
        entry.reports.push(report);
        bytes += reportSize;
      }
      this.reportIndex = undefined;
      return true;
    };
    if (this.reportIndex !== undefined && !fill(capture.views[this.index - 1]!, this.reportIndex)) return part;
    const { views } = capture;
    while (this.index < views.length) {
      const view = views[this.index]!;
      const size = estimateViewBytes(view);
      if (part.identifiers.length >= SNAPSHOT_PART_IDENTIFIERS || (bytes > 0 && bytes + size > SNAPSHOT_PART_BYTES)) return part;
      part.identifiers.push(view);
      bytes += size;
      this.index++;
      if (!capture.reports) continue;
      bytes += estimateHeaderBytes(view.identifier);
      if (!fill(view, 0)) return part;
    }
    part.last = true;
    this.capture = undefined;
    return part;
  }

  /** Drops what is left (the watcher closed). */
  drop(): void {
    this.capture = undefined;
  }

  *[Symbol.iterator](): Iterator<SnapshotPart> {
    for (let part = this.next(); part; part = this.next()) yield part;
  }
}

/**
 * A snapshot of the watched identifiers at the current revision, cut into
 * parts as they are taken (SnapshotParts): at most 1,000 identifiers or about
 * 64 KiB each, one identifier's reports possibly spanning parts; every part has
 * the same revision and only the final one is `last`.
 */
export function cutSnapshot(registry: SnapshotRegistry, filter: WatchFilter, resync: boolean): SnapshotParts {
  return new SnapshotParts(captureOf(registry, filter), resync);
}

/** The entry of `view`'s reports in `part`, under its group's entry (added when the part has none yet). */
function reportsEntry(part: SnapshotPart, view: StatusView, capacity: number): { reports: ReportEntry[] } {
  let group = part.reports[part.reports.length - 1];
  if (group?.group !== view.group) {
    group = { group: view.group, identifiers: [] };
    part.reports.push(group);
  }
  const entry = { identifier: view.identifier, capacity, reports: [] as ReportEntry[] };
  group.identifiers.push(entry);
  return entry;
}
