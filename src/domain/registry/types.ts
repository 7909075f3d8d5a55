/**
 * What the registry's users see: the views it answers with, the changes it
 * emits, the inputs of its writes, and the read-only records listing walks.
 */
import type { Lease, LeaseWrite } from "../leases/leases.js";
import type { LeaseSettings } from "../leases/rules.js";
import type { Clock } from "../watch/clock.js";
import type { Storage } from "../storage/storage.js";
import type { ReadonlyReportRing, ReportEntry } from "../report-ring.js";

export interface RegistryLimits {
  /** Groups in all, internal ones included. */
  maxGroups: number;
  maxIdentifiersPerGroup: number;
  /** Identifiers over every group. */
  maxIdentifiers: number;
}

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
  /** Set while a lease is armed: as of the view's making (a refresh is not a change). */
  lease?: LeaseView;
}

/** An armed lease as readers see it. */
export interface LeaseView {
  ttlMs: number;
  /** Milliseconds since the epoch when it runs out. */
  expireTime: number;
}

export interface ChangeBase {
  revision: number;
  /** Folded group name, for filtering. */
  groupKey: string;
  /** Folded identifier name; "" when a whole group was removed. */
  identifierKey: string;
  group: string;
  identifier: string;
  /** Who wrote it (WriteOrigin.by): a token or certificate name, "anonymous", or the server's own ("server", "config", "lease"). */
  by?: string | undefined;
  /**
   * A replica's own change, never shared (its `core` in etcd mode, docs/storage.md): it
   * carries the replica's last applied revision, takes none of its own and is not kept
   * in the watch history, so a resume does not replay it.
   */
  local?: true | undefined;
}

/** What a change says beyond where it happened (see ChangeBase). */
export type ChangeDetail =
  | { kind: "registered"; status: StatusView }
  | { kind: "unregistered" }
  | {
      kind: "status";
      status: number;
      oldStatus: number;
      details: string | undefined;
      /** False for a details-only change. */
      statusChanged: boolean;
    }
  | { kind: "report"; report: ReportEntry };

/** One registry change; every change has its own revision, emitted in order. */
export type Change = ChangeBase & ChangeDetail;

export type ChangeListener = (change: Change) => void;

/** What the registry runs on beyond its limits: the monotonic clock of lease deadlines, and what an expiry writes. */
export interface RegistryOptions {
  clock?: Clock | undefined;
  leases?: LeaseSettings | undefined;
  /** Where changes are kept (docs/storage.md); in memory when unset. Its kept state is loaded as the registry is built. */
  storage?: Storage | undefined;
  /**
   * One of several replicas (etcd, docs/storage.md): a write only proposes (`propose`),
   * the registry changes by applying committed entries (`applyEntry`), internal groups
   * are the replica's own, and a lease's deadline is handed to `onLeaseDue`.
   */
  replicated?: boolean | undefined;
}

/** Where a write lands: its group and identifier ("" is `main`), or the whole group when `identifier` is absent. */
export interface WriteTarget {
  group: string;
  identifier?: string | undefined;
  /** The write to `identifier` may remove the whole group (main's lease running out with `remove_after`). */
  mayRemoveGroup?: boolean | undefined;
}

type Awaitable<T> = T | Promise<T>;

/**
 * The writes the transports call: the registry itself (answered at once), or a
 * replicated writer whose answers come once the cluster committed and this
 * replica applied the change.
 */
export interface RegistryWrites {
  registerGroup(input: RegisterGroupInput, origin?: WriteOrigin): Awaitable<{ created: boolean; revision: number }>;
  unregisterGroup(input: { group: string }, origin?: WriteOrigin): Awaitable<{ revision: number }>;
  registerIdentifier(input: RegisterIdentifierInput, origin?: WriteOrigin): Awaitable<{ created: boolean; status: StatusView; revision: number }>;
  unregisterIdentifier(input: IdentifierRef, origin?: WriteOrigin): Awaitable<{ revision: number }>;
  setStatus(input: SetStatusInput, origin?: WriteOrigin): Awaitable<{ changed: boolean; oldStatus: number; revision: number }>;
  addReport(input: IdentifierRef & { text: string }, origin?: WriteOrigin): Awaitable<{ sequence: number; revision: number }>;
  refreshLease(input: RefreshLeaseInput, origin?: WriteOrigin): Awaitable<{ lease: LeaseView | undefined; revision: number }>;
}

/** Where a write comes from: the server itself may write internal groups. */
export interface WriteOrigin {
  server?: boolean;
  /** The writer's name, carried on the change it makes (logs): a token or certificate name, "anonymous" with no auth, or the server's own. */
  by?: string | undefined;
}

/** `ttlMs` and `removeAfterMs` of a write: undefined when absent (docs/model.md, Leases). */
export interface RegisterGroupInput extends LeaseWrite {
  group: string;
  status?: number | undefined;
  details?: string | undefined;
  reportCapacity?: number | undefined;
}

export interface RegisterIdentifierInput extends RegisterGroupInput {
  identifier: string;
}

export interface SetStatusInput extends LeaseWrite {
  group: string;
  identifier: string;
  status: number;
  details?: string | undefined;
}

export interface RefreshLeaseInput {
  group: string;
  identifier: string;
  /** A new ttl; undefined keeps the lease's, 0 disarms it. */
  ttlMs?: number | undefined;
}

export interface IdentifierRef {
  group: string;
  identifier: string;
}

/** Which identifiers a snapshot covers: everything, a group, or one identifier. */
export interface Selection {
  group?: string;
  identifier?: string;
}

// ---- listings ----

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

// ---- what readers may see of the state ----

/** One identifier as readers see it; only the registry changes it. */
export interface IdentifierRecord {
  readonly name: string;
  /** The folded name. */
  readonly key: string;
  readonly status: number;
  readonly details: string | undefined;
  readonly revision: number;
  readonly updateTime: number;
  readonly reports: ReadonlyReportRing;
  /** Its lease, armed or waiting for its removal; none without one. */
  readonly lease?: Readonly<Lease> | undefined;
}

/** One group as readers see it; only the registry changes it. */
export interface GroupRecord {
  readonly name: string;
  /** The folded name. */
  readonly key: string;
  readonly internal: boolean;
  /** By folded name. */
  readonly identifiers: ReadonlyMap<string, IdentifierRecord>;
  /** Revision of the group's registration or of its last identifier removal. */
  readonly revision: number;
  readonly createTime: number;
}

/** What listing needs of the registry: its state in list order, read-only. */
export interface RegistryReader {
  readonly revision: number;
  /** Every group, in list order. */
  groupsInOrder(): readonly GroupRecord[];
  groupByKey(key: string): GroupRecord | undefined;
  /** The group's identifiers in list order: `main` first, then by folded name. */
  identifiersInOrder(group: GroupRecord): readonly IdentifierRecord[];
}
