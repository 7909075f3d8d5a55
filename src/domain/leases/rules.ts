/** The write rules of leases (docs/model.md, Leases) and their errors. Pure: no state. */
import { SrError, invalidArgument } from "../errors.js";
import type { Lease, LeaseWrite } from "./leases.js";

export const MIN_LEASE_MS = 1_000;
export const MAX_LEASE_MS = 30 * 24 * 60 * 60 * 1_000;

/** What the registry says when a lease runs out, unless configured (`leases:`). */
export interface LeaseSettings {
  expiredStatus: number;
  expiredDetails: string;
}

export const DEFAULT_LEASE_SETTINGS: LeaseSettings = { expiredStatus: -1, expiredDetails: "lease expired" };

/** "30 s", "1.5 s", "2 min 5 s"... for messages and the expiry report. */
export function formatDuration(ms: number): string {
  const seconds = Math.round(ms) / 1_000;
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  const rest = Math.round((seconds - minutes * 60) * 1000) / 1000;
  return rest === 0 ? `${minutes} min` : `${minutes} min ${rest} s`;
}

/** A duration field: absent, 0 (disarm or clear), or 1 s to 30 days (fractions of a millisecond included). */
function checkDuration(field: string, ms: number | undefined): void {
  if (ms === undefined || ms === 0) return;
  if (!(ms >= MIN_LEASE_MS && ms <= MAX_LEASE_MS)) {
    const got = Number.isFinite(ms) && Math.abs(ms) < 1e15 ? `${ms} ms` : String(ms);
    throw invalidArgument("DURATION_OUT_OF_RANGE", field, `must be 0 or between 1 s and 30 days (got ${got})`);
  }
}

const ttlRequired = (rule: string, facts: { group?: string; identifier?: string } = {}): SrError =>
  invalidArgument("TTL_REQUIRED", "remove_after", rule, facts);

/**
 * The lease fields of a request on their own. A registration arms only with a
 * `ttl`; a SetStatus cannot both disarm (`ttl` 0) and set a `remove_after`.
 */
export function checkLeaseArguments(write: LeaseWrite, registration: boolean): void {
  checkDuration("ttl", write.ttlMs);
  checkDuration("remove_after", write.removeAfterMs);
  if (!write.removeAfterMs) return;
  if (registration && !write.ttlMs) throw ttlRequired("needs a ttl in the same registration");
  if (write.ttlMs === 0) throw ttlRequired("cannot be set by a write whose ttl 0 disarms the lease");
}

/** A `remove_after` without a `ttl` needs the identifier's lease armed. */
export function checkLeaseState(write: LeaseWrite, current: Lease | undefined, group: string, identifier: string): void {
  if (write.removeAfterMs && write.ttlMs === undefined && !current?.armed) {
    throw ttlRequired(`identifier '${identifier}' of group '${group}' has no armed lease: give a ttl in the same write`, { group, identifier });
  }
}

export const leaseNotArmed = (group: string, identifier: string): SrError =>
  new SrError("LEASE_NOT_ARMED", `identifier '${identifier}' of group '${group}' has no armed lease (arm one with SetStatus and a ttl)`, {
    group,
    identifier,
  });
