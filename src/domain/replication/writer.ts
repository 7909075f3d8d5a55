/**
 * The writes of a replicated registry (etcd mode, docs/storage.md): each
 * write is decided by the registry's own rules against this replica's
 * applied state (`Registry.propose`), committed by the cluster on top of that
 * state, and answered once this replica has applied it (read your writes).
 * Writes queued meanwhile go together in the next commit; on a conflict
 * (another replica committed first) the replica catches up and decides
 * them again. A lease's deadline is proposed the same way, so it runs out
 * once for the cluster whichever replica's timer fires first.
 */
import { randomUUID } from "node:crypto";
import { SrError } from "../errors.js";
import type { Lease } from "../leases/leases.js";
import { MAIN } from "../names.js";
import type { Registry } from "../registry/registry.js";
import type {
  IdentifierRef,
  RefreshLeaseInput,
  RegisterGroupInput,
  RegisterIdentifierInput,
  RegistryWrites,
  SetStatusInput,
  WriteOrigin,
  WriteTarget,
} from "../registry/types.js";
import type { Entry } from "./entry.js";
import type { ReplicatedLog } from "./log.js";

/** Entries in one commit: within etcd's 128 operations per transaction (each entry takes at most 6). */
export const MAX_BATCH = 16;
/** How long a write waits for this replica to apply what the cluster committed. */
const APPLY_TIMEOUT_MS = 10_000;
/** Conflicts in a row before a write gives up (another replica keeps committing first). */
const MAX_ATTEMPTS = 50;
/** When a lease's expiry could not be committed (the engine lost), it is asked again this much later. */
const LEASE_RETRY_MS = 1_000;

interface Pending {
  target: WriteTarget;
  write: () => unknown;
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

export const storageUnavailable = (why: string): SrError => new SrError("STORAGE_UNAVAILABLE", why);

export class ReplicatedWrites implements RegistryWrites {
  private readonly queue: Pending[] = [];
  private running = false;

  constructor(
    private readonly registry: Registry,
    private readonly log: ReplicatedLog,
  ) {
    registry.onLeaseDue((lease) => this.leaseDue(lease));
  }

  registerGroup(input: RegisterGroupInput, origin: WriteOrigin = {}) {
    return this.write({ group: input.group, identifier: MAIN }, () => this.registry.registerGroup(input, origin));
  }

  unregisterGroup(input: { group: string }, origin: WriteOrigin = {}) {
    return this.write({ group: input.group }, () => this.registry.unregisterGroup(input, origin));
  }

  registerIdentifier(input: RegisterIdentifierInput, origin: WriteOrigin = {}) {
    return this.write(input, () => this.registry.registerIdentifier(input, origin));
  }

  unregisterIdentifier(input: IdentifierRef, origin: WriteOrigin = {}) {
    return this.write(input, () => this.registry.unregisterIdentifier(input, origin));
  }

  setStatus(input: SetStatusInput, origin: WriteOrigin = {}) {
    return this.write(input, () => this.registry.setStatus(input, origin));
  }

  addReport(input: IdentifierRef & { text: string }, origin: WriteOrigin = {}) {
    return this.write(input, () => this.registry.addReport(input, origin));
  }

  refreshLease(input: RefreshLeaseInput, origin: WriteOrigin = {}) {
    return this.write(input, () => this.registry.refreshLease(input, origin));
  }

  /** A lease reached its deadline here: propose its expiry (or removal); asked again later when that fails. */
  private leaseDue(lease: Lease): void {
    const target = { group: lease.groupKey, identifier: lease.identifierKey, mayRemoveGroup: lease.identifierKey === MAIN };
    this.write(target, () => this.registry.expireLease(lease)).catch(() =>
      this.registry.retryLease(lease, LEASE_RETRY_MS),
    );
  }

  private write<T>(target: WriteTarget, write: () => T): Promise<T> {
    const unavailable = this.log.unavailable;
    if (unavailable) return Promise.reject(storageUnavailable(unavailable));
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ target, write, resolve: resolve as (value: unknown) => void, reject });
      if (!this.running) {
        // Nothing may escape as an unhandled rejection (it would stop the process): a failure of the
        // writer itself answers every write still queued.
        this.run().catch((error: unknown) => rejectAll(this.queue.splice(0), storageUnavailable(`the replicated writer failed: ${(error as Error).message}`)));
      }
    });
  }

  /** Commits the queued writes, a batch at a time, until none is left. */
  private async run(): Promise<void> {
    this.running = true;
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, MAX_BATCH);
        try {
          await this.commitBatch(batch);
        } catch (error) {
          // Only a defect gets here; answered, the writes do not wait for ever (a settled promise ignores this).
          rejectAll(batch, storageUnavailable(`the replicated writer failed: ${(error as Error).message}`));
        }
      }
    } finally {
      this.running = false;
    }
  }

  private async commitBatch(batch: Pending[]): Promise<void> {
    for (let attempt = 1; batch.length > 0; attempt++) {
      const unavailable = this.log.unavailable;
      if (unavailable) return rejectAll(batch, storageUnavailable(unavailable));
      const decided = this.decide(batch);
      // What the registry left undecided (after a removal) goes in the next commit.
      this.queue.unshift(...batch.splice(decided.count));
      const entries: Entry[] = decided.outcomes.flatMap((o) => (o.entry ? [o.entry] : []));
      // A rule broken before the batch's first change is this replica's answer now; one broken on
      // top of the batch's earlier writes holds only once they are committed (else it is decided again).
      const first = decided.outcomes.findIndex((o) => o.entry !== undefined);
      const cut = first === -1 ? decided.outcomes.length : first;
      const settled = decided.outcomes.filter((o, i) => {
        if (i >= cut || o.error === undefined) return true;
        o.pending.reject(o.error);
        return false;
      });
      const settle = () => {
        for (const o of settled) {
          if (o.error === undefined) o.pending.resolve(o.result);
          else o.pending.reject(o.error);
        }
      };
      if (entries.length === 0) return settle();
      const id = randomUUID();
      let outcome;
      try {
        outcome = await this.log.commitBatch(id, entries);
      } catch (error) {
        return rejectAll(settled.map((o) => o.pending), error);
      }
      const caughtUp = await this.log.caughtUp(outcome.position, APPLY_TIMEOUT_MS);
      if (outcome.committed || (caughtUp && this.log.applied(id))) {
        if (!caughtUp) {
          return rejectAll(
            settled.map((o) => o.pending),
            storageUnavailable(`the write was committed but this replica has not applied it within ${APPLY_TIMEOUT_MS / 1000} s; other replicas may show it`),
          );
        }
        return settle();
      }
      if (!caughtUp) return rejectAll(settled.map((o) => o.pending), storageUnavailable(`this replica could not catch up with the cluster within ${APPLY_TIMEOUT_MS / 1000} s`));
      if (attempt >= MAX_ATTEMPTS) return rejectAll(settled.map((o) => o.pending), storageUnavailable(`other replicas committed first ${MAX_ATTEMPTS} times in a row`));
      // Another replica committed first: decide again on top of what it did.
      batch = settled.map((o) => o.pending);
    }
  }

  /** Decides the batch in order, each write on top of the ones before (Registry.proposeAll). */
  private decide(batch: Pending[]) {
    const { count, outcomes } = this.registry.proposeAll(batch.map((p) => ({ target: p.target, write: p.write })));
    return { count, outcomes: outcomes.map((o, i) => ({ ...o, pending: batch[i] as Pending })) };
  }
}

function rejectAll(batch: Pending[], error: unknown): void {
  for (const pending of batch) pending.reject(error);
}
