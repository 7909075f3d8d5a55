/**
 * What replicas exchange (docs/storage.md, etcd): one write's outcome, decided
 * by the registry's rules on the replica that took it and applied by every
 * replica in the order the cluster committed it. Plain JSON: the etcd adapter
 * stores it as it is.
 */
import type { LeaseRow } from "../leases/leases.js";
import type { Change } from "../registry/types.js";
import type { StoredIdentifier } from "../storage/storage.js";

/** A group as replicas install it. */
export interface GroupRow {
  name: string;
  internal: boolean;
  revision: number;
  createTime: number;
}

/**
 * An identifier as replicas install it: what a restart keeps of it, its reports
 * aside (they come with the report changes) and its lease with its deadline.
 */
export interface IdentifierRow extends Omit<StoredIdentifier, "reports" | "lease"> {
  lease: LeaseRow | undefined;
}

/**
 * One write's outcome: the changes it made (revisions `base + 1` on, none for a
 * lease refresh) and the records it touched as they are after it.
 */
export interface Entry {
  /** The revision the write was decided at: it applies only on top of it. */
  base: number;
  changes: Change[];
  /** Folded name of the group written, and its record after (null: removed). */
  groupKey: string;
  group: GroupRow | null;
  /** Folded name of the identifier written; absent when the write was to the whole group. */
  identifierKey?: string;
  /** The identifier after (null: removed). */
  identifier?: IdentifierRow | null;
  /** The write restarted the identifier's lease or changed its settings: every replica re-arms it. */
  leaseRearmed: boolean;
  /** Leases the write ran out (an expiry), which every replica counts. */
  expired?: number;
}

/** The revision an entry leaves the registry at. */
export const entryRevision = (entry: Entry): number => entry.base + entry.changes.length;
