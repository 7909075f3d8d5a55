/**
 * Reading the registry in list order (docs/model.md): by group, then `main`,
 * then by folded name. The pager resumes a walk from a page position; MI and
 * snapshots read a selection whole.
 */
import { groupNotFound, identifierNotFound } from "../errors.js";
import { compareCodePoints, foldName, identifierSortKey } from "../names.js";
import type { ReportEntry } from "../report-ring.js";
import type { GroupRecord, IdentifierRecord, RegistryReader, Selection, StatusView } from "../registry/types.js";
import { statusView } from "../registry/views.js";
import { GROUP_LISTED, type PagePosition } from "./page-token.js";
import type { ParsedSelection } from "./selection.js";

/** Folded keys of what a walk covers; "" for every group or identifier. */
export interface WalkScope {
  groupKey: string;
  identifierKey: string;
}

/**
 * Every (group, identifier) in list order within `scope`, from `start`
 * (inclusive of the position's own identifier, which ListReports may not
 * have finished). A group without identifiers is yielded once with no
 * identifier, so listings still show it.
 */
export function* walk(reader: RegistryReader, scope: WalkScope, start?: PagePosition): Generator<[GroupRecord, IdentifierRecord | undefined]> {
  const one = scope.groupKey ? reader.groupByKey(scope.groupKey) : undefined;
  const groups = scope.groupKey ? (one ? [one] : []) : reader.groupsInOrder();
  let gi = start ? lowerBound(groups, (g) => compareCodePoints(g.key, start.groupKey) < 0) : 0;
  for (; gi < groups.length; gi++) {
    const group = groups[gi] as GroupRecord;
    const resumed = start !== undefined && group.key === start.groupKey;
    if (resumed && start.sequence === GROUP_LISTED) continue;
    if (scope.identifierKey) {
      const found = group.identifiers.get(scope.identifierKey);
      if (found) yield [group, found];
      continue;
    }
    const identifiers = reader.identifiersInOrder(group);
    if (identifiers.length === 0) {
      if (!resumed) yield [group, undefined];
      continue;
    }
    let ii = resumed ? lowerBound(identifiers, (i) => compareCodePoints(identifierSortKey(i.key), start.identifierKey) < 0) : 0;
    for (; ii < identifiers.length; ii++) yield [group, identifiers[ii] as IdentifierRecord];
  }
}

/** Throws GROUP_NOT_FOUND or IDENTIFIER_NOT_FOUND unless what the selection names exists. */
export function requireSelected(reader: RegistryReader, selection: ParsedSelection): void {
  if (selection.group === "") return;
  const group = reader.groupByKey(selection.groupKey);
  if (!group) throw groupNotFound(selection.group);
  if (selection.identifier !== "" && !group.identifiers.has(selection.identifierKey)) {
    throw identifierNotFound(group.name, selection.identifier);
  }
}

/** One identifier of a group read whole; its reports are read only when asked for. */
export interface ListedIdentifier {
  readonly name: string;
  readonly status: StatusView;
  readonly capacity: number;
  /** Oldest first. */
  reports(): ReportEntry[];
}

export interface ListedGroup {
  readonly name: string;
  readonly internal: boolean;
  /** In list order; empty for a group without identifiers. */
  readonly identifiers: ListedIdentifier[];
}

/**
 * The selected groups, whole, in list order. What the selection names must
 * exist (checked now, before the first group is read).
 */
export function listGroups(reader: RegistryReader, selection: ParsedSelection): Iterable<ListedGroup> {
  requireSelected(reader, selection);
  return groupsOf(reader, selection);
}

function* groupsOf(reader: RegistryReader, scope: WalkScope): Generator<ListedGroup> {
  let current: ListedGroup | undefined;
  for (const [group, identifier] of walk(reader, scope)) {
    if (current?.name !== group.name) {
      if (current) yield current;
      current = { name: group.name, internal: group.internal, identifiers: [] };
    }
    if (identifier) {
      current.identifiers.push({
        name: identifier.name,
        status: statusView(group, identifier),
        capacity: identifier.reports.capacity,
        // Read when called: the identifier takes a ring of its own at its first report.
        reports: () => identifier.reports.list(),
      });
    }
  }
  if (current) yield current;
}

/**
 * The statuses of the selected identifiers in list order. Unknown groups or
 * identifiers select nothing: a watch may start before what it watches exists.
 */
export function snapshotViews(reader: RegistryReader, selection: Selection): StatusView[] {
  const out: StatusView[] = [];
  const scope = { groupKey: foldName(selection.group ?? ""), identifierKey: foldName(selection.identifier ?? "") };
  for (const [group, identifier] of walk(reader, scope)) {
    if (identifier) out.push(statusView(group, identifier));
  }
  return out;
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
