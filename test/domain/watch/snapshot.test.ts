/** Cutting a snapshot into parts (docs/watch.md: at most 1,000 identifiers or 1 MiB each). */
import { describe, expect, it } from "vitest";
import { MAX_PAGE_BYTES } from "../../../src/domain/listing/sizes.js";
import { Registry } from "../../../src/domain/registry/registry.js";
import { filterOf } from "../../../src/domain/watch/filter.js";
import { SNAPSHOT_PART_IDENTIFIERS, cutSnapshot } from "../../../src/domain/watch/snapshot.js";
import { request } from "./setup.js";

const filter = (overrides = {}) => filterOf(request(overrides));

describe("cutSnapshot", () => {
  it("an empty selection is one empty final part at the current revision", () => {
    const registry = new Registry();
    expect(cutSnapshot(registry, filter({ group: "none" }), false)).toEqual([
      { kind: "snapshot", revision: registry.revision, identifiers: [], reports: [], resync: false, last: true },
    ]);
  });

  it("at most 1,000 identifiers a part, in list order, only the final one last", () => {
    const registry = new Registry();
    registry.registerGroup({ group: "g" });
    for (let i = 0; i < 2_100; i++) registry.registerIdentifier({ group: "g", identifier: `id-${String(i).padStart(4, "0")}` });
    const parts = cutSnapshot(registry, filter({ group: "g" }), true);
    expect(parts.map((p) => p.identifiers.length)).toEqual([SNAPSHOT_PART_IDENTIFIERS, SNAPSHOT_PART_IDENTIFIERS, 101]);
    expect(parts.map((p) => p.last)).toEqual([false, false, true]);
    expect(parts.every((p) => p.resync && p.revision === registry.revision)).toBe(true);
    expect(parts.flatMap((p) => p.identifiers.map((v) => v.identifier))).toEqual(registry.snapshot({ group: "g" }).map((v) => v.identifier));
  });

  it("one identifier's reports may span parts, each part under the byte bound, its group named again", () => {
    const registry = new Registry();
    registry.registerGroup({ group: "g", reportCapacity: 1_000 });
    for (let i = 0; i < 700; i++) registry.addReport({ group: "g", identifier: "main", text: `${i} `.padEnd(2_048, "r") });
    const parts = cutSnapshot(registry, filter({ group: "g", includeReports: true }), false);
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
