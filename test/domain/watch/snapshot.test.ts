/** Cutting a snapshot into parts (docs/watch.md: at most 1,000 identifiers or 1 MiB each; the server cuts at 64 KiB). */
import { describe, expect, it } from "vitest";
import { MAX_PAGE_BYTES, estimateReportBytes, estimateViewBytes } from "../../../src/domain/listing/sizes.js";
import { Registry } from "../../../src/domain/registry/registry.js";
import { filterOf } from "../../../src/domain/watch/filter.js";
import { SNAPSHOT_PART_BYTES, SNAPSHOT_PART_IDENTIFIERS, cutSnapshot } from "../../../src/domain/watch/snapshot.js";
import { request } from "./setup.js";

const filter = (overrides = {}) => filterOf(request(overrides));

describe("cutSnapshot", () => {
  it("an empty selection is one empty final part at the current revision", () => {
    const registry = new Registry();
    expect([...cutSnapshot(registry, filter({ group: "none" }), false)]).toEqual([
      { kind: "snapshot", revision: registry.revision, identifiers: [], reports: [], resync: false, last: true },
    ]);
  });

  it("at most 1,000 identifiers a part, in list order, only the final one last", () => {
    const registry = new Registry();
    registry.registerGroup({ group: "g" });
    for (let i = 0; i < 2_100; i++) registry.registerIdentifier({ group: "g", identifier: `id-${String(i).padStart(4, "0")}` });
    const parts = [...cutSnapshot(registry, filter({ group: "g" }), true)];
    expect(parts.map((p) => p.identifiers.length)).toEqual([SNAPSHOT_PART_IDENTIFIERS, SNAPSHOT_PART_IDENTIFIERS, 101]);
    expect(parts.map((p) => p.last)).toEqual([false, false, true]);
    expect(parts.every((p) => p.resync && p.revision === registry.revision)).toBe(true);
    expect(parts.flatMap((p) => p.identifiers.map((v) => v.identifier))).toEqual(registry.snapshot({ group: "g" }).map((v) => v.identifier));
  });

  it("one identifier's reports may span parts, each part under the byte bound, its group named again", () => {
    const registry = new Registry();
    registry.registerGroup({ group: "g", reportCapacity: 1_000 });
    for (let i = 0; i < 700; i++) registry.addReport({ group: "g", identifier: "main", text: `${i} `.padEnd(2_048, "r") });
    const parts = [...cutSnapshot(registry, filter({ group: "g", includeReports: true }), false)];
    expect(parts.length).toBeGreaterThanOrEqual(2);
    for (const part of parts) {
      const bytes = part.reports.flatMap((g) => g.identifiers.flatMap((i) => i.reports)).reduce((n, r) => n + r.text.length, 0);
      expect(bytes).toBeLessThan(MAX_PAGE_BYTES);
      expect(part.reports.map((g) => g.group)).toEqual(["g"]);
      expect(part.reports[0]?.identifiers.map((i) => [i.identifier, i.capacity])).toEqual([["main", 1_000]]);
    }
    expect(parts[0]?.identifiers.map((v) => v.identifier)).toEqual(["main"]);
    expect(parts.slice(1).every((p) => p.identifiers.length === 0)).toBe(true);
    const sequences = parts.flatMap((p) => p.reports.flatMap((g) => g.identifiers.flatMap((i) => i.reports.map((r) => r.sequence))));
    expect(sequences).toEqual(Array.from({ length: 700 }, (_, i) => i + 1));
  });
});

describe("cutSnapshot cuts its parts as they are taken", () => {
  const many = (count: number, details?: string) => {
    const registry = new Registry();
    registry.registerGroup({ group: "g" });
    for (let i = 0; i < count; i++) {
      registry.registerIdentifier({ group: "g", identifier: `id-${String(i).padStart(4, "0")}`, ...(details === undefined ? {} : { details }) });
    }
    return registry;
  };

  it("from the identifiers as they were at its revision, whatever changes while it is read", () => {
    const registry = many(2_100);
    const at = registry.revision;
    const expected = registry.snapshot({ group: "g" }).map((v) => [v.identifier, v.status, v.details]);
    const snapshot = cutSnapshot(registry, filter({ group: "g" }), false);
    const first = snapshot.next();
    expect(first?.identifiers).toHaveLength(SNAPSHOT_PART_IDENTIFIERS);
    // Changes made after the snapshot (they are the history's): none shows in its later parts.
    registry.setStatus({ group: "g", identifier: "id-2050", status: -7, details: "changed" });
    registry.registerIdentifier({ group: "g", identifier: "id-9999" });
    registry.unregisterIdentifier({ group: "g", identifier: "id-1500" });
    const rest = [...snapshot];
    expect(snapshot.done).toBe(true);
    expect(snapshot.next()).toBeUndefined();
    const parts = [first!, ...rest];
    expect(parts.map((p) => p.identifiers.length)).toEqual([1_000, 1_000, 101]); // and `main`
    expect(parts.every((p) => p.revision === at)).toBe(true);
    expect(parts.map((p) => p.last)).toEqual([false, false, true]);
    expect(parts.flatMap((p) => p.identifiers.map((v) => [v.identifier, v.status, v.details]))).toEqual(expected);
  });

  it("keeps a part's estimated bytes at SNAPSHOT_PART_BYTES, fewer identifiers when they are large", () => {
    const registry = many(1_000, "d".repeat(200));
    const parts = [...cutSnapshot(registry, filter({ group: "g" }), false)];
    expect(parts.length).toBeGreaterThan(1);
    for (const part of parts) {
      expect(part.identifiers.reduce((n, v) => n + estimateViewBytes(v), 0)).toBeLessThanOrEqual(SNAPSHOT_PART_BYTES);
    }
    expect(parts.flatMap((p) => p.identifiers).map((v) => v.identifier)).toEqual(registry.snapshot({ group: "g" }).map((v) => v.identifier));
  });

  it("reports spanning parts keep each part at SNAPSHOT_PART_BYTES, and the snapshot's reports are those at its revision", () => {
    const registry = new Registry();
    registry.registerGroup({ group: "g", reportCapacity: 1_000 });
    for (let i = 0; i < 100; i++) registry.addReport({ group: "g", identifier: "main", text: `${i} `.padEnd(2_048, "r") });
    const snapshot = cutSnapshot(registry, filter({ group: "g", includeReports: true }), false);
    const first = snapshot.next()!;
    registry.addReport({ group: "g", identifier: "main", text: "after the snapshot" });
    const parts = [first, ...snapshot];
    expect(parts.length).toBeGreaterThanOrEqual(4); // 100 × 2 KiB > 3 × 64 KiB
    for (const part of parts) {
      const bytes = part.reports.flatMap((g) => g.identifiers.flatMap((i) => i.reports)).reduce((n, r) => n + estimateReportBytes(r.text), 0);
      expect(bytes).toBeLessThanOrEqual(SNAPSHOT_PART_BYTES);
    }
    const sequences = parts.flatMap((p) => p.reports.flatMap((g) => g.identifiers.flatMap((i) => i.reports.map((r) => r.sequence))));
    expect(sequences).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
  });

  it("snapshots taken at one revision of one selection share what they read; a later revision reads again", () => {
    const registry = many(10);
    const a = cutSnapshot(registry, filter({ group: "g" }), false).next()!;
    const b = cutSnapshot(registry, filter({ group: "g" }), true).next()!;
    expect(b.identifiers[0]).toBe(a.identifiers[0]);
    expect(b.resync).toBe(true);
    const withReports = cutSnapshot(registry, filter({ group: "g", includeReports: true }), false).next()!;
    expect(withReports.identifiers[0]).not.toBe(a.identifiers[0]);
    registry.setStatus({ group: "g", identifier: "id-0000", status: -1 });
    const c = cutSnapshot(registry, filter({ group: "g" }), false).next()!;
    const first = (part: typeof a) => part.identifiers.find((v) => v.identifier === "id-0000");
    expect(first(c)).not.toBe(first(a));
    expect(first(c)?.status).toBe(-1);
    expect(first(a)?.status).toBe(1);
  });

  it("a snapshot dropped (its watcher closed) makes no more parts", () => {
    const snapshot = cutSnapshot(many(2_100), filter({ group: "g" }), false);
    snapshot.next();
    snapshot.drop();
    expect(snapshot.done).toBe(true);
    expect(snapshot.next()).toBeUndefined();
  });
});
