import { randomUUID } from "node:crypto";
import { expiryWrites } from "../leases/expiry.js";
import { type Lease, type LeaseHandlers, type LeaseRow, type LeaseState, Leases } from "../leases/leases.js";
import { DEFAULT_LEASE_SETTINGS, checkLeaseArguments, checkLeaseState, leaseNotArmed } from "../leases/rules.js";
import { MAIN, checkName, checkText, foldName } from "../names.js";
import { ReportRing, type RingState } from "../report-ring.js";
import type { Entry, GroupRow, IdentifierRow } from "../replication/entry.js";
import { type Clock, systemClock } from "../watch/clock.js";
import { IN_MEMORY, type Storage, type StoredState, leaseSignature, storedLease } from "../storage/storage.js";
import { SrError } from "../errors.js";
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
import { RegistryReads } from "./reads.js";
import type { Group, Identifier } from "./store.js";
import type {
  ChangeBase,
  ChangeDetail,
  Change,
  ChangeListener,
  IdentifierRef,
  LeaseView,
  RefreshLeaseInput,
  RegisterGroupInput,
  RegisterIdentifierInput,
  RegistryLimits,
  RegistryOptions,
  RegistryWrites,
  SetStatusInput,
  StatusView,
  WriteOrigin,
  WriteTarget,
} from "./types.js";
import { statusView } from "./views.js";

// What the other modules import from here, wherever it now lives.
export * from "./types.js";
export { DEFAULT_LIMITS } from "./rules.js";

/** One write decided by `proposeAll`: its answer and entry, or the rule it broke. */
export interface Proposed<T> {
  result: T | undefined;
  entry: Entry | undefined;
  error?: unknown;
}

const leaseOwner = (group: Group, identifier: Identifier) => ({ groupKey: group.key, identifierKey: identifier.key });

/** An identifier as a proposal found it, to put it back. */
interface IdentifierImage {
  ref: Identifier;
  status: number;
  details: string | undefined;
  revision: number;
  updateTime: number;
  reports: ReportRing;
  /** Undefined for a shared empty ring, which nothing writes. */
  ring: RingState | undefined;
  lease: Lease | undefined;
  leaseState: LeaseState | undefined;
}

/** What a proposal may change, as it was before (a replicated registry puts it back). */
interface Images {
  groupKey: string;
  /** Undefined for a write to the whole group. */
  identifierKey: string | undefined;
  group: Group | undefined;
  groupRevision: number;
  /** The identifier written, or every identifier of the group for a write to the whole group. */
  identifiers: IdentifierImage[];
  base: number;
  expirations: number;
}

const groupRow = (group: Group): GroupRow => ({ name: group.name, internal: group.internal, revision: group.revision, createTime: group.createTime });

/** What a restart keeps of the lease (storedLease), with its wall-clock deadline for the other replicas. */
const leaseRow = (identifier: Identifier): LeaseRow | undefined => {
  const kept = storedLease(identifier);
  return kept && { ...kept, expireTime: (identifier.lease as Lease).expireTime };
};

const identifierRow = (identifier: Identifier): IdentifierRow => ({
  name: identifier.name,
  status: identifier.status,
  details: identifier.details,
  revision: identifier.revision,
  updateTime: identifier.updateTime,
  capacity: identifier.reports.capacity,
  nextSequence: identifier.reports.added + 1,
  lease: leaseRow(identifier),
});

const sameLease = (lease: Lease | undefined, row: LeaseRow): boolean =>
  lease !== undefined &&
  lease.armed === row.armed &&
  lease.ttlMs === row.ttlMs &&
  lease.removeAfterMs === row.removeAfterMs &&
  lease.expireTime === row.expireTime;

/** Did a write restart the identifier's lease or change it (`before`: its state before the write)? */
function leaseMoved(before: LeaseState | undefined, after: Lease | undefined): boolean {
  if (!before || !after) return before !== undefined || after !== undefined;
  return before.deadline !== after.deadline || before.armed !== after.armed || before.ttlMs !== after.ttlMs || before.removeAfterMs !== after.removeAfterMs;
}

/**
 * The Status/Report registry: groups of identifiers with a status, details, a
 * report ring and a lease, and one revision counter. Plain synchronous
 * TypeScript: every call validates everything before it changes anything, and
 * listeners hear of a change only once the state is consistent again. Listing
 * reads it through RegistryReader (listing/); lease deadlines come back as
 * changes made here like any other.
 */
export class Registry extends RegistryReads implements RegistryWrites {
  private readonly listeners = new Set<ChangeListener>();
  private readonly leases: Leases;
  /** Where changes are kept (docs/storage.md): in memory by default. */
  private readonly storage: Storage;
  /** Set once a commit (or a lease's save) failed: every later write is STORAGE_UNAVAILABLE. */
  private storageFailure: SrError | undefined;
  /** The kept watch history, until the hub takes it. */
  private restoredHistory: Change[] = [];
  /** One of several replicas (etcd): writes propose, committed entries apply. */
  private readonly replicated: boolean;
  /** The changes of the proposal being decided, while one is. */
  private proposal: Change[] | undefined;
  /** A replicated registry's handler of lease deadlines (the replicated writer). */
  private leaseDue: ((lease: Lease) => void) | undefined;
  private readonly leaseWrites: LeaseHandlers;
  private readonly clock: Clock;
  private localCount = 0;
  /**
   * Names this registry instance: revisions only mean something within one
   * registry, so a resuming watcher checks it still talks to the same one.
   * A durable registry keeps its id across restarts.
   */
  readonly id: string;

  constructor(
    readonly limits: RegistryLimits = DEFAULT_LIMITS,
    private readonly now: () => number = Date.now,
    options: RegistryOptions = {},
  ) {
    super();
    this.storage = options.storage ?? IN_MEMORY;
    this.replicated = options.replicated ?? false;
    this.clock = options.clock ?? systemClock;
    const writes = expiryWrites(this, options.leases ?? DEFAULT_LEASE_SETTINGS);
    this.leaseWrites = writes;
    // A lease that ran out is kept as such even when its expiry writes nothing new; once the storage
    // failed, the timer's writes are refused like any other (and must not throw out of the timer).
    const handlers: LeaseHandlers = this.replicated
      ? { ...writes, due: (lease) => this.leaseDue?.(lease) }
      : !this.storage.durable
      ? writes
      : {
          expired: (lease) =>
            this.unlessStorageFailed(() => {
              writes.expired(lease);
              this.keepLease(lease.groupKey, lease.identifierKey);
            }),
          removeDue: (lease) => this.unlessStorageFailed(() => writes.removeDue(lease)),
        };
    this.leases = new Leases(handlers, this.clock, now);
    const stored = this.storage.load();
    this.id = stored?.registryId ?? randomUUID();
    if (stored) this.restore(stored);
  }

  /**
   * The kept watch history (oldest first, ending at `revision`), handed over
   * once: the hub built on this registry starts its history with it, so a
   * watcher resumes across a restart. Empty in memory.
   */
  takeRestoredHistory(): Change[] {
    const history = this.restoredHistory;
    this.restoredHistory = [];
    return history;
  }

  /** Leases armed or waiting for their removal (for tests and metrics). */
  get scheduledLeases(): number {
    return this.leases.scheduled;
  }

  /** Leases that ran out since this registry started (for metrics). */
  get leaseExpirations(): number {
    return this.leases.expirations;
  }

  /** Local changes made so far (a replica's own `core`): they change the state without a revision. */
  get localChanges(): number {
    return this.localCount;
  }

  /** Listens to every change, in revision order; returns the unsubscriber. */
  onChange(listener: ChangeListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** How many listeners hear the changes (for the server's own counts). */
  get listenerCount(): number {
    return this.listeners.size;
  }

  /** Stops the lease timer as the server stops (it stays stopped unless a write arms a lease again). */
  close(): void {
    this.leases.close();
  }

  // ---- replication (etcd, docs/storage.md) ----

  /**
   * Decides writes without keeping them: runs each `write` (one of this
   * registry's writes, with every rule) in order, each on top of the ones
   * before, takes the changes it makes and the records it leaves, and then
   * puts everything back as it was, before anything else runs: no reader,
   * listener or answer sees them. Each entry (none when a write changed
   * nothing, its lease included) is what the cluster commits and every replica
   * then applies with `applyEntry`; `result` is the write's answer once applied
   * here, `error` the rule it broke. Stops after a write that removed a group
   * or an identifier (`count` says how many were decided): what follows goes
   * in another commit.
   */
  proposeAll<T>(writes: readonly { target: WriteTarget; write: () => T }[]): { count: number; outcomes: Proposed<T>[] } {
    if (this.proposal) throw new Error("registry: proposals do not nest");
    const taken: Images[] = [];
    const outcomes: Proposed<T>[] = [];
    try {
      for (const { target, write } of writes) {
        const images = this.capture(target);
        const changes: Change[] = [];
        this.proposal = changes;
        try {
          const result = write();
          this.proposal = undefined;
          const entry = this.entryOf(images, changes);
          taken.push(images);
          outcomes.push({ result, entry });
          if (entry && (entry.group === null || entry.identifier === null)) break;
        } catch (error) {
          this.proposal = undefined;
          this.putBack(images);
          outcomes.push({ result: undefined, entry: undefined, error });
        }
      }
    } finally {
      this.proposal = undefined;
      for (let i = taken.length - 1; i >= 0; i--) this.putBack(taken[i] as Images);
    }
    return { count: outcomes.length, outcomes };
  }

  /**
   * Applies a committed entry (this replica's or another's), in commit order:
   * installs the records it carries, re-arms a lease it restarted (for its full
   * ttl from now, never early), then tells the listeners of its changes.
   */
  applyEntry(entry: Entry): void {
    if (entry.base !== this.currentRevision) {
      throw new Error(`registry: an entry decided at revision ${entry.base} cannot apply at revision ${this.currentRevision}`);
    }
    let group = this.store.get(entry.groupKey);
    if (entry.group === null) {
      if (group) this.dropGroup(group);
      group = undefined;
    } else if (!group) {
      group = { ...entry.group, key: entry.groupKey, identifiers: new Map(), sorted: undefined };
      this.store.addGroup(group);
    } else {
      group.revision = entry.group.revision;
    }
    if (group && entry.identifierKey !== undefined && entry.identifier !== undefined) this.install(group, entry.identifierKey, entry.identifier, entry);
    if (entry.expired) this.leases.setExpirations(this.leases.expirations + entry.expired);
    for (const change of entry.changes) {
      this.currentRevision = change.revision;
      for (const listener of this.listeners) listener(change);
    }
  }

  /** Who handles a lease's deadline in a replicated registry (the replicated writer proposes the expiry). */
  onLeaseDue(handler: (lease: Lease) => void): void {
    this.leaseDue = handler;
  }

  /** Asks again after `delayMs` for a lease whose expiry could not be committed yet. */
  retryLease(lease: Lease, delayMs: number): void {
    const found = this.store.lookup(lease.groupKey, lease.identifierKey);
    if (found?.[1].lease === lease) this.leases.retry(lease, delayMs);
  }

  /**
   * A lease's deadline passed (a replicated registry, within a proposal): runs it
   * out, or removes its identifier once its `remove_after` passed too, unless a
   * committed write replaced or restarted it meanwhile.
   */
  expireLease(lease: Lease): void {
    const found = this.store.lookup(lease.groupKey, lease.identifierKey);
    if (found?.[1].lease !== lease || lease.deadline > this.clock.now()) return;
    if (lease.armed) {
      this.leases.expire(lease);
      this.leaseWrites.expired(lease);
    } else if (lease.removeAfterMs !== undefined) {
      this.leaseWrites.removeDue(lease);
    }
  }

  private capture(target: WriteTarget): Images {
    const groupKey = foldName(target.group);
    // "" names main, as in every write (writeIdentifierName).
    const identifierKey = target.identifier === undefined ? undefined : foldName(target.identifier === "" ? MAIN : target.identifier);
    const group = this.store.get(groupKey);
    // A write that may remove the group (and drop every lease in it) images every identifier, the written one first.
    const whole = identifierKey === undefined || target.mayRemoveGroup === true;
    const first = identifierKey === undefined ? undefined : group?.identifiers.get(identifierKey);
    const written = whole ? [first, ...[...(group?.identifiers.values() ?? [])].filter((i) => i !== first)] : [first];
    const identifiers: IdentifierImage[] = [];
    for (const ref of written) {
      if (!ref) continue;
      identifiers.push({
        ref,
        status: ref.status,
        details: ref.details,
        revision: ref.revision,
        updateTime: ref.updateTime,
        reports: ref.reports,
        ring: ref.reports.shared ? undefined : ref.reports.save(),
        lease: ref.lease,
        leaseState: ref.lease && this.leases.stateOf(ref.lease),
      });
    }
    return { groupKey, identifierKey, group, groupRevision: group?.revision ?? 0, identifiers, base: this.currentRevision, expirations: this.leases.expirations };
  }

  /** Puts back what a proposal changed, exactly as `capture` found it. */
  private putBack(images: Images): void {
    const current = this.store.get(images.groupKey);
    const group = images.group;
    if (!group) {
      if (current) this.dropGroup(current);
    } else {
      if (current !== group) this.store.reinstateGroup(group);
      group.revision = images.groupRevision;
      // The written identifier, when the write created it.
      const key = images.identifierKey;
      const added = key === undefined || images.identifiers.some((image) => image.ref.key === key) ? undefined : group.identifiers.get(key);
      if (added) {
        if (added.lease) this.leases.drop(added.lease);
        this.store.deleteIdentifier(group, added);
      }
      for (const image of images.identifiers) {
        const identifier = image.ref;
        if (group.identifiers.get(identifier.key) !== identifier) this.store.addIdentifier(group, identifier);
        identifier.status = image.status;
        identifier.details = image.details;
        identifier.revision = image.revision;
        identifier.updateTime = image.updateTime;
        identifier.reports = image.reports;
        if (image.ring) image.reports.rollback(image.ring);
        if (identifier.lease && identifier.lease !== image.lease) this.leases.drop(identifier.lease);
        identifier.lease = image.lease;
        if (image.lease && image.leaseState) this.leases.reinstate(image.lease, image.leaseState);
      }
    }
    this.currentRevision = images.base;
    this.leases.setExpirations(images.expirations);
  }

  /** What a proposal commits: its changes and the records it leaves; undefined when it changed nothing. */
  private entryOf(images: Images, changes: Change[]): Entry | undefined {
    const group = this.store.get(images.groupKey);
    // Leases the write ran out: every replica counts them as it applies the entry (sr_lease_expirations_total).
    const expired = this.leases.expirations - images.expirations;
    const base = { base: images.base, changes, groupKey: images.groupKey, group: group ? groupRow(group) : null, ...(expired > 0 ? { expired } : {}) };
    if (images.identifierKey === undefined) return changes.length === 0 ? undefined : { ...base, leaseRearmed: false };
    const identifier = group?.identifiers.get(images.identifierKey);
    const before = images.identifiers[0];
    const leaseRearmed = identifier !== undefined && leaseMoved(before?.ref === identifier ? before.leaseState : undefined, identifier.lease);
    if (changes.length === 0 && !leaseRearmed) return undefined;
    return { ...base, identifierKey: images.identifierKey, identifier: identifier ? identifierRow(identifier) : null, leaseRearmed };
  }

  /** Installs one identifier as a committed entry leaves it. */
  private install(group: Group, key: string, row: IdentifierRow | null, entry: Entry): void {
    let identifier = group.identifiers.get(key);
    if (row === null) {
      if (identifier) {
        if (identifier.lease) this.leases.drop(identifier.lease);
        this.store.deleteIdentifier(group, identifier);
      }
      return;
    }
    if (!identifier) {
      const { name, status, details, revision, updateTime } = row;
      identifier = { name, key, status, details, revision, updateTime, reports: ReportRing.empty(row.capacity), lease: undefined };
      this.store.addIdentifier(group, identifier);
    }
    identifier.status = row.status;
    identifier.details = row.details;
    identifier.revision = row.revision;
    identifier.updateTime = row.updateTime;
    for (const change of entry.changes) if (change.kind === "report" && change.identifierKey === key) this.writableRing(identifier).insert(change.report);
    if (!row.lease) {
      if (identifier.lease) this.leases.drop(identifier.lease);
      identifier.lease = undefined;
    } else if (entry.leaseRearmed || !sameLease(identifier.lease, row.lease)) {
      identifier.lease = this.leases.install(identifier.lease, leaseOwner(group, identifier), row.lease);
    }
  }

  /** Removes a group with its identifiers, their leases forgotten. */
  private dropGroup(group: Group): void {
    for (const identifier of group.identifiers.values()) if (identifier.lease) this.leases.drop(identifier.lease);
    this.store.deleteGroup(group);
  }

  // ---- writes ----

  /** Creates an internal (server-owned, read-only over the API) group with its `main`. */
  registerInternalGroup(input: RegisterGroupInput): void {
    this.createGroup(input, true, "server");
  }

  registerGroup(input: RegisterGroupInput, origin: WriteOrigin = {}): { created: boolean; revision: number } {
    checkName("group", input.group, "group");
    checkRegistration(input);
    const existing = this.store.get(foldName(input.group));
    if (existing?.internal && !origin.server) throw internalGroupDenied(existing.name);
    if (existing) {
      const main = existing.identifiers.get(MAIN);
      if (input.reportCapacity !== undefined && main && main.reports.capacity !== input.reportCapacity) {
        throw capacityMismatch(`group '${existing.name}'`, main.reports.capacity, input.reportCapacity, { group: existing.name });
      }
      return { created: false, revision: this.currentRevision };
    }
    return { created: true, revision: this.createGroup(input, false, origin.by) };
  }

  unregisterGroup(input: { group: string }, origin: WriteOrigin = {}): { revision: number } {
    checkName("group", input.group, "group");
    return { revision: this.removeGroup(this.writableGroup(input.group, origin), origin.by) };
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
    checkIdentifierRoom(this.limits, group.name, group.identifiers.size, this.store.totalIdentifiers);
    const { status, revision } = this.change(group, (revision) => {
      const identifier = this.addIdentifier(group, name, input, revision);
      return [identifier, { kind: "registered", status: statusView(group, identifier) }];
    }, origin.by);
    return { created: true, status, revision };
  }

  unregisterIdentifier(input: IdentifierRef, origin: WriteOrigin = {}): { revision: number } {
    checkName("group", input.group, "group");
    const name = writeIdentifierName(input.identifier);
    return { revision: this.removeIdentifier(...this.writableIdentifier(input.group, name, origin), origin.by) };
  }

  /** Sets status and details; restarts an armed lease even when nothing changes (docs/model.md, Leases). */
  setStatus(input: SetStatusInput, origin: WriteOrigin = {}): { changed: boolean; oldStatus: number; revision: number } {
    checkName("group", input.group, "group");
    const name = writeIdentifierName(input.identifier);
    checkStatusValue("status", input.status);
    if (input.details !== undefined) checkText("details", input.details);
    checkLeaseArguments(input, false);
    const [group, identifier] = this.writableIdentifier(input.group, name, origin);
    this.checkStorage();
    const lease = this.storage.durable ? leaseSignature(identifier) : "";
    if (!group.internal) {
      checkLeaseState(input, identifier.lease, group.name, identifier.name);
      identifier.lease = this.leases.write(identifier.lease, leaseOwner(group, identifier), input);
    }
    const before = this.currentRevision;
    const result = this.writeStatus(group, identifier, input.status, input.details, origin.by);
    // A new ttl without a change is kept all the same (no revision): a restart re-arms what was last asked for.
    if (this.storage.durable && result.revision === before && leaseSignature(identifier) !== lease) this.saveLease(group, identifier);
    return result;
  }

  /** Restarts an armed lease (with a new ttl when given; 0 disarms it) without a change. */
  refreshLease(input: RefreshLeaseInput, origin: WriteOrigin = {}): { lease: LeaseView | undefined; revision: number } {
    checkName("group", input.group, "group");
    const name = writeIdentifierName(input.identifier);
    checkLeaseArguments({ ttlMs: input.ttlMs }, false);
    const [group, identifier] = this.writableIdentifier(input.group, name, origin);
    if (!identifier.lease?.armed) throw leaseNotArmed(group.name, identifier.name);
    this.checkStorage();
    const lease = this.storage.durable ? leaseSignature(identifier) : "";
    identifier.lease = this.leases.write(identifier.lease, leaseOwner(group, identifier), { ttlMs: input.ttlMs });
    if (this.storage.durable && leaseSignature(identifier) !== lease) this.saveLease(group, identifier);
    return { lease: statusView(group, identifier).lease, revision: this.currentRevision };
  }

  addReport(input: IdentifierRef & { text: string }, origin: WriteOrigin = {}): { sequence: number; revision: number } {
    checkName("group", input.group, "group");
    const name = writeIdentifierName(input.identifier);
    checkText("text", input.text);
    const [group, identifier] = this.writableIdentifier(input.group, name, origin);
    if (identifier.reports.capacity === 0) throw reportsDisabled(group.name, identifier.name);
    return this.appendReport(group, identifier, input.text, origin.by);
  }

  // ---- internals ----

  /**
   * The one place a change is made: takes the next revision, lets `apply`
   * bring the state to it (returning the identifier concerned, none for a
   * whole group, and what changed), then tells the listeners. `by` names the writer (WriteOrigin.by).
   */
  private change<D extends ChangeDetail>(group: Group, apply: (revision: number) => [Identifier | undefined, D], by?: string): ChangeBase & D {
    this.checkStorage();
    // A replica's internal groups are its own: changed here at once, with the last applied revision.
    const local = this.replicated && group.internal;
    if (this.replicated && !local && !this.proposal) throw new Error("registry: a replicated registry writes only through propose()");
    const revision = local ? this.currentRevision : ++this.currentRevision;
    const [identifier, detail] = apply(revision);
    const change = {
      revision,
      groupKey: group.key,
      identifierKey: identifier?.key ?? "",
      group: group.name,
      identifier: identifier?.name ?? "",
      by,
      ...detail,
    } as ChangeBase & D;
    if (local) change.local = true;
    if (this.proposal && !local) {
      // Decided, not kept: the cluster commits it and every replica applies it (applyEntry).
      this.proposal.push(change);
      return change;
    }
    if (local) this.localCount++;
    // Kept before anyone hears of it: the answer and every watcher come after the commit.
    if (!local) {
      try {
        this.storage.commit(change, group, identifier);
      } catch (error) {
        throw this.storageFailed(error);
      }
    }
    for (const listener of this.listeners) listener(change);
    return change;
  }

  /** Notes that the storage failed: this write and every later one are STORAGE_UNAVAILABLE. */
  private storageFailed(error: unknown): SrError {
    this.storageFailure = new SrError(
      "STORAGE_UNAVAILABLE",
      `the storage failed, so this server takes no more writes until it is restarted: ${(error as Error).message}`,
    );
    return this.storageFailure;
  }

  /** Keeps a lease changed without a change; a failure is the storage's, as a commit's is. */
  private saveLease(group: Group, identifier: Identifier): void {
    try {
      this.storage.saveLease(group, identifier);
    } catch (error) {
      throw this.storageFailed(error);
    }
  }

  /** Refuses a write once a commit has failed (the state held may be ahead of what is kept). */
  private checkStorage(): void {
    if (this.storageFailure) throw this.storageFailure;
  }

  /** Runs a write of the server's own; a refusal because the storage failed is the end of it. */
  private unlessStorageFailed(write: () => void): void {
    try {
      write();
    } catch (error) {
      if (error !== this.storageFailure) throw error;
    }
  }

  /** Keeps a lease that changed without a change (it ran out with nothing to write, or its write committed nothing). */
  private keepLease(groupKey: string, identifierKey: string): void {
    const found = this.store.lookup(groupKey, identifierKey);
    if (found && !this.storageFailure) this.saveLease(...found);
  }

  /** Brings the empty registry to the kept state: groups, identifiers, reports, leases re-armed in full, the revision. */
  private restore(stored: StoredState): void {
    for (const kept of stored.groups) {
      const group: Group = {
        name: kept.name,
        key: foldName(kept.name),
        internal: kept.internal,
        identifiers: new Map(),
        revision: kept.revision,
        createTime: kept.createTime,
        sorted: undefined,
      };
      this.store.addGroup(group);
      for (const row of kept.identifiers) {
        const identifier: Identifier = {
          name: row.name,
          key: foldName(row.name),
          status: row.status,
          details: row.details,
          revision: row.revision,
          updateTime: row.updateTime,
          reports: ReportRing.restore(row.capacity, row.reports, row.nextSequence),
          lease: undefined,
        };
        if (row.lease && !group.internal) identifier.lease = this.leases.restore(leaseOwner(group, identifier), row.lease);
        this.store.addIdentifier(group, identifier);
      }
    }
    this.currentRevision = stored.revision;
    this.restoredHistory = stored.history;
  }

  /** Returns the revision of the group's registration. */
  private createGroup(input: RegisterGroupInput, internal: boolean, by: string | undefined): number {
    checkGroupRoom(this.limits, this.store.groupCount, this.store.totalIdentifiers);
    const key = foldName(input.group);
    const group: Group = { name: input.group, key, internal, identifiers: new Map(), revision: 0, createTime: this.now(), sorted: undefined };
    return this.change(group, (revision) => {
      group.revision = revision;
      this.store.addGroup(group);
      const main = this.addIdentifier(group, MAIN, input, revision);
      return [main, { kind: "registered", status: statusView(group, main) }];
    }, by).revision;
  }

  /** A new identifier, its lease armed when the registration has a ttl (internal groups have none). */
  private addIdentifier(group: Group, name: string, input: RegisterGroupInput, revision: number): Identifier {
    const identifier: Identifier = {
      name,
      key: foldName(name),
      status: input.status ?? DEFAULT_STATUS,
      details: input.details,
      revision,
      updateTime: this.now(),
      reports: ReportRing.empty(input.reportCapacity ?? DEFAULT_REPORT_CAPACITY),
      lease: undefined,
    };
    if (!group.internal) identifier.lease = this.leases.write(undefined, leaseOwner(group, identifier), input);
    this.store.addIdentifier(group, identifier);
    return identifier;
  }

  private removeGroup(group: Group, by: string | undefined): number {
    for (const identifier of group.identifiers.values()) if (identifier.lease) this.leases.drop(identifier.lease);
    return this.change(group, () => {
      this.store.deleteGroup(group);
      return [undefined, { kind: "unregistered" }];
    }, by).revision;
  }

  private removeIdentifier(group: Group, identifier: Identifier, by: string | undefined): number {
    if (identifier.lease) this.leases.drop(identifier.lease);
    return this.change(group, (revision) => {
      this.store.deleteIdentifier(group, identifier);
      group.revision = revision;
      return [identifier, { kind: "unregistered" }];
    }, by).revision;
  }

  /** A status and details write; no change (and no revision) when both are as they were. */
  private writeStatus(group: Group, identifier: Identifier, status: number, details: string | undefined, by: string | undefined) {
    const oldStatus = identifier.status;
    const statusChanged = oldStatus !== status;
    if (!statusChanged && identifier.details === details) return { changed: false, oldStatus, revision: this.currentRevision };
    const { revision } = this.change(group, (revision) => {
      identifier.status = status;
      identifier.details = details;
      identifier.revision = revision;
      identifier.updateTime = this.now();
      return [identifier, { kind: "status", status, oldStatus, details, statusChanged }];
    }, by);
    return { changed: statusChanged, oldStatus, revision };
  }

  private appendReport(group: Group, identifier: Identifier, text: string, by: string | undefined): { sequence: number; revision: number } {
    const { report, revision } = this.change(group, (revision) => {
      identifier.revision = revision;
      return [identifier, { kind: "report", report: this.writableRing(identifier).add(text, this.now()) }];
    }, by);
    return { sequence: report.sequence, revision };
  }

  /** The ring a report goes to: the identifier's own, taken at its first report (until then it shares the empty ring). */
  private writableRing(identifier: Identifier): ReportRing {
    identifier.reports = ReportRing.writable(identifier.reports);
    return identifier.reports;
  }

  private writableGroup(name: string, origin: WriteOrigin): Group {
    const group = this.store.find(name);
    if (group.internal && !origin.server) throw internalGroupDenied(group.name);
    return group;
  }

  /** The identifier a write names (its name checked), in a group `origin` may write. */
  private writableIdentifier(groupName: string, name: string, origin: WriteOrigin): [Group, Identifier] {
    const group = this.writableGroup(groupName, origin);
    return [group, this.store.findIdentifier(group, name)];
  }
}
