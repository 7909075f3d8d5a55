/**
 * Where the registry's changes are ordered and kept (docs/storage.md). The
 * registry's rules are one implementation; a mode differs only in the Storage
 * it runs on:
 * - in memory (the default): `IN_MEMORY`, which keeps nothing and costs nothing;
 * - `--data-dir`: SQLite (src/storage/sqlite/), every change committed before
 *   it is acknowledged or seen by a watcher, the state loaded back at start.
 *
 * Plain TypeScript: no engine is imported here. Everything a Storage is given
 * or gives back is plain data (JSON-able), so the same shapes can be the values
 * of another engine (etcd, docs/storage.md) without this file being torn up.
 */
import type { Change, GroupRecord, IdentifierRecord } from "../registry/types.js";
import type { ReportEntry } from "../report-ring.js";
import type { Replication } from "../replication/log.js";

/**
 * A lease as kept: its settings and whether it was armed. Deadlines are not
 * kept: a durable registry re-arms every armed lease for its full `ttl` when
 * the process starts (docs/storage.md), and a lease that ran out waits its full
 * `remove_after` again before its identifier is removed (never early).
 */
export interface StoredLease {
  ttlMs: number;
  removeAfterMs: number | undefined;
  /** False: it ran out and only waits for its removal. */
  armed: boolean;
}

/** One identifier as kept, with everything a restart needs. */
export interface StoredIdentifier {
  name: string;
  status: number;
  details: string | undefined;
  revision: number;
  /** Milliseconds since the epoch of the last status or details change. */
  updateTime: number;
  capacity: number;
  /** Oldest first, at most `capacity`. */
  reports: ReportEntry[];
  /** The sequence the next report takes (1 for an identifier that never had one). */
  nextSequence: number;
  lease: StoredLease | undefined;
}

/** One group as kept. */
export interface StoredGroup {
  name: string;
  internal: boolean;
  /** Revision of the group's registration or of its last identifier removal. */
  revision: number;
  createTime: number;
  identifiers: StoredIdentifier[];
}

/** What a Storage hands back at start: the registry as its last committed change left it. */
export interface StoredState {
  /** The registry id (`sr-registry-id`): revisions only mean something within one registry. */
  registryId: string;
  /** The revision of the last committed change (0 for a new registry). */
  revision: number;
  groups: StoredGroup[];
  /**
   * The last changes (the watch history), oldest first, one revision apart,
   * the last at `revision`: a watcher resumes across the restart from any of
   * them. Empty for a new registry.
   */
  history: Change[];
}

/**
 * The registry's storage. Every call is synchronous and made from the
 * registry's one place of change (registry.ts, `change()`), in revision order.
 */
export interface Storage {
  /** True when something is kept: the registry does the bookkeeping `saveLease` needs only then. */
  readonly durable: boolean;
  /**
   * The kept state, read once as the registry is built (before any write);
   * undefined when nothing is kept (in memory): the registry starts empty
   * with a fresh id.
   */
  load(): StoredState | undefined;
  /**
   * Commits one change with the resulting state of what it touched: `group`
   * (its record after the change, or as it was when the change removed it)
   * and `identifier` (likewise; undefined when a whole group was removed).
   * The state is already at `change.revision`; the commit must hold, when
   * this returns, against a crash of the process, and happen only on top of
   * `change.revision - 1` (a conditional commit: anything else is a conflict
   * and throws). Throws when the change could not be committed; the registry
   * then refuses every later write (STORAGE_UNAVAILABLE) and no watcher
   * hears of the change.
   */
  commit(change: Change, group: GroupRecord, identifier: IdentifierRecord | undefined): void;
  /**
   * The lease settings of `identifier` changed without a change (a SetStatus
   * that changed nothing but gave a new ttl, RefreshLease with a ttl, a lease
   * running out with nothing else to write): no revision, kept all the same
   * so that a restart re-arms what was last asked for.
   */
  saveLease(group: GroupRecord, identifier: IdentifierRecord): void;
  /** Releases the engine (the server stopped); nothing is called after. */
  close(): void;
  /**
   * Set when the registry is one of several replicas (etcd): writes then go
   * through the replicated writer and this log instead of `commit`.
   */
  readonly replication?: Replication | undefined;
}

/** The in-memory default: keeps nothing, so a restart starts an empty registry with a new id. */
export const IN_MEMORY: Storage = {
  durable: false,
  load: () => undefined,
  commit: () => {},
  saveLease: () => {},
  close: () => {},
};

/** What is kept of an identifier's lease (undefined when it has none). */
export function storedLease(identifier: IdentifierRecord): StoredLease | undefined {
  const lease = identifier.lease;
  return lease ? { ttlMs: lease.ttlMs, removeAfterMs: lease.removeAfterMs, armed: lease.armed } : undefined;
}

/** A short key of what is kept of a lease, to tell whether a write changed it. */
export function leaseSignature(identifier: IdentifierRecord): string {
  const lease = identifier.lease;
  return lease ? `${lease.ttlMs}/${lease.removeAfterMs ?? ""}/${lease.armed ? 1 : 0}` : "";
}
