import { randomUUID } from "node:crypto";
import { SrError, groupNotFound, identifierNotFound, invalidArgument, limitReached } from "../errors.js";
import {
  ALL,
  MAIN,
  checkName,
  checkText,
  compareCodePoints,
  foldName,
  identifierSortKey,
  utf8Length,
} from "../names.js";
import {
  MAX_PAGE_BYTES,
  type PagePosition,
  type PageScope,
  decodePageToken,
  encodePageToken,
  resolvePageSize,
} from "../listing/page-token.js";
import { type ReportEntry, ReportRing } from "../report-ring.js";

export const DEFAULT_STATUS = 1;
export const DEFAULT_REPORT_CAPACITY = 50;
export const MAX_REPORT_CAPACITY = 32767;
export const AGGREGATED_DETAILS = "aggregated";

export interface RegistryLimits {
  /** Groups in all, internal ones included. */
  maxGroups: number;
  maxIdentifiersPerGroup: number;
  /** Identifiers over every group. */
  maxIdentifiers: number;
}

export const DEFAULT_LIMITS: RegistryLimits = {
  maxGroups: 10_000,
  maxIdentifiersPerGroup: 10_000,
  maxIdentifiers: 100_000,
};

/** What a reader sees of one identifier (or of a group aggregated). */
export interface StatusView {
  group: string;
  identifier: string;
  status: number;
  details: string | undefined;
  ready: boolean;
  revision: number;
  /** Milliseconds since the epoch of the last status or details change. */
  updateTime: number;
}

interface ChangeBase {
  revision: number;
  /** Folded group name, for filtering. */
  groupKey: string;
  /** Folded identifier name; "" when a whole group was removed. */
  identifierKey: string;
  group: string;
  identifier: string;
}

/** One registry change; every change has its own revision, emitted in order. */
export type Change =
  | (ChangeBase & { kind: "registered"; status: StatusView })
  | (ChangeBase & { kind: "unregistered" })
  | (ChangeBase & {
      kind: "status";
      status: number;
      oldStatus: number;
      details: string | undefined;
      /** False for a details-only change. */
      statusChanged: boolean;
    })
  | (ChangeBase & { kind: "report"; report: ReportEntry });

export type ChangeListener = (change: Change) => void;

interface Identifier {
  readonly name: string;
  readonly key: string;
  status: number;
  details: string | undefined;
  revision: number;
  updateTime: number;
  readonly reports: ReportRing;
}

interface Group {
  readonly name: string;
  readonly key: string;
  readonly internal: boolean;
  readonly identifiers: Map<string, Identifier>;
  /** Revision of the group's registration or of its last identifier removal. */
  revision: number;
  createTime: number;
  sorted: Identifier[] | undefined;
}

/** Where a write comes from: the server itself may write internal groups. */
export interface WriteOrigin {
  server?: boolean;
}

export interface RegisterGroupInput {
  group: string;
  status?: number | undefined;
  details?: string | undefined;
  reportCapacity?: number | undefined;
}

export interface RegisterIdentifierInput extends RegisterGroupInput {
  identifier: string;
}

export interface SetStatusInput {
  group: string;
  identifier: string;
  status: number;
  details?: string | undefined;
}

export interface IdentifierRef {
  group: string;
  identifier: string;
}

export interface PageRequest {
  pageSize: number;
  pageToken: string;
}

export interface GroupStatusPage {
  group: string;
  internal: boolean;
  identifiers: StatusView[];
}

export interface GroupIdentifiersPage {
  group: string;
  internal: boolean;
  identifiers: string[];
}

export interface IdentifierReports {
  identifier: string;
  capacity: number;
  reports: ReportEntry[];
}

export interface GroupReportsPage {
  group: string;
  identifiers: IdentifierReports[];
}

export interface Page<T> {
  groups: T[];
  revision: number;
  nextPageToken: string;
}

/** Which identifiers a snapshot covers: everything, a group, or one identifier. */
export interface Selection {
  group?: string;
  identifier?: string;
}

/** Page position of a group listed whole with no identifiers (see walk). */
const GROUP_LISTED = -2;

const byKey = (a: { key: string }, b: { key: string }) => compareCodePoints(a.key, b.key);
const byIdentifierKey = (a: Identifier, b: Identifier) =>
  compareCodePoints(identifierSortKey(a.key), identifierSortKey(b.key));

/** Estimated encoded sizes, used to keep pages and snapshot parts under 1 MiB. */
export const estimateStatusBytes = (group: string, identifier: string, details: string | undefined) =>
  40 + utf8Length(group) + utf8Length(identifier) + (details === undefined ? 0 : utf8Length(details) + 4);
export const estimateReportBytes = (text: string) => 30 + utf8Length(text);

function checkStatusValue(field: string, status: number): void {
  if (!Number.isInteger(status) || status < -2147483648 || status > 2147483647) {
    throw invalidArgument("STATUS_ZERO", field, "must be a signed 32-bit integer");
  }
  if (status === 0) throw invalidArgument("STATUS_ZERO", field, "must not be 0 (> 0 is ready, < 0 is not ready)");
}

function checkCapacity(capacity: number): void {
  if (!Number.isInteger(capacity) || capacity < 0 || capacity > MAX_REPORT_CAPACITY) {
    throw invalidArgument("CAPACITY_OUT_OF_RANGE", "report_capacity", `must be between 0 and ${MAX_REPORT_CAPACITY} (got ${capacity})`);
  }
}

function checkRegistration(input: RegisterGroupInput): void {
  if (input.status !== undefined) checkStatusValue("status", input.status);
  if (input.details !== undefined) checkText("details", input.details);
  if (input.reportCapacity !== undefined) checkCapacity(input.reportCapacity);
}

/**
 * The Status/Report registry: groups of identifiers with a status, details and
 * a report ring, and one revision counter. Plain synchronous TypeScript: every
 * call validates everything before it changes anything, and listeners hear of a
 * change only once the state is consistent again.
 */
export class Registry {
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
    if (existing?.internal && !origin.server) throw this.internalDenied(existing);
    if (existing) {
      const main = existing.identifiers.get(MAIN);
      if (input.reportCapacity !== undefined && main && main.reports.capacity !== input.reportCapacity) {
        throw new SrError(
          "CAPACITY_MISMATCH",
          `report_capacity: group '${existing.name}' already exists with report capacity ${main.reports.capacity}, not ${input.reportCapacity}`,
          { field: "report_capacity", group: existing.name },
        );
      }
      return { created: false, revision: this.currentRevision };
    }
    this.createGroup(input, false);
    return { created: true, revision: this.currentRevision };
  }

  unregisterGroup(input: { group: string }, origin: WriteOrigin = {}): { revision: number } {
    checkName("group", input.group, "group");
    const group = this.writableGroup(input.group, origin);
    this.groups.delete(group.key);
    this.sortedGroups = undefined;
    this.identifierCount -= group.identifiers.size;
    const revision = ++this.currentRevision;
    this.emit({
      kind: "unregistered",
      revision,
      groupKey: group.key,
      identifierKey: "",
      group: group.name,
      identifier: "",
    });
    return { revision };
  }

  registerIdentifier(
    input: RegisterIdentifierInput,
    origin: WriteOrigin = {},
  ): { created: boolean; status: StatusView; revision: number } {
    checkName("group", input.group, "group");
    const name = this.writeIdentifierName(input.identifier);
    checkRegistration(input);
    const group = this.writableGroup(input.group, origin);
    const existing = group.identifiers.get(foldName(name));
    if (existing) {
      if (input.reportCapacity !== undefined && existing.reports.capacity !== input.reportCapacity) {
        throw new SrError(
          "CAPACITY_MISMATCH",
          `report_capacity: identifier '${existing.name}' of group '${group.name}' already exists with report capacity ${existing.reports.capacity}, not ${input.reportCapacity}`,
          { field: "report_capacity", group: group.name, identifier: existing.name },
        );
      }
      return { created: false, status: this.view(group, existing), revision: this.currentRevision };
    }
    this.checkIdentifierLimits(group);
    const revision = ++this.currentRevision;
    const identifier = this.addIdentifier(group, name, input, revision);
    const status = this.view(group, identifier);
    this.emit({ kind: "registered", revision, groupKey: group.key, identifierKey: identifier.key, group: group.name, identifier: identifier.name, status });
    return { created: true, status, revision };
  }

  unregisterIdentifier(input: IdentifierRef, origin: WriteOrigin = {}): { revision: number } {
    checkName("group", input.group, "group");
    const name = this.writeIdentifierName(input.identifier);
    const group = this.writableGroup(input.group, origin);
    const identifier = this.findIdentifier(group, name);
    group.identifiers.delete(identifier.key);
    group.sorted = undefined;
    this.identifierCount--;
    const revision = ++this.currentRevision;
    group.revision = revision;
    this.emit({
      kind: "unregistered",
      revision,
      groupKey: group.key,
      identifierKey: identifier.key,
      group: group.name,
      identifier: identifier.name,
    });
    return { revision };
  }

  setStatus(input: SetStatusInput, origin: WriteOrigin = {}): { changed: boolean; oldStatus: number; revision: number } {
    checkName("group", input.group, "group");
    const name = this.writeIdentifierName(input.identifier);
    checkStatusValue("status", input.status);
    if (input.details !== undefined) checkText("details", input.details);
    const group = this.writableGroup(input.group, origin);
    const identifier = this.findIdentifier(group, name);
    const oldStatus = identifier.status;
    const statusChanged = oldStatus !== input.status;
    if (!statusChanged && identifier.details === input.details) {
      return { changed: false, oldStatus, revision: this.currentRevision };
    }
    const revision = ++this.currentRevision;
    identifier.status = input.status;
    identifier.details = input.details;
    identifier.revision = revision;
    identifier.updateTime = this.now();
    this.emit({
      kind: "status",
      revision,
      groupKey: group.key,
      identifierKey: identifier.key,
      group: group.name,
      identifier: identifier.name,
      status: input.status,
      oldStatus,
      details: input.details,
      statusChanged,
    });
    return { changed: statusChanged, oldStatus, revision };
  }

  addReport(input: IdentifierRef & { text: string }, origin: WriteOrigin = {}): { sequence: number; revision: number } {
    checkName("group", input.group, "group");
    const name = this.writeIdentifierName(input.identifier);
    checkText("text", input.text);
    const group = this.writableGroup(input.group, origin);
    const identifier = this.findIdentifier(group, name);
    if (identifier.reports.capacity === 0) {
      throw new SrError(
        "REPORTS_DISABLED",
        `identifier '${identifier.name}' of group '${group.name}' has report capacity 0 and accepts no reports`,
        { group: group.name, identifier: identifier.name },
      );
    }
    const report = identifier.reports.add(input.text, this.now());
    const revision = ++this.currentRevision;
    identifier.revision = revision;
    this.emit({
      kind: "report",
      revision,
      groupKey: group.key,
      identifierKey: identifier.key,
      group: group.name,
      identifier: identifier.name,
      report,
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
    if (aggregated) return { status: this.aggregate(group), revision: this.currentRevision };
    return { status: this.view(group, this.findIdentifier(group, name)), revision: this.currentRevision };
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
    return this.orderedGroups().map((g) => this.aggregate(g));
  }

  listStatus(input: { group: string } & PageRequest): Page<GroupStatusPage> {
    resolvePageSize(input.pageSize); // arguments before lookups
    const groupKey = this.listGroupKey(input.group);
    const scope: PageScope = { list: "status", groupKey, identifierKey: "" };
    return this.pageByIdentifier(scope, input, (group) => ({ group: group.name, internal: group.internal, identifiers: [] as StatusView[] }), (page, group, identifier) => {
      const view = this.view(group, identifier);
      page.identifiers.push(view);
      return estimateStatusBytes(view.group, view.identifier, view.details);
    });
  }

  listIdentifiers(input: { group: string } & PageRequest): Page<GroupIdentifiersPage> {
    resolvePageSize(input.pageSize); // arguments before lookups
    const groupKey = this.listGroupKey(input.group);
    const scope: PageScope = { list: "identifiers", groupKey, identifierKey: "" };
    return this.pageByIdentifier(scope, input, (group) => ({ group: group.name, internal: group.internal, identifiers: [] as string[] }), (page, _group, identifier) => {
      page.identifiers.push(identifier.name);
      return 3 + utf8Length(identifier.name);
    });
  }

  /**
   * Reports of one identifier, of a group, or of everything, oldest first. A
   * page holds `page_size` entries, each report being one and an identifier
   * without reports one too; an identifier's reports may continue on the next
   * page, which repeats its group and identifier headers.
   */
  listReports(input: { group: string; identifier: string } & PageRequest): Page<GroupReportsPage> {
    // Every argument is checked before anything is looked up.
    if (input.group !== "") checkName("group", input.group, "group");
    let identifierKey = "";
    if (input.identifier !== "") {
      if (input.group === "") throw invalidArgument("GROUP_REQUIRED", "identifier", "needs a group (an identifier is named within its group)");
      if (foldName(input.identifier) === ALL) {
        throw invalidArgument("NAME_RESERVED", "identifier", "'all' is not allowed here (leave identifier empty to list every identifier)");
      }
      checkName("identifier", input.identifier, "identifier");
      identifierKey = foldName(input.identifier);
    }
    resolvePageSize(input.pageSize);
    const groupKey = this.listGroupKey(input.group);
    if (identifierKey) this.findIdentifier(this.findGroup(input.group), input.identifier);
    const scope: PageScope = { list: "reports", groupKey, identifierKey };
    const pageSize = resolvePageSize(input.pageSize);
    const start = decodePageToken(input.pageToken, scope);
    const groups: GroupReportsPage[] = [];
    let entries = 0;
    let bytes = 0;
    let last: PagePosition | undefined;
    let more = false;
    outer: for (const [group, identifier] of this.walk(groupKey, identifierKey, start)) {
      if (!identifier) {
        // A group without identifiers: its header alone, one entry.
        if (entries >= pageSize || bytes >= MAX_PAGE_BYTES) {
          more = true;
          break;
        }
        groups.push({ group: group.name, identifiers: [] });
        bytes += 10 + utf8Length(group.name);
        entries++;
        last = { groupKey: group.key, identifierKey: "", sequence: GROUP_LISTED };
        continue;
      }
      const resumed = start?.groupKey === group.key && start.identifierKey === identifierSortKey(identifier.key);
      // The position's own identifier was listed whole (-1) or up to a sequence.
      if (resumed && start.sequence < 0) continue;
      const reports = identifier.reports.list(resumed ? start.sequence : 0);
      if (resumed && reports.length === 0) continue;
      if (entries >= pageSize || bytes >= MAX_PAGE_BYTES) {
        more = true;
        break;
      }
      let groupPage = groups[groups.length - 1];
      if (groupPage?.group !== group.name) {
        groupPage = { group: group.name, identifiers: [] };
        groups.push(groupPage);
        bytes += 10 + utf8Length(group.name);
      }
      const entry: IdentifierReports = { identifier: identifier.name, capacity: identifier.reports.capacity, reports: [] };
      groupPage.identifiers.push(entry);
      bytes += 10 + utf8Length(identifier.name);
      const position = { groupKey: group.key, identifierKey: identifierSortKey(identifier.key), sequence: -1 };
      last = position;
      if (reports.length === 0) {
        entries++;
        continue;
      }
      for (const report of reports) {
        // The first report always fits (checked above), so a page never ends
        // on an identifier header without one of its reports.
        if (entry.reports.length > 0 && (entries >= pageSize || bytes >= MAX_PAGE_BYTES)) {
          more = true;
          break outer;
        }
        entry.reports.push(report);
        entries++;
        bytes += estimateReportBytes(report.text);
        position.sequence = report.sequence;
      }
      position.sequence = -1; // listed whole
    }
    return { groups, revision: this.currentRevision, nextPageToken: more && last ? encodePageToken(scope, last) : "" };
  }

  /**
   * The statuses (and, when asked, reports) of the selected identifiers at
   * the current revision, in list order. Unknown groups or identifiers select
   * nothing: a watch may start before what it watches exists.
   */
  snapshot(selection: Selection): StatusView[] {
    const out: StatusView[] = [];
    for (const [group, identifier] of this.walk(
      selection.group ? foldName(selection.group) : "",
      selection.identifier ? foldName(selection.identifier) : "",
      undefined,
    )) {
      if (identifier) out.push(this.view(group, identifier));
    }
    return out;
  }

  /** The reports of one identifier (for snapshots); empty when it does not exist. */
  reportsOf(group: string, identifier: string): { capacity: number; reports: ReportEntry[] } {
    const found = this.groups.get(foldName(group))?.identifiers.get(foldName(identifier));
    return found ? { capacity: found.reports.capacity, reports: found.reports.list() } : { capacity: 0, reports: [] };
  }

  // ---- internals ----

  private emit(change: Change): void {
    for (const listener of this.listeners) listener(change);
  }

  private internalDenied(group: Group): SrError {
    return new SrError("INTERNAL_GROUP", `group '${group.name}' is internal to the server and read-only`, { group: group.name });
  }

  private createGroup(input: RegisterGroupInput, internal: boolean): void {
    if (this.groups.size >= this.limits.maxGroups) {
      throw limitReached("limits.max_groups", `the registry holds its maximum of ${this.limits.maxGroups} groups`);
    }
    if (this.identifierCount >= this.limits.maxIdentifiers) {
      throw limitReached(
        "limits.max_identifiers",
        `the registry holds its maximum of ${this.limits.maxIdentifiers} identifiers (a group needs one for main)`,
      );
    }
    const revision = ++this.currentRevision;
    const group: Group = {
      name: input.group,
      key: foldName(input.group),
      internal,
      identifiers: new Map(),
      revision,
      createTime: this.now(),
      sorted: undefined,
    };
    this.groups.set(group.key, group);
    this.sortedGroups = undefined;
    const main = this.addIdentifier(group, MAIN, input, revision);
    const status = this.view(group, main);
    this.emit({ kind: "registered", revision, groupKey: group.key, identifierKey: MAIN, group: group.name, identifier: MAIN, status });
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

  private checkIdentifierLimits(group: Group): void {
    if (group.identifiers.size >= this.limits.maxIdentifiersPerGroup) {
      throw limitReached(
        "limits.max_identifiers_per_group",
        `group '${group.name}' holds its maximum of ${this.limits.maxIdentifiersPerGroup} identifiers`,
        { group: group.name },
      );
    }
    if (this.identifierCount >= this.limits.maxIdentifiers) {
      throw limitReached("limits.max_identifiers", `the registry holds its maximum of ${this.limits.maxIdentifiers} identifiers`);
    }
  }

  /** The identifier a write names: empty means `main`, `all` is refused. */
  private writeIdentifierName(identifier: string): string {
    const name = identifier === "" ? MAIN : identifier;
    if (foldName(name) === ALL) {
      throw invalidArgument("NAME_RESERVED", "identifier", "'all' is reserved (it means the whole group) and cannot be written");
    }
    checkName("identifier", name, "identifier");
    return name;
  }

  private findGroup(name: string): Group {
    const group = this.groups.get(foldName(name));
    if (!group) throw groupNotFound(name);
    return group;
  }

  private writableGroup(name: string, origin: WriteOrigin): Group {
    const group = this.findGroup(name);
    if (group.internal && !origin.server) throw this.internalDenied(group);
    return group;
  }

  private findIdentifier(group: Group, name: string): Identifier {
    const identifier = group.identifiers.get(foldName(name));
    if (!identifier) throw identifierNotFound(group.name, name);
    return identifier;
  }

  private listGroupKey(group: string): string {
    if (group === "") return "";
    checkName("group", group, "group");
    return this.findGroup(group).key;
  }

  private view(group: Group, identifier: Identifier): StatusView {
    return {
      group: group.name,
      identifier: identifier.name,
      status: identifier.status,
      details: identifier.details,
      ready: identifier.status > 0,
      revision: identifier.revision,
      updateTime: identifier.updateTime,
    };
  }

  private aggregate(group: Group): StatusView {
    let ready = true;
    let revision = 0;
    let updateTime = 0;
    for (const identifier of group.identifiers.values()) {
      if (identifier.status < 0) ready = false;
      if (identifier.revision > revision) revision = identifier.revision;
      if (identifier.updateTime > updateTime) updateTime = identifier.updateTime;
    }
    if (group.identifiers.size === 0) {
      revision = group.revision;
      updateTime = group.createTime;
    }
    return {
      group: group.name,
      identifier: ALL,
      status: ready ? 1 : -1,
      details: AGGREGATED_DETAILS,
      ready,
      revision,
      updateTime,
    };
  }

  private orderedGroups(): Group[] {
    if (!this.sortedGroups) this.sortedGroups = [...this.groups.values()].sort(byKey);
    return this.sortedGroups;
  }

  private orderedIdentifiers(group: Group): Identifier[] {
    if (!group.sorted) group.sorted = [...group.identifiers.values()].sort(byIdentifierKey);
    return group.sorted;
  }

  /**
   * Every (group, identifier) in list order, restricted to one group and/or
   * identifier key when given, starting at `start` (inclusive of the position's
   * own identifier, which ListReports may not have finished). A group without
   * identifiers is yielded once with no identifier, so listings still show it.
   */
  private *walk(groupKey: string, identifierKey: string, start: PagePosition | undefined): Generator<[Group, Identifier | undefined]> {
    const groups = groupKey ? [this.groups.get(groupKey)].filter((g): g is Group => g !== undefined) : this.orderedGroups();
    let gi = 0;
    if (start) gi = lowerBound(groups, (g) => compareCodePoints(g.key, start.groupKey) < 0);
    for (; gi < groups.length; gi++) {
      const group = groups[gi] as Group;
      const resumed = start !== undefined && group.key === start.groupKey;
      if (resumed && start.sequence === GROUP_LISTED) continue;
      if (identifierKey) {
        const one = group.identifiers.get(identifierKey);
        if (one) yield [group, one];
        continue;
      }
      const identifiers = this.orderedIdentifiers(group);
      if (identifiers.length === 0) {
        if (!resumed) yield [group, undefined];
        continue;
      }
      let ii = 0;
      if (resumed) ii = lowerBound(identifiers, (i) => compareCodePoints(identifierSortKey(i.key), start.identifierKey) < 0);
      for (; ii < identifiers.length; ii++) yield [group, identifiers[ii] as Identifier];
    }
  }

  /** Shared paging of ListStatus and ListIdentifiers: one entry per identifier. */
  private pageByIdentifier<T extends { group: string }>(
    scope: PageScope,
    request: PageRequest,
    header: (group: Group) => T,
    add: (page: T, group: Group, identifier: Identifier) => number,
  ): Page<T> {
    const pageSize = resolvePageSize(request.pageSize);
    const start = decodePageToken(request.pageToken, scope);
    const groups: T[] = [];
    let entries = 0;
    let bytes = 0;
    let last: PagePosition | undefined;
    let more = false;
    for (const [group, identifier] of this.walk(scope.groupKey, "", start)) {
      const position = identifier
        ? { groupKey: group.key, identifierKey: identifierSortKey(identifier.key), sequence: -1 }
        : { groupKey: group.key, identifierKey: "", sequence: GROUP_LISTED };
      if (identifier && start && start.groupKey === position.groupKey && start.identifierKey === position.identifierKey) continue;
      if (entries >= pageSize || bytes >= MAX_PAGE_BYTES) {
        more = true;
        break;
      }
      let page = groups[groups.length - 1];
      if (page?.group !== group.name) {
        page = header(group);
        groups.push(page);
        bytes += 10 + utf8Length(group.name);
      }
      if (identifier) bytes += add(page, group, identifier);
      entries++; // an identifier, or an empty group's header
      last = position;
    }
    return { groups, revision: this.currentRevision, nextPageToken: more && last ? encodePageToken(scope, last) : "" };
  }
}

/** The first index whose element is not `before` the target (elements sorted). */
function lowerBound<T>(items: readonly T[], before: (item: T) => boolean): number {
  let lo = 0;
  let hi = items.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (before(items[mid] as T)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
