/** The argument rules of leases: DURATION_OUT_OF_RANGE naming the field, TTL_REQUIRED, and nothing changed on failure. */
import { describe, expect, it } from "vitest";
import { thrown } from "../helpers/errors.js";
import { SECOND, leased } from "./leases-setup.js";

const DAYS_30 = 30 * 24 * 3600 * SECOND;

describe("durations", () => {
  it.each([
    ["below 1 s", 999],
    ["a fraction of a millisecond", 0.5],
    ["negative", -SECOND],
    ["over 30 days", DAYS_30 + 1],
  ])("%s is DURATION_OUT_OF_RANGE naming the field, in every write that takes one", (_what, ms) => {
    const { r } = leased();
    r.registerGroup({ group: "g" });
    const before = r.revision;
    const writes = [
      ["ttl", () => r.setStatus({ group: "g", identifier: "", status: 1, ttlMs: ms })],
      ["remove_after", () => r.setStatus({ group: "g", identifier: "", status: 2, ttlMs: SECOND, removeAfterMs: ms })],
      ["ttl", () => r.registerGroup({ group: "h", ttlMs: ms })],
      ["remove_after", () => r.registerGroup({ group: "h", ttlMs: SECOND, removeAfterMs: ms })],
      ["ttl", () => r.registerIdentifier({ group: "g", identifier: "a", ttlMs: ms })],
      ["remove_after", () => r.registerIdentifier({ group: "g", identifier: "a", ttlMs: SECOND, removeAfterMs: ms })],
      ["ttl", () => r.refreshLease({ group: "g", identifier: "", ttlMs: ms })],
    ] as const;
    for (const [field, write] of writes) {
      const error = thrown(write);
      expect([error.reason, error.facts.field], String(write)).toEqual(["DURATION_OUT_OF_RANGE", field]);
      expect(error.message).toMatch(new RegExp(`^${field}: must be 0 or between 1 s and 30 days`));
    }
    expect(r.revision).toBe(before);
    expect(r.scheduledLeases).toBe(0);
  });

  it("accepts exactly 1 s and exactly 30 days", () => {
    const { r, status } = leased();
    r.registerGroup({ group: "g", ttlMs: SECOND, removeAfterMs: DAYS_30 });
    r.registerIdentifier({ group: "g", identifier: "a", ttlMs: DAYS_30, removeAfterMs: SECOND });
    expect(status("g").lease?.ttlMs).toBe(SECOND);
    expect(status("g", "a").lease?.ttlMs).toBe(DAYS_30);
  });

  it("checks arguments in field order, before the group is looked up", () => {
    const { r } = leased();
    expect(thrown(() => r.setStatus({ group: "nope", identifier: "", status: 0, ttlMs: 1 })).reason).toBe("STATUS_ZERO");
    expect(thrown(() => r.setStatus({ group: "nope", identifier: "", status: 1, ttlMs: 1 })).reason).toBe("DURATION_OUT_OF_RANGE");
    expect(thrown(() => r.registerGroup({ group: "g", reportCapacity: 40_000, ttlMs: 1 })).reason).toBe("CAPACITY_OUT_OF_RANGE");
  });
});

describe("TTL_REQUIRED", () => {
  it("remove_after needs an armed lease or a ttl in the same write", () => {
    const { r } = leased();
    r.registerGroup({ group: "g" });
    const before = r.revision;
    const error = thrown(() => r.setStatus({ group: "g", identifier: "", status: 2, removeAfterMs: SECOND }));
    expect([error.reason, error.facts]).toEqual(["TTL_REQUIRED", { field: "remove_after", group: "g", identifier: "main" }]);
    expect(error.message).toMatch(/^remove_after: /);
    expect(thrown(() => r.setStatus({ group: "g", identifier: "", status: 2, ttlMs: 0, removeAfterMs: SECOND })).reason).toBe("TTL_REQUIRED");
    expect(thrown(() => r.registerGroup({ group: "h", removeAfterMs: SECOND })).reason).toBe("TTL_REQUIRED");
    expect(thrown(() => r.registerIdentifier({ group: "g", identifier: "a", removeAfterMs: SECOND })).reason).toBe("TTL_REQUIRED");
    expect(r.revision).toBe(before);
    expect(r.getStatus({ group: "g", identifier: "" }).status.status).toBe(1);
  });

  it("a lease that ran out is no longer armed: remove_after needs a ttl again", () => {
    const { r, clock } = leased();
    r.registerGroup({ group: "g", ttlMs: SECOND });
    clock.advance(SECOND);
    expect(thrown(() => r.setStatus({ group: "g", identifier: "", status: 1, removeAfterMs: SECOND })).reason).toBe("TTL_REQUIRED");
    expect(r.setStatus({ group: "g", identifier: "", status: 1, ttlMs: SECOND, removeAfterMs: SECOND }).changed).toBe(true);
  });

  it("remove_after 0 and ttl 0 need nothing", () => {
    const { r } = leased();
    r.registerGroup({ group: "g", ttlMs: 0, removeAfterMs: 0 });
    expect(r.setStatus({ group: "g", identifier: "", status: 1, ttlMs: 0, removeAfterMs: 0 }).changed).toBe(false);
    expect(r.scheduledLeases).toBe(0);
  });
});
