/**
 * The registry's reads: one identifier or a group aggregated, snapshots, and
 * its state in list order for listing (RegistryReader). The writes, which
 * alone change the state and the revision, are in registry.ts.
 */
import { snapshotViews } from "../listing/walk.js";
import { ALL, MAIN, checkName, foldName } from "../names.js";
import type { ReportEntry } from "../report-ring.js";
import { GroupStore } from "./store.js";
import type { GroupRecord, IdentifierRecord, IdentifierRef, RegistryReader, Selection, StatusView } from "./types.js";
import { aggregateView, statusView } from "./views.js";

export abstract class RegistryReads implements RegistryReader {
  protected readonly store = new GroupStore();
  protected currentRevision = 0;

  get revision(): number {
    return this.currentRevision;
  }

  get totalIdentifiers(): number {
    return this.store.totalIdentifiers;
  }

  /** One identifier's status, or the group aggregated for `all`; empty means `main`. */
  getStatus(input: IdentifierRef): { status: StatusView; revision: number } {
    checkName("group", input.group, "group");
    const name = input.identifier === "" ? MAIN : input.identifier;
    const aggregated = foldName(name) === ALL;
    if (!aggregated) checkName("identifier", name, "identifier");
    const group = this.store.find(input.group);
    const status = aggregated ? aggregateView(group) : statusView(group, this.store.findIdentifier(group, name));
    return { status, revision: this.currentRevision };
  }

  checkStatus(input: IdentifierRef): { ready: boolean; status: number } {
    const { status } = this.getStatus(input);
    return { ready: status.ready, status: status.status };
  }

  /** Whether a group is internal; undefined when it does not exist. */
  isInternal(group: string): boolean | undefined {
    return this.store.get(foldName(group))?.internal;
  }

  /** Every group aggregated, in order (for the health service's List). */
  aggregates(): StatusView[] {
    return this.groupsInOrder().map(aggregateView);
  }

  /**
   * The statuses of the selected identifiers at the current revision, in list
   * order. Unknown groups or identifiers select nothing.
   */
  snapshot(selection: Selection): StatusView[] {
    return snapshotViews(this, selection);
  }

  /** The reports of one identifier (for snapshots); empty when it does not exist. */
  reportsOf(group: string, identifier: string): { capacity: number; reports: ReportEntry[] } {
    const found = this.store.lookup(foldName(group), foldName(identifier))?.[1];
    return found ? { capacity: found.reports.capacity, reports: found.reports.list() } : { capacity: 0, reports: [] };
  }

  groupsInOrder(): readonly GroupRecord[] {
    return this.store.groupsInOrder();
  }

  groupByKey(key: string): GroupRecord | undefined {
    return this.store.get(key);
  }

  identifiersInOrder(record: GroupRecord): readonly IdentifierRecord[] {
    return this.store.identifiersInOrder(record.key);
  }
}
