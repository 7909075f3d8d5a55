/**
 * What a lease running out writes, as the server's own writes through the
 * registry's ordinary calls: each is a change like any other, built where
 * every change is built, and watchers see it.
 */
import { MAIN, foldName } from "../names.js";
import type { Registry } from "../registry/registry.js";
import type { Lease, LeaseHandlers } from "./leases.js";
import { type LeaseSettings, formatDuration } from "./rules.js";

/** An expiry and a removal are the server's own writes, named "lease" on their changes. */
const SERVER = { server: true, by: "lease" };

/** The handlers of a registry's leases; folded names find the same identifier. */
export function expiryWrites(registry: Registry, settings: LeaseSettings): LeaseHandlers {
  return {
    expired(lease: Lease) {
      const where = { group: lease.groupKey, identifier: lease.identifierKey };
      // The lease is already disarmed, so this write neither restarts it nor keeps it (without a removal pending).
      registry.setStatus({ ...where, status: settings.expiredStatus, details: settings.expiredDetails }, SERVER);
      if (registry.reportsOf(where.group, where.identifier).capacity > 0) {
        registry.addReport({ ...where, text: `lease expired after ${formatDuration(lease.ttlMs)} without SetStatus or RefreshLease` }, SERVER);
      }
    },
    removeDue(lease: Lease) {
      if (lease.identifierKey === foldName(MAIN)) registry.unregisterGroup({ group: lease.groupKey }, SERVER);
      else registry.unregisterIdentifier({ group: lease.groupKey, identifier: lease.identifierKey }, SERVER);
    },
  };
}
