import { MAX_PAGE_BYTES, estimateHeaderBytes, estimateReportBytes, estimateViewBytes } from "../listing/sizes.js";
import type { ReportEntry } from "../report-ring.js";
import type { GroupReportsPage, Registry, StatusView } from "../registry/registry.js";
import type { WatchFilter } from "./filter.js";

/** Identifiers per snapshot part. */
export const SNAPSHOT_PART_IDENTIFIERS = 1_000;

export interface SnapshotPart {
  kind: "snapshot";
  revision: number;
  identifiers: StatusView[];
  reports: GroupReportsPage[];
  resync: boolean;
  last: boolean;
}

export type SnapshotRegistry = Pick<Registry, "revision" | "snapshot" | "reportsOf">;

/**
 * The watched identifiers at the current revision, cut into parts of at most
 * 1,000 identifiers or about 1 MiB (one identifier's reports may span parts);
 * every part has the same revision and only the final one is `last`.
 */
export function cutSnapshot(registry: SnapshotRegistry, filter: WatchFilter, resync: boolean): SnapshotPart[] {
  const revision = registry.revision;
  const views = registry.snapshot({ group: filter.groupKey, identifier: filter.identifierKey });
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
    const size = estimateViewBytes(view);
    if (current.identifiers.length >= SNAPSHOT_PART_IDENTIFIERS || (bytes > 0 && bytes + size > MAX_PAGE_BYTES)) {
      current = newPart();
    }
    current.identifiers.push(view);
    bytes += size;
    if (!filter.includeReports) continue;
    const { capacity, reports } = registry.reportsOf(view.group, view.identifier);
    let entry = reportsEntry(current, view, capacity);
    bytes += estimateHeaderBytes(view.identifier);
    for (const report of reports) {
      const reportSize = estimateReportBytes(report.text);
      if (entry.reports.length > 0 && bytes + reportSize > MAX_PAGE_BYTES) {
        current = newPart();
        entry = reportsEntry(current, view, capacity);
      }
      entry.reports.push(report);
      bytes += reportSize;
    }
  }
  const final = part ?? newPart();
  final.last = true;
  return parts;
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
