/**
 * Leases on a fake monotonic clock: expiry (never early, never late here,
 * since fake timers fire on time), refresh through SetStatus and RefreshLease,
 * disarm, and what registrations, reports and reads leave alone.
 */
import { describe, expect, it } from "vitest";
import { Registry } from "../../src/domain/registry/registry.js";
import type { Clock } from "../../src/domain/watch/clock.js";
import { thrown } from "../helpers/errors.js";
import { SECOND, leased } from "./leases-setup.js";

describe("expiry", () => {
  it("runs out ttl after the arming write, not a millisecond earlier, with a status change and a report", () => {
    const { r, clock, wall, newChanges, status } = leased();
    r.registerGroup({ group: "billing" });
    newChanges();
    r.setStatus({ group: "billing", identifier: "", status: 2, ttlMs: 5 * SECOND });
    expect(status("billing").lease).toEqual({ ttlMs: 5_000, expireTime: wall() + 5_000 });
    newChanges();
    const armedAt = clock.now();
    let expiredAt: number | undefined;
    r.onChange((change) => (expiredAt ??= change.kind === "status" ? clock.now() : undefined));

    clock.advance(5 * SECOND - 1);
    expect(status("billing")).toMatchObject({ status: 2, ready: true });
    expect(newChanges()).toEqual([]);

    clock.advance(1);
    expect(expiredAt !== undefined && expiredAt - armedAt).toBe(5 * SECOND);
    expect(newChanges()).toEqual([
      ["status", "main", -1, "lease expired"],
      ["report", "main", "lease expired after 5 s without SetStatus or RefreshLease"],
    ]);
    const after = status("billing");
    expect(after).toMatchObject({ status: -1, details: "lease expired", ready: false });
    expect(after.lease).toBeUndefined();
    expect(r.scheduledLeases).toBe(0);

    // Disarmed: nothing more happens, and a refresh has nothing to restart.
    clock.advance(60 * SECOND);
    expect(newChanges()).toEqual([]);
    expect(thrown(() => r.refreshLease({ group: "billing", identifier: "" })).reason).toBe("LEASE_NOT_ARMED");
  });

  it("writes the configured status and details, and no report at capacity 0", () => {
    const { r, clock, newChanges, status } = leased({ leases: { expiredStatus: -7, expiredDetails: "publisher gone" } });
    r.registerGroup({ group: "g", reportCapacity: 0, ttlMs: 2 * SECOND });
    newChanges();
    clock.advance(2 * SECOND);
    expect(newChanges()).toEqual([["status", "main", -7, "publisher gone"]]);
    expect(status("g")).toMatchObject({ status: -7, details: "publisher gone" });
  });

  it("adds only the report when the identifier already shows the expired status and details", () => {
    const { r, clock, newChanges } = leased();
    r.registerGroup({ group: "g", status: -1, details: "lease expired", ttlMs: SECOND });
    newChanges();
    clock.advance(SECOND);
    expect(newChanges()).toEqual([["report", "main", "lease expired after 1 s without SetStatus or RefreshLease"]]);
  });

  it("lasts up to 30 days on one timer, cut below setTimeout's limit, still never early", () => {
    const { r, clock, status } = leased();
    const days30 = 30 * 24 * 3600 * SECOND;
    r.registerGroup({ group: "g", ttlMs: days30 });
    clock.advance(days30 - 1);
    expect(status("g").status).toBe(1);
    expect(clock.pendingTimers).toBe(1);
    clock.advance(1);
    expect(status("g").status).toBe(-1);
  });

  it("is never early even when the timer fires early: the deadline is read again", () => {
    const { clock } = leased();
    const early: Clock = {
      now: () => clock.now(),
      setTimer: (callback, ms) => clock.setTimer(callback, Math.ceil(ms / 2)),
      clearTimer: (timer) => clock.clearTimer(timer),
    };
    const r = new Registry(undefined, Date.now, { clock: early });
    r.registerGroup({ group: "g", ttlMs: 3 * SECOND });
    clock.advance(3 * SECOND - 1);
    expect(r.getStatus({ group: "g", identifier: "" }).status.status).toBe(1);
    clock.advance(1);
    expect(r.getStatus({ group: "g", identifier: "" }).status.status).toBe(-1);
  });
});

describe("refresh", () => {
  it("every SetStatus on an armed lease restarts it, one that changes nothing too, adding no revision", () => {
    const { r, clock, wall, newChanges, status } = leased();
    r.registerGroup({ group: "g" });
    r.setStatus({ group: "g", identifier: "", status: 1, ttlMs: 5 * SECOND });
    newChanges();
    clock.advance(4 * SECOND);
    const revision = r.revision;
    expect(r.setStatus({ group: "g", identifier: "", status: 1 })).toEqual({ changed: false, oldStatus: 1, revision });
    expect(r.revision).toBe(revision);
    expect(newChanges()).toEqual([]);
    expect(status("g").lease).toEqual({ ttlMs: 5_000, expireTime: wall() + 5_000 });

    clock.advance(5 * SECOND - 1);
    expect(status("g").status).toBe(1);
    // With a new ttl, the lease restarts with it.
    r.setStatus({ group: "g", identifier: "", status: 1, ttlMs: 10 * SECOND });
    clock.advance(10 * SECOND - 1);
    expect(status("g").lease?.ttlMs).toBe(10_000);
    clock.advance(1);
    expect(status("g").status).toBe(-1);
  });

  it("RefreshLease restarts it without a change, with its own ttl or a new one", () => {
    const { r, clock, wall, newChanges, status } = leased();
    r.registerGroup({ group: "g" });
    r.registerIdentifier({ group: "g", identifier: "w", ttlMs: 5 * SECOND });
    newChanges();
    clock.advance(4 * SECOND);
    const revision = r.revision;
    expect(r.refreshLease({ group: "G", identifier: "W" })).toEqual({ lease: { ttlMs: 5_000, expireTime: wall() + 5_000 }, revision });
    clock.advance(4 * SECOND);
    expect(r.refreshLease({ group: "g", identifier: "w", ttlMs: 20 * SECOND }).lease).toEqual({ ttlMs: 20_000, expireTime: wall() + 20_000 });
    expect(newChanges()).toEqual([]);
    expect(r.revision).toBe(revision);
    clock.advance(20 * SECOND - 1);
    expect(status("g", "w").status).toBe(1);
    clock.advance(1);
    expect(status("g", "w").status).toBe(-1);
  });

  it("LEASE_NOT_ARMED without a lease, after disarming and after expiry; the usual errors first", () => {
    const { r, clock } = leased();
    r.registerInternalGroup({ group: "core" });
    r.registerGroup({ group: "g" });
    const reason = (identifier: string, group = "g") => thrown(() => r.refreshLease({ group, identifier })).reason;
    expect(reason("")).toBe("LEASE_NOT_ARMED");
    expect(thrown(() => r.refreshLease({ group: "g", identifier: "" })).facts).toEqual({ group: "g", identifier: "main" });
    expect(reason("nope")).toBe("IDENTIFIER_NOT_FOUND");
    expect(reason("", "nope")).toBe("GROUP_NOT_FOUND");
    expect(reason("", "core")).toBe("INTERNAL_GROUP");
    expect(reason("all")).toBe("NAME_RESERVED");
    r.setStatus({ group: "g", identifier: "", status: 1, ttlMs: SECOND });
    r.setStatus({ group: "g", identifier: "", status: 1, ttlMs: 0 });
    expect(reason("")).toBe("LEASE_NOT_ARMED");
    r.setStatus({ group: "g", identifier: "", status: 1, ttlMs: SECOND });
    clock.advance(SECOND);
    expect(reason("")).toBe("LEASE_NOT_ARMED");
  });

  it("registrations, reports and reads never refresh; a registration arms only when it creates", () => {
    const { r, clock, status } = leased();
    r.registerGroup({ group: "g", ttlMs: 5 * SECOND });
    const { expireTime } = status("g").lease ?? {};
    clock.advance(3 * SECOND);
    expect(r.registerGroup({ group: "g", ttlMs: 60 * SECOND }).created).toBe(false);
    expect(r.registerIdentifier({ group: "g", identifier: "", ttlMs: 60 * SECOND }).created).toBe(false);
    r.addReport({ group: "g", identifier: "", text: "still here" });
    r.getStatus({ group: "g", identifier: "" });
    r.snapshot({ group: "g" });
    expect(status("g").lease).toEqual({ ttlMs: 5_000, expireTime });
    clock.advance(2 * SECOND);
    expect(status("g").status).toBe(-1);
  });
});

describe("disarm and what holds a lease", () => {
  it("ttl 0 disarms the lease and its remove_after", () => {
    const { r, clock, newChanges, status } = leased();
    r.registerGroup({ group: "g", ttlMs: 2 * SECOND, removeAfterMs: 2 * SECOND });
    newChanges();
    expect(r.setStatus({ group: "g", identifier: "", status: 1, ttlMs: 0 }).changed).toBe(false);
    expect(status("g").lease).toBeUndefined();
    expect(r.scheduledLeases).toBe(0);
    clock.advance(3600 * SECOND);
    expect(newChanges()).toEqual([]);
    // Armed again without remove_after: it expires, and nothing is removed.
    r.setStatus({ group: "g", identifier: "", status: 1, ttlMs: SECOND });
    clock.advance(3600 * SECOND);
    expect(newChanges().map((c) => c[0])).toEqual(["status", "report"]);
  });

  it("internal groups have none, even from the server's own writes", () => {
    const { r, clock, status } = leased();
    r.registerInternalGroup({ group: "core", ttlMs: SECOND });
    r.setStatus({ group: "core", identifier: "", status: 1, ttlMs: SECOND }, { server: true });
    expect(status("core").lease).toBeUndefined();
    clock.advance(10 * SECOND);
    expect(status("core").status).toBe(1);
    expect(clock.pendingTimers).toBe(0);
  });

  it("removing an identifier or a group forgets its leases", () => {
    const { r, clock, newChanges } = leased();
    r.registerGroup({ group: "g", ttlMs: SECOND });
    r.registerIdentifier({ group: "g", identifier: "a", ttlMs: SECOND });
    r.registerIdentifier({ group: "g", identifier: "b", ttlMs: SECOND, removeAfterMs: SECOND });
    r.unregisterIdentifier({ group: "g", identifier: "a" });
    expect(r.scheduledLeases).toBe(2);
    r.unregisterGroup({ group: "g" });
    expect(r.scheduledLeases).toBe(0);
    newChanges();
    clock.advance(10 * SECOND);
    expect(newChanges()).toEqual([]);
  });

  it("a change's view keeps the deadline of its change; reads show the current one", () => {
    const { r, clock, changes, status } = leased();
    r.registerGroup({ group: "g" });
    r.registerIdentifier({ group: "g", identifier: "w", ttlMs: 5 * SECOND });
    const registered = changes.at(-1);
    const first = registered?.kind === "registered" ? registered.status.lease : undefined;
    clock.advance(2 * SECOND);
    r.refreshLease({ group: "g", identifier: "w" });
    expect(first?.expireTime).toBeDefined();
    expect(status("g", "w").lease?.expireTime).toBe((first?.expireTime ?? 0) + 2 * SECOND);
    expect(registered?.kind === "registered" && registered.status.lease).toEqual(first);
    expect(r.snapshot({ group: "g", identifier: "w" })[0]?.lease).toEqual(status("g", "w").lease);
  });
});
