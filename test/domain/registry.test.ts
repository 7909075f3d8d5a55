/**
 * Unit tests of the Registry class, no sockets: the rules easiest to state
 * at this level (ordering, paging edge cases, change events).
 */
import { describe, expect, it } from "vitest";
import { SrError } from "../../src/domain/errors.js";
import { type Change, Registry } from "../../src/domain/registry/registry.js";

function registry(start = 1_000) {
  let clock = start;
  const r = new Registry(undefined, () => clock);
  return { r, tick: (ms = 1) => (clock += ms) };
}

/** The error reason a call throws (undefined when it does not throw). */
function reasonOf(run: () => unknown): string | undefined {
  try {
    run();
  } catch (error) {
    if (error instanceof SrError) return error.reason;
    throw error;
  }
  return undefined;
}

const identifiersOf = (r: Registry, group: string) =>
  r.listIdentifiers({ group, pageSize: 0, pageToken: "" }).groups.flatMap((g) => g.identifiers);

describe("ordering", () => {
  it("identifiers: main first, then by the ASCII-lowercased name's code points", () => {
    const { r } = registry();
    r.registerGroup({ group: "g" });
    for (const id of ["Zeta", "_under", "alpha", "x\u{1F600}", "x\uE000", "x\uFFFD", "B", "a0"]) r.registerIdentifier({ group: "g", identifier: id });
    // '_' (U+005F) sorts after 'Z' (U+005A) but before 'a'/'z' once case is folded;
    // U+1F600 (a surrogate pair in UTF-16) sorts after every BMP character.
    expect(identifiersOf(r, "g")).toEqual(["main", "_under", "a0", "alpha", "B", "x\uE000", "x\uFFFD", "x\u{1F600}", "Zeta"]);
  });

  it("main stays first even when it was removed and registered again in another case", () => {
    const { r } = registry();
    r.registerGroup({ group: "g" });
    r.registerIdentifier({ group: "g", identifier: "a" });
    r.unregisterIdentifier({ group: "g", identifier: "main" });
    r.registerIdentifier({ group: "g", identifier: "MAIN" });
    expect(identifiersOf(r, "g")).toEqual(["MAIN", "a"]);
  });

  it("groups: by the ASCII-lowercased name's code points (non-ASCII letters are not folded)", () => {
    const { r } = registry();
    for (const g of ["b", "A", "_", "\u{10000}", "\uFFFF", "É", "é", "C"]) r.registerGroup({ group: g });
    const groups = r.listStatus({ group: "", pageSize: 0, pageToken: "" }).groups.map((g) => g.group);
    expect(groups).toEqual(["_", "A", "b", "C", "É", "é", "\uFFFF", "\u{10000}"]);
  });
});

describe("paging", () => {
  function filled(ids: number) {
    const { r } = registry();
    r.registerGroup({ group: "g" });
    for (let i = 0; i < ids; i++) r.registerIdentifier({ group: "g", identifier: `i${i}` });
    return r;
  }

  it("a page size equal to what is left ends the listing: no token", () => {
    const r = filled(3); // main + 3
    const page = r.listStatus({ group: "g", pageSize: 4, pageToken: "" });
    expect(page.groups[0]?.identifiers).toHaveLength(4);
    expect(page.nextPageToken).toBe("");
    const p1 = r.listIdentifiers({ group: "g", pageSize: 2, pageToken: "" });
    const p2 = r.listIdentifiers({ group: "g", pageSize: 2, pageToken: p1.nextPageToken });
    expect(p2.groups[0]?.identifiers).toEqual(["i1", "i2"]);
    expect(p2.nextPageToken).toBe("");
  });

  it("a token whose every remaining entry was removed gives an empty last page", () => {
    const r = filled(3);
    const p1 = r.listIdentifiers({ group: "g", pageSize: 2, pageToken: "" });
    r.unregisterIdentifier({ group: "g", identifier: "i1" });
    r.unregisterIdentifier({ group: "g", identifier: "i2" });
    expect(r.listIdentifiers({ group: "g", pageSize: 2, pageToken: p1.nextPageToken })).toMatchObject({ groups: [], nextPageToken: "" });
  });

  it("ListReports: a page ending exactly at an identifier's last report continues with the next identifier", () => {
    const { r } = registry();
    r.registerGroup({ group: "g" });
    r.registerIdentifier({ group: "g", identifier: "a" });
    for (const t of ["m1", "m2"]) r.addReport({ group: "g", identifier: "main", text: t });
    r.addReport({ group: "g", identifier: "a", text: "a1" });
    const p1 = r.listReports({ group: "g", identifier: "", pageSize: 2, pageToken: "" });
    expect(p1.groups[0]?.identifiers.map((i) => i.reports.map((x) => x.text))).toEqual([["m1", "m2"]]);
    expect(p1.nextPageToken).not.toBe("");
    const p2 = r.listReports({ group: "g", identifier: "", pageSize: 2, pageToken: p1.nextPageToken });
    expect(p2.groups[0]?.identifiers.map((i) => [i.identifier, i.reports.map((x) => x.text)])).toEqual([["a", ["a1"]]]);
    expect(p2.nextPageToken).toBe("");
  });

  it("ListReports: reports added to a split identifier between pages are listed once, in order", () => {
    const { r } = registry();
    r.registerGroup({ group: "g" });
    for (const t of ["1", "2", "3"]) r.addReport({ group: "g", identifier: "main", text: t });
    const p1 = r.listReports({ group: "g", identifier: "main", pageSize: 2, pageToken: "" });
    r.addReport({ group: "g", identifier: "main", text: "4" });
    const p2 = r.listReports({ group: "g", identifier: "main", pageSize: 2, pageToken: p1.nextPageToken });
    expect([...(p1.groups[0]?.identifiers[0]?.reports ?? []), ...(p2.groups[0]?.identifiers[0]?.reports ?? [])].map((x) => x.text)).toEqual([
      "1",
      "2",
      "3",
      "4",
    ]);
    expect(p2.nextPageToken).toBe("");
  });

  it("a group without identifiers is one entry: a page may end on it and the next goes on after it", () => {
    const { r } = registry();
    for (const g of ["a", "b", "c"]) r.registerGroup({ group: g });
    r.unregisterIdentifier({ group: "b", identifier: "main" });
    const seen: string[] = [];
    let token = "";
    do {
      const page = r.listIdentifiers({ group: "", pageSize: 1, pageToken: token });
      seen.push(page.groups.map((g) => `${g.group}[${g.identifiers.join(",")}]`).join(" "));
      token = page.nextPageToken;
    } while (token);
    expect(seen).toEqual(["a[main]", "b[]", "c[main]"]);
  });

  it("a page token is refused by another list and another filter", () => {
    const r = filled(3);
    const token = r.listStatus({ group: "g", pageSize: 1, pageToken: "" }).nextPageToken;
    expect(reasonOf(() => r.listIdentifiers({ group: "g", pageSize: 1, pageToken: token }))).toBe("PAGE_TOKEN_INVALID");
    expect(reasonOf(() => r.listStatus({ group: "", pageSize: 1, pageToken: token }))).toBe("PAGE_TOKEN_INVALID");
    expect(reasonOf(() => r.listStatus({ group: "G", pageSize: 1, pageToken: token }))).toBeUndefined();
  });
});

describe("change events", () => {
  it("every change is emitted once, in revision order, with the right kind, after the state is consistent", () => {
    const { r } = registry();
    const seen: Change[] = [];
    r.onChange((change) => {
      // the listener already reads the state the change produced
      expect(r.revision).toBe(change.revision);
      seen.push(change);
    });
    r.registerGroup({ group: "G", details: "x" });
    r.registerIdentifier({ group: "g", identifier: "A", status: -1 });
    r.setStatus({ group: "g", identifier: "a", status: 2 }); // status and details change
    r.setStatus({ group: "g", identifier: "a", status: 2, details: "d" }); // details only
    r.addReport({ group: "g", identifier: "a", text: "t" });
    r.unregisterIdentifier({ group: "g", identifier: "a" });
    r.registerIdentifier({ group: "g", identifier: "b" });
    r.unregisterGroup({ group: "g" });

    expect(seen.map((c) => c.revision)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(seen.map((c) => [c.kind, c.group, c.identifier])).toEqual([
      ["registered", "G", "main"],
      ["registered", "G", "A"],
      ["status", "G", "A"],
      ["status", "G", "A"],
      ["report", "G", "A"],
      ["unregistered", "G", "A"],
      ["registered", "G", "b"],
      ["unregistered", "G", ""], // one event for the whole group, not one per identifier
    ]);
    expect(seen[0]).toMatchObject({ status: { status: 1, details: "x", revision: 1 } });
    expect(seen[2]).toMatchObject({ status: 2, oldStatus: -1, details: undefined, statusChanged: true });
    expect(seen[3]).toMatchObject({ status: 2, oldStatus: 2, details: "d", statusChanged: false });
    expect(seen[4]).toMatchObject({ report: { sequence: 1, text: "t" } });
    expect(seen[7]).toMatchObject({ groupKey: "g", identifierKey: "" });
  });

  it("no event and no revision for a no-op or a failed call", () => {
    const { r } = registry();
    r.registerGroup({ group: "g", status: 3, details: "d", reportCapacity: 0 });
    const seen: Change[] = [];
    r.onChange((c) => seen.push(c));
    const before = r.revision;
    r.setStatus({ group: "g", identifier: "", status: 3, details: "d" });
    r.registerGroup({ group: "G", status: -1 });
    r.registerIdentifier({ group: "g", identifier: "MAIN", details: "other" });
    expect(reasonOf(() => r.addReport({ group: "g", identifier: "main", text: "t" }))).toBe("REPORTS_DISABLED");
    expect(reasonOf(() => r.setStatus({ group: "g", identifier: "main", status: 0 }))).toBe("STATUS_ZERO");
    expect(reasonOf(() => r.registerGroup({ group: "g", reportCapacity: 1 }))).toBe("CAPACITY_MISMATCH");
    expect(reasonOf(() => r.unregisterIdentifier({ group: "g", identifier: "nope" }))).toBe("IDENTIFIER_NOT_FOUND");
    expect(reasonOf(() => r.registerIdentifier({ group: "g", identifier: "all" }))).toBe("NAME_RESERVED");
    expect(seen).toEqual([]);
    expect(r.revision).toBe(before);
  });
});

describe("internal groups", () => {
  it("refuse every write from a client, accept the server's", () => {
    const { r } = registry();
    r.registerInternalGroup({ group: "core", status: -100, reportCapacity: 10 });
    expect(r.isInternal("CORE")).toBe(true);
    expect(reasonOf(() => r.setStatus({ group: "core", identifier: "", status: 1 }))).toBe("INTERNAL_GROUP");
    expect(reasonOf(() => r.addReport({ group: "core", identifier: "", text: "t" }))).toBe("INTERNAL_GROUP");
    expect(reasonOf(() => r.registerIdentifier({ group: "core", identifier: "x" }))).toBe("INTERNAL_GROUP");
    expect(reasonOf(() => r.unregisterIdentifier({ group: "core", identifier: "main" }))).toBe("INTERNAL_GROUP");
    expect(reasonOf(() => r.unregisterGroup({ group: "Core" }))).toBe("INTERNAL_GROUP");
    expect(reasonOf(() => r.registerGroup({ group: "CORE" }))).toBe("INTERNAL_GROUP");
    const server = { server: true };
    expect(r.setStatus({ group: "core", identifier: "", status: 1, details: "running" }, server)).toMatchObject({ changed: true, oldStatus: -100 });
    expect(r.addReport({ group: "core", identifier: "", text: "ready" }, server).sequence).toBe(1);
  });
});

describe("times", () => {
  it("update_time follows status and details changes, not reports; reports carry their own time", () => {
    const { r, tick } = registry(5_000);
    r.registerGroup({ group: "g" });
    expect(r.getStatus({ group: "g", identifier: "" }).status.updateTime).toBe(5_000);
    tick(10);
    r.addReport({ group: "g", identifier: "", text: "t" });
    expect(r.getStatus({ group: "g", identifier: "" }).status.updateTime).toBe(5_000);
    expect(r.reportsOf("g", "main").reports[0]?.time).toBe(5_010);
    tick(10);
    r.setStatus({ group: "g", identifier: "", status: 1, details: "now" });
    expect(r.getStatus({ group: "g", identifier: "" }).status.updateTime).toBe(5_020);
    tick(10);
    r.setStatus({ group: "g", identifier: "", status: 1, details: "now" }); // no-op
    expect(r.getStatus({ group: "g", identifier: "" }).status.updateTime).toBe(5_020);
  });
});
