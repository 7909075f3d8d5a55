import { describe, expect, it } from "vitest";
import type { Change } from "../../../src/domain/registry/registry.js";
import { ChangeHistory } from "../../../src/domain/watch/history.js";

const change = (revision: number): Change => ({
  kind: "unregistered",
  revision,
  groupKey: "g",
  identifierKey: "",
  group: "g",
  identifier: "",
});

describe("ChangeHistory", () => {
  it("holds nothing before the revision it started at", () => {
    const history = new ChangeHistory(4, 10);
    expect(history.headRevision).toBe(10);
    expect(history.firstRevision).toBe(11);
    expect(history.at(10)).toBeUndefined();
    expect(history.at(11)).toBeUndefined(); // not yet made
  });

  it("keeps the last `capacity` changes by revision, dropping the oldest", () => {
    const history = new ChangeHistory(3, 0);
    for (let r = 1; r <= 2; r++) history.append(change(r));
    expect(history.firstRevision).toBe(1);
    expect([1, 2].map((r) => history.at(r)?.revision)).toEqual([1, 2]);

    for (let r = 3; r <= 7; r++) history.append(change(r));
    expect(history.headRevision).toBe(7);
    expect(history.firstRevision).toBe(5);
    expect(history.at(4)).toBeUndefined();
    expect([5, 6, 7].map((r) => history.at(r)?.revision)).toEqual([5, 6, 7]);
    expect(history.at(8)).toBeUndefined();
  });

  it("refuses a capacity below one", () => {
    expect(() => new ChangeHistory(0, 0)).toThrow(RangeError);
  });
});
