/** Many leases cost one timer: 10,000 running out in the same second, counted (not timed) on a fake clock. */
import { describe, expect, it } from "vitest";
import { DEFAULT_WATCH_OPTIONS, WatchHub } from "../../src/domain/watch/hub.js";
import { SECOND, leased } from "./leases-setup.js";
import { drainNow, request } from "./watch/setup.js";

const N = 10_000;

describe("10,000 leases", () => {
  it("expire in the same second: one change and one report each, one timer pending at most", () => {
    const { r, clock, changes } = leased({ limits: { maxGroups: 100, maxIdentifiersPerGroup: N, maxIdentifiers: 2 * N } });
    const hub = new WatchHub(r, { ...DEFAULT_WATCH_OPTIONS, history: 3 * N, budgetMessages: 3 * N }, clock);
    const watcher = hub.watch(request({ includeReports: true }), "test");
    drainNow(watcher);
    // 10 groups of 1,000 identifiers (main included), armed in shuffled order
    // with deadlines spread over one second.
    const names: [string, string][] = [];
    for (let g = 0; g < 10; g++) {
      r.registerGroup({ group: `g${g}` });
      for (let i = 1; i < 1000; i++) r.registerIdentifier({ group: `g${g}`, identifier: `i${i}` });
      names.push([`g${g}`, "main"], ...Array.from({ length: 999 }, (_, i): [string, string] => [`g${g}`, `i${i + 1}`]));
    }
    let seed = 7;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    names.sort(() => random() - 0.5);
    names.forEach(([group, identifier], k) => {
      r.setStatus({ group, identifier, status: 1, ttlMs: 60 * SECOND + (k % 997) });
    });
    expect(r.scheduledLeases).toBe(N);
    expect(clock.maxPending).toBe(1);
    const before = changes.length;
    const revision = r.revision;

    clock.advance(60 * SECOND - 1);
    expect(changes.length).toBe(before);
    clock.advance(SECOND);

    const expired = changes.slice(before);
    expect(expired.filter((c) => c.kind === "status" && c.status === -1)).toHaveLength(N);
    expect(expired.filter((c) => c.kind === "report" && c.report.text.startsWith("lease expired"))).toHaveLength(N);
    expect(expired).toHaveLength(2 * N);
    expect(r.revision).toBe(revision + 2 * N);
    expect(new Set(expired.map((c) => `${c.groupKey}/${c.identifierKey}`)).size).toBe(N);
    expect(r.scheduledLeases).toBe(0);
    expect(clock.maxPending).toBe(1);
    expect(clock.pendingTimers).toBe(0);
    // Watchers see them like any other change.
    const { events } = drainNow(watcher);
    expect(events.filter((e) => e.kind === "change")).toHaveLength(2 * N);
    expect(r.snapshot({}).filter((v) => v.status === -1)).toHaveLength(N);
  });

  it("refreshing them all, again and again, leaves nothing behind", () => {
    const { r, clock } = leased();
    const n = 2_000;
    r.registerGroup({ group: "g" });
    for (let i = 1; i < n; i++) r.registerIdentifier({ group: "g", identifier: `i${i}`, ttlMs: 10 * SECOND });
    const revision = r.revision;
    for (let round = 0; round < 5; round++) {
      clock.advance(5 * SECOND);
      for (let i = 1; i < n; i++) r.refreshLease({ group: "g", identifier: `i${i}` });
    }
    expect(r.scheduledLeases).toBe(n - 1);
    expect(r.revision).toBe(revision);
    expect(clock.maxPending).toBe(1);
    // The timer armed for the first deadline fired and moved on, not once per refresh.
    expect(clock.timersSet).toBeLessThanOrEqual(6);
  });
});
