/** remove_after on a fake clock: an identifier (or, for `main`, its group) not armed again in time is unregistered. */
import { describe, expect, it } from "vitest";
import { thrown } from "../helpers/errors.js";
import { SECOND, leased } from "./leases-setup.js";

describe("remove_after", () => {
  it("unregisters an identifier not armed again within remove_after of its lease running out", () => {
    const { r, clock, newChanges, status } = leased();
    r.registerGroup({ group: "g" });
    r.registerIdentifier({ group: "g", identifier: "worker", ttlMs: 2 * SECOND, removeAfterMs: 3 * SECOND });
    newChanges();
    clock.advance(2 * SECOND);
    expect(newChanges().map((c) => c[0])).toEqual(["status", "report"]);
    // Expired and waiting: no lease shown, so nothing to refresh.
    expect(status("g", "worker").lease).toBeUndefined();
    expect(thrown(() => r.refreshLease({ group: "g", identifier: "worker" })).reason).toBe("LEASE_NOT_ARMED");
    // A SetStatus without a ttl does not arm it again.
    r.setStatus({ group: "g", identifier: "worker", status: 5 });
    newChanges();
    clock.advance(3 * SECOND - 1);
    expect(newChanges()).toEqual([]);
    clock.advance(1);
    expect(newChanges()).toEqual([["unregistered", "g", "worker"]]);
    expect(thrown(() => r.getStatus({ group: "g", identifier: "worker" })).reason).toBe("IDENTIFIER_NOT_FOUND");
    expect(status("g").status).toBe(1);
    expect(r.scheduledLeases).toBe(0);
  });

  it("for main, unregisters the whole group, which then reads GROUP_NOT_FOUND", () => {
    const { r, clock, newChanges } = leased();
    r.registerGroup({ group: "Billing", ttlMs: 10 * SECOND, removeAfterMs: 60 * SECOND });
    r.registerIdentifier({ group: "billing", identifier: "db" });
    newChanges();
    clock.advance(70 * SECOND);
    expect(newChanges()).toEqual([
      ["status", "main", -1, "lease expired"],
      ["report", "main", "lease expired after 10 s without SetStatus or RefreshLease"],
      ["unregistered", "Billing", ""],
    ]);
    expect(thrown(() => r.getStatus({ group: "billing", identifier: "all" })).reason).toBe("GROUP_NOT_FOUND");
    expect(r.totalIdentifiers).toBe(0);
  });

  it("is not removed when armed again in time, and keeps its remove_after for the next expiry", () => {
    const { r, clock, newChanges, status } = leased();
    r.registerGroup({ group: "g" });
    r.setStatus({ group: "g", identifier: "", status: 1, ttlMs: 2 * SECOND, removeAfterMs: 5 * SECOND });
    clock.advance(2 * SECOND);
    clock.advance(5 * SECOND - 1);
    r.setStatus({ group: "g", identifier: "", status: 1, ttlMs: 4 * SECOND });
    newChanges();
    clock.advance(4 * SECOND - 1);
    expect(newChanges()).toEqual([]);
    expect(status("g")).toMatchObject({ status: 1, lease: { ttlMs: 4_000 } });
    clock.advance(1);
    expect(newChanges().map((c) => c[0])).toEqual(["status", "report"]);
    clock.advance(5 * SECOND);
    expect(newChanges()).toEqual([["unregistered", "g", ""]]);
  });

  it("remove_after 0 clears it, before expiry or while waiting for the removal", () => {
    const { r, clock, newChanges, status } = leased();
    r.registerGroup({ group: "g", ttlMs: SECOND, removeAfterMs: SECOND });
    r.registerIdentifier({ group: "g", identifier: "a", ttlMs: SECOND, removeAfterMs: SECOND });
    r.setStatus({ group: "g", identifier: "", status: 1, removeAfterMs: 0 });
    clock.advance(SECOND);
    r.setStatus({ group: "g", identifier: "a", status: 1, removeAfterMs: 0 });
    newChanges();
    clock.advance(3600 * SECOND);
    expect(newChanges()).toEqual([]);
    expect(status("g", "a").status).toBe(1);
    expect(r.scheduledLeases).toBe(0);
  });

  it("an armed lease takes a remove_after without a ttl, and restarts", () => {
    const { r, clock, newChanges } = leased();
    r.registerGroup({ group: "g" });
    r.registerIdentifier({ group: "g", identifier: "a", ttlMs: 2 * SECOND });
    clock.advance(SECOND);
    r.setStatus({ group: "g", identifier: "a", status: 1, removeAfterMs: SECOND });
    newChanges();
    clock.advance(2 * SECOND);
    expect(newChanges().map((c) => c[0])).toEqual(["status", "report"]);
    clock.advance(SECOND);
    expect(newChanges()).toEqual([["unregistered", "g", "a"]]);
  });

  it("an identifier removed, registered again and left alone has no lease of its past", () => {
    const { r, clock, newChanges } = leased();
    r.registerGroup({ group: "g" });
    r.registerIdentifier({ group: "g", identifier: "a", ttlMs: SECOND, removeAfterMs: SECOND });
    r.unregisterIdentifier({ group: "g", identifier: "a" });
    r.registerIdentifier({ group: "g", identifier: "a" });
    newChanges();
    clock.advance(10 * SECOND);
    expect(newChanges()).toEqual([]);
  });
});
