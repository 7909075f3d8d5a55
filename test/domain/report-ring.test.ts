/**
 * The report ring on its own: a FIFO of fixed capacity, and the shared empty
 * ring every new identifier starts with (for memory), which reads as a new
 * ring and is never written.
 */
import { describe, expect, it } from "vitest";
import { ReportRing } from "../../src/domain/report-ring.js";

const texts = (ring: ReportRing, after?: number) => ring.list(after).map((r) => `${r.sequence}:${r.text}`);

describe("a ring", () => {
  it("keeps the last `capacity` reports, oldest first, numbering every report it was given", () => {
    const ring = new ReportRing(2);
    for (const text of ["a", "b", "c"]) ring.add(text, 5);
    expect(texts(ring)).toEqual(["2:b", "3:c"]);
    expect(texts(ring, 2)).toEqual(["3:c"]);
    expect([ring.size, ring.added, ring.capacity]).toEqual([2, 3, 2]);
  });

  it("of capacity 0 keeps nothing", () => {
    const ring = new ReportRing(0);
    ring.insert({ sequence: 4, time: 1, text: "x" });
    expect([texts(ring), ring.size, ring.added]).toEqual([[], 0, 4]);
  });

  it("is put back exactly as `save` found it", () => {
    const ring = new ReportRing(2);
    ring.add("a", 1);
    const saved = ring.save();
    ring.add("b", 2);
    ring.add("c", 3);
    ring.rollback(saved);
    expect([texts(ring), ring.added]).toEqual([["1:a"], 1]);
    ring.add("d", 4);
    expect(texts(ring)).toEqual(["1:a", "2:d"]);
  });
});

describe("the shared empty ring", () => {
  it("is one per capacity and reads as a new ring of it", () => {
    const ring = ReportRing.empty(7);
    expect(ReportRing.empty(7)).toBe(ring);
    expect(ReportRing.empty(8)).not.toBe(ring);
    expect([ring.shared, ring.capacity, ring.size, ring.added, ring.list()]).toEqual([true, 7, 0, 0, []]);
    expect(new ReportRing(7).shared).toBe(false);
  });

  it("is never written: `writable` gives a ring of its own with the same capacity", () => {
    const shared = ReportRing.empty(3);
    expect(() => shared.add("x", 1)).toThrow(/shared empty ring/);
    expect(() => shared.insert({ sequence: 1, time: 1, text: "x" })).toThrow(/shared empty ring/);
    expect(() => shared.rollback(shared.save())).toThrow(/shared empty ring/);
    const own = ReportRing.writable(shared);
    expect([own === shared, own.shared, own.capacity]).toEqual([false, false, 3]);
    expect(ReportRing.writable(own)).toBe(own);
    own.add("x", 1);
    expect([texts(own), shared.size, shared.added]).toEqual([["1:x"], 0, 0]);
  });

  it("is what a kept ring that never had a report restores to; one that had reports is its own", () => {
    expect(ReportRing.restore(5, [], 1)).toBe(ReportRing.empty(5));
    const numbered = ReportRing.restore(0, [], 9);
    expect([numbered.shared, numbered.added]).toEqual([false, 8]);
    const kept = ReportRing.restore(2, [{ sequence: 1, time: 1, text: "a" }, { sequence: 2, time: 2, text: "b" }, { sequence: 3, time: 3, text: "c" }], 4);
    expect([kept.shared, texts(kept), kept.added]).toEqual([false, ["2:b", "3:c"], 3]);
  });
});
