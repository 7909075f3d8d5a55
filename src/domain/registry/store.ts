/**
 * The registry's state: groups and identifiers by folded name, their counts,
 * and list order computed on demand. No rules and no revisions: the registry
 * decides what changes, this only holds it.
 */
import { groupNotFound, identifierNotFound } from "../errors.js";
import type { Lease } from "../leases/leases.js";
import { compareCodePoints, foldName, identifierSortKey } from "../names.js";
import type { ReportRing } from "../report-ring.js";
import type { GroupRecord, IdentifierRecord } from "./types.js";

export interface Identifier extends IdentifierRecord {
  status: number;
  details: string | undefined;
  revision: number;
  updateTime: number;
  /** A new identifier's is the shared empty ring of its capacity (memory); the registry gives it its own at its first report. */
  reports: ReportRing;
  lease: Lease | undefined;
}

export interface Group extends GroupRecord {
  readonly identifiers: Map<string, Identifier>;
  revision: number;
  /** The identifiers in list order, until one is added or removed. */
  sorted: Identifier[] | undefined;
}

const byKey = (a: { key: string }, b: { key: string }) => compareCodePoints(a.key, b.key);
const byIdentifierKey = (a: Identifier, b: Identifier) => compareCodePoints(identifierSortKey(a.key), identifierSortKey(b.key));

export class GroupStore {
  private readonly groups = new Map<string, Group>();
  private sortedGroups: Group[] | undefined;
  private identifierCount = 0;

  get groupCount(): number {
    return this.groups.size;
  }

  get totalIdentifiers(): number {
    return this.identifierCount;
  }

  get(key: string): Group | undefined {
    return this.groups.get(key);
  }

  /** The group named `name` (any case); GROUP_NOT_FOUND when there is none. */
  find(name: string): Group {
    const group = this.groups.get(foldName(name));
    if (!group) throw groupNotFound(name);
    return group;
  }

  /** The identifier named `name` (any case) of `group`; IDENTIFIER_NOT_FOUND when there is none. */
  findIdentifier(group: Group, name: string): Identifier {
    const identifier = group.identifiers.get(foldName(name));
    if (!identifier) throw identifierNotFound(group.name, name);
    return identifier;
  }

  /** The identifier with these folded names, if both still exist. */
  lookup(groupKey: string, identifierKey: string): [Group, Identifier] | undefined {
    const group = this.groups.get(groupKey);
    const identifier = group?.identifiers.get(identifierKey);
    return group && identifier ? [group, identifier] : undefined;
  }

  addGroup(group: Group): void {
    this.groups.set(group.key, group);
    this.sortedGroups = undefined;
  }

  deleteGroup(group: Group): void {
    this.groups.delete(group.key);
    this.sortedGroups = undefined;
    this.identifierCount -= group.identifiers.size;
  }

  /** Puts back a group `deleteGroup` removed, with its identifiers (a replicated registry's proposal). */
  reinstateGroup(group: Group): void {
    this.addGroup(group);
    this.identifierCount += group.identifiers.size;
  }

  addIdentifier(group: Group, identifier: Identifier): void {
    group.identifiers.set(identifier.key, identifier);
    group.sorted = undefined;
    this.identifierCount++;
  }

  deleteIdentifier(group: Group, identifier: Identifier): void {
    group.identifiers.delete(identifier.key);
    group.sorted = undefined;
    this.identifierCount--;
  }

  groupsInOrder(): readonly Group[] {
    this.sortedGroups ??= [...this.groups.values()].sort(byKey);
    return this.sortedGroups;
  }

  identifiersInOrder(key: string): readonly Identifier[] {
    const group = this.groups.get(key);
    if (!group) return [];
    group.sorted ??= [...group.identifiers.values()].sort(byIdentifierKey);
    return group.sorted;
  }
}
