import { randomUUID } from "node:crypto";
import { groupNotFound, identifierNotFound } from "../errors.js";
import { ALL, MAIN, checkName, checkText, compareCodePoints, foldName, identifierSortKey } from "../names.js";
import { type ReportEntry, ReportRing } from "../report-ring.js";
import { snapshotViews } from "../listing/walk.js";
import {
  DEFAULT_LIMITS,
  DEFAULT_REPORT_CAPACITY,
  DEFAULT_STATUS,
  capacityMismatch,
  checkGroupRoom,
  checkIdentifierRoom,
  checkRegistration,
  checkStatusValue,
  internalGroupDenied,
  reportsDisabled,
  writeIdentifierName,
} from "./rules.js";
import type {
  ChangeBase,
  ChangeDetail,
  ChangeListener,
  GroupRecord,
  IdentifierRecord,
  IdentifierRef,
  RegisterGroupInput,
  RegisterIdentifierInput,
  RegistryLimits,
  RegistryReader,
  Selection,
  SetStatusInput,
  StatusView,
  WriteOrigin,
} from "./types.js";
import { aggregateView, statusView } from "./views.js";

// What the other modules import from here, wherever it now lives.
export * from "./types.js";
export { DEFAULT_LIMITS, DEFAULT_REPORT_CAPACITY, DEFAULT_STATUS, MAX_REPORT_CAPACITY } from "./rules.js";
export { AGGREGATED_DETAILS } from "./views.js";
export { estimateReportBytes, estimateStatusBytes } from "../listing/sizes.js";

interface Identifier extends IdentifierRecord {
  status: number;
  details: string | undefined;
  revision: number;
  updateTime: number;
  readonly reports: ReportRing;
}

interface Group extends GroupRecord {
  readonly identifiers: Map<string, Identifier>;
  revision: number;
  /** The identifiers in list order, until one is added or removed. */
  sorted: Identifier[] | undefined;
}

const byKey = (a: { key: string }, b: { key: string }) => compareCodePoints(a.key, b.key);
const byIdentifierKey = (a: Identifier, b: Identifier) => compareCodePoints(identifierSortKey(a.key), identifierSortKey(b.key));

/**
 * The Status/Report registry: groups of identifiers with a status, details and
 * a report ring, and one revision counter. Plain synchronous TypeScript: every
 * call validates everything before it changes anything, and listeners hear of a
 * change only once the state is consistent again. Listing reads it through
 * RegistryReader (listing/).
 */
export class Registry implements RegistryReader {
  private readonly groups = new Map<string, Group>();
  private sortedGroups: Group[] | undefined;
  private identifierCount = 0;
  private currentRevision = 0;
  private readonly listeners = new Set<ChangeListener>();
  /**
   * Names this registry instance: revisions only mean something within one
   * registry, so a resuming watcher checks it still talks to the same one.
   */
  readonly id: string = randomUUID();

  constructor(
    readonly limits: RegistryLimits = DEFAULT_LIMITS,
    private readonly now: () => number = Date.now,
  ) {}

  get revision(): number {
    return this.currentRevision;
  }

  get totalIdentifiers(): number {
    return this.identifierCount;
  }

  /** Listens to every change, in revision order; returns the unsubscriber. */
  onChange(listener: ChangeListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  // ---- writes ----

  /** Creates an internal (server-owned, read-only over the API) group with its `main`. */
  registerInternalGroup(input: RegisterGroupInput): void {
    this.createGroup(input, true);
  }

  registerGroup(input: RegisterGroupInput, origin: WriteOrigin = {}): { created: boolean; revision: number } {
    checkName("group", input.group, "group");
    checkRegistration(input);
    const existing = this.groups.get(foldName(input.group));
    if (existing?.internal && !origin.server) throw internalGroupDenied(existing.name);
    if (existing) {
      const main = existing.identifiers.get(MAIN);
      if (input.reportCapacity !== undefined && main && main.reports.capacity !== input.reportCapacity) {
        throw capacityMismatch(`group '${existing.name}'`, main.reports.capacity, input.reportCapacity, { group: existing.name });
      }
      return { created: false, revision: this.currentRevision };
    }
    return { created: true, revision: this.createGroup(input, false) };
  }

  unregisterGroup(input: { group: string }, origin: WriteOrigin = {}): { revision: number } {
    checkName("group", input.group, "group");
    const group = this.writableGroup(input.group, origin);
    const { revision } = this.change(group, () => {
      this.groups.delete(group.key);
      this.sortedGroups = undefined;
      this.identifierCount -= group.identifiers.size;
      return [undefined, { kind: "unregistered" }];
    });
    return { revision };
  }

  registerIdentifier(
    input: RegisterIdentifierInput,
    origin: WriteOrigin = {},
  ): { created: boolean; status: StatusView; revision: number } {
    checkName("group", input.group, "group");
    const name = writeIdentifierName(input.identifier);
    checkRegistration(input);
    const group = this.writableGroup(input.group, origin);
    const existing = group.identifiers.get(foldName(name));
    if (existing) {
      if (input.reportCapacity !== undefined && existing.reports.capacity !== input.reportCapacity) {
        throw capacityMismatch(`identifier '${existing.name}' of group '${group.name}'`, existing.reports.capacity, input.reportCapacity, {
          group: group.name,
          identifier: existing.name,
        });
      }
      return { created: false, status: statusView(group, existing), revision: this.currentRevision };
    }
    checkIdentifierRoom(this.limits, group.name, group.identifiers.size, this.identifierCount);
    const { status, revision } = this.change(group, (revision) => {
      const identifier = this.addIdentifier(group, name, input, revision);
      return [identifier, { kind: "registered", status: statusView(group, identifier) }];
    });
    return { created: true, status, revision };
  }

  unregisterIdentifier(input: IdentifierRef, origin: WriteOrigin = {}): { revision: number } {
    checkName("group", input.group, "group");
    const name = writeIdentifierName(input.identifier);
    const group = this.writableGroup(input.group, origin);
    const identifier = this.findIdentifier(group, name);
    const { revision } = this.change(group, (revision) => {
      group.identifiers.delete(identifier.key);
      group.sorted = undefined;
      group.revision = revision;
      this.identifierCount--;
      return [identifier, { kind: "unregistered" }];
    });
    return { revision };
  }

  setStatus(input: SetStatusInput, origin: WriteOrigin = {}): { changed: boolean; oldStatus: number; revision: number } {
    checkName("group", input.group, "group");
    const name = writeIdentifierName(input.identifier);
    checkStatusValue("status", input.status);
    if (input.details !== undefined) checkText("details", input.details);
    const group = this.writableGroup(input.group, origin);
    const identifier = this.findIdentifier(group, name);
    const oldStatus = identifier.status;
    const statusChanged = oldStatus !== input.status;
    if (!statusChanged && identifier.details === input.details) {
      return { changed: false, oldStatus, revision: this.currentRevision };
    }
    const { revision } = this.change(group, (revision) => {
      identifier.status = input.status;
      identifier.details = input.details;
      identifier.revision = revision;
      identifier.updateTime = this.now();
      return [identifier, { kind: "status", status: input.status, oldStatus, details: input.details, statusChanged }];
    });
    return { changed: statusChanged, oldStatus, revision };
  }

  addReport(input: IdentifierRef & { text: string }, origin: WriteOrigin = {}): { sequence: number; revision: number } {
    checkName("group", input.group, "group");
    const name = writeIdentifierName(input.identifier);
    checkText("text", input.text);
    const group = this.writableGroup(input.group, origin);
    const identifier = this.findIdentifier(group, name);
    if (identifier.reports.capacity === 0) throw reportsDisabled(group.name, identifier.name);
    const { report, revision } = this.change(group, (revision) => {
      identifier.revision = revision;
      return [identifier, { kind: "report", report: identifier.reports.add(input.text, this.now()) }];
    });
    return { sequence: report.sequence, revision };
  }

  // ---- reads ----

  /** One identifier's status, or the group aggregated for `all`; empty means `main`. */
  getStatus(input: IdentifierRef): { status: StatusView; revision: number } {
    checkName("group", input.group, "group");
    const name = input.identifier === "" ? MAIN : input.identifier;
    const aggregated = foldName(name) === ALL;
    if (!aggregated) checkName("identifier", name, "identifier");
    const group = this.findGroup(input.group);
    const status = aggregated ? aggregateView(group) : statusView(group, this.findIdentifier(group, name));
    return { status, revision: this.currentRevision };
  }

  checkStatus(input: IdentifierRef): { ready: boolean; status: number } {
    const { status } = this.getStatus(input);
    return { ready: status.ready, status: status.status };
  }

  /** Whether a group is internal; undefined when it does not exist. */
  isInternal(group: string): boolean | undefined {
    return this.groups.get(foldName(group))?.internal;
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
    const found = this.groups.get(foldName(group))?.identifiers.get(foldName(identifier));
    return found ? { capacity: found.reports.capacity, reports: found.reports.list() } : { capacity: 0, reports: [] };
  }

  groupsInOrder(): readonly GroupRecord[] {
    this.sortedGroups ??= [...this.groups.values()].sort(byKey);
    return this.sortedGroups;
  }

  groupByKey(key: string): GroupRecord | undefined {
    return this.groups.get(key);
  }

  identifiersInOrder(record: GroupRecord): readonly IdentifierRecord[] {
    const group = this.groups.get(record.key);
    if (!group) return [];
    group.sorted ??= [...group.identifiers.values()].sort(byIdentifierKey);
    return group.sorted;
  }

  // ---- internals ----

  /**
   * The one place a change is made: takes the next revision, lets `apply`
   * bring the state to it (returning the identifier concerned, none for a
   * whole group, and what changed), then tells the listeners.
   */
  private change<D extends ChangeDetail>(group: Group, apply: (revision: number) => [Identifier | undefined, D]): ChangeBase & D {
    const revision = ++this.currentRevision;
    const [identifier, detail] = apply(revision);
    const change = {
      revision,
      groupKey: group.key,
      identifierKey: identifier?.key ?? "",
      group: group.name,
      identifier: identifier?.name ?? "",
      ...detail,
    };
    for (const listener of this.listeners) listener(change);
    return change;
  }

  /** Returns the revision of the group's registration. */
  private createGroup(input: RegisterGroupInput, internal: boolean): number {
    checkGroupRoom(this.limits, this.groups.size, this.identifierCount);
    const key = foldName(input.group);
    const group: Group = { name: input.group, key, internal, identifiers: new Map(), revision: 0, createTime: this.now(), sorted: undefined };
    return this.change(group, (revision) => {
      group.revision = revision;
      this.groups.set(key, group);
      this.sortedGroups = undefined;
      const main = this.addIdentifier(group, MAIN, input, revision);
      return [main, { kind: "registered", status: statusView(group, main) }];
    }).revision;
  }

  private addIdentifier(group: Group, name: string, input: RegisterGroupInput, revision: number): Identifier {
    const identifier: Identifier = {
      name,
      key: foldName(name),
      status: input.status ?? DEFAULT_STATUS,
      details: input.details,
      revision,
      updateTime: this.now(),
      reports: new ReportRing(input.reportCapacity ?? DEFAULT_REPORT_CAPACITY),
    };
    group.identifiers.set(identifier.key, identifier);
    group.sorted = undefined;
    this.identifierCount++;
    return identifier;
  }

  private findGroup(name: string): Group {
    const group = this.groups.get(foldName(name));
    if (!group) throw groupNotFound(name);
    return group;
  }

  private writableGroup(name: string, origin: WriteOrigin): Group {
    const group = this.findGroup(name);
    if (group.internal && !origin.server) throw internalGroupDenied(group.name);
    return group;
  }

  private findIdentifier(group: Group, name: string): Identifier {
    const identifier = group.identifiers.get(foldName(name));
    if (!identifier) throw identifierNotFound(group.name, name);
    return identifier;
  }
}
