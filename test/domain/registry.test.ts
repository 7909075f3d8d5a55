/**
 * Unit tests of the Registry class, no sockets: the rules easiest to state
 * at this level (ordering, write rules and their errors, limits, change
 * events). Paging and selections are in listing.test.ts.
 */
import { describe, expect, it } from "vitest";
import { type Change, Registry } from "../../src/domain/registry/registry.js";
import { errorOf } from "../helpers/errors.js";

function registry(start = 1_000) {
  let clock = start;
  const r = new Registry(undefined, () => clock);
  return { r, tick: (ms = 1) => (clock += ms) };
}


const reasonOf = (run: () => unknown) => errorOf(run)?.reason;
/** What a failed call says: its reason, message and facts. */
const told = (run: () => unknown) => {
  const error = errorOf(run);
  return [error?.reason, error?.message, error?.facts];
};

const identifiersOf = (r: Registry, group: string) => {
  const found = r.groupByKey(group.toLowerCase());
  return found ? r.identifiersInOrder(found).map((i) => i.name) : [];
};

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
    const groups = r.groupsInOrder().map((g) => g.name);
    expect(groups).toEqual(["_", "A", "b", "C", "É", "é", "\uFFFF", "\u{10000}"]);
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

describe("write rules", () => {
  it("each write answers the revision of the change it emitted, and registration the status it emitted", () => {
    const { r } = registry();
    const seen: Change[] = [];
    r.onChange((c) => seen.push(c));
    const answers = [
      r.registerGroup({ group: "g" }).revision,
      r.registerIdentifier({ group: "g", identifier: "a", status: -3, details: "d" }).revision,
      r.setStatus({ group: "g", identifier: "a", status: 2 }).revision,
      r.addReport({ group: "g", identifier: "a", text: "t" }).revision,
      r.unregisterIdentifier({ group: "g", identifier: "a" }).revision,
      r.unregisterGroup({ group: "g" }).revision,
    ];
    expect(answers).toEqual(seen.map((c) => c.revision));
    r.registerGroup({ group: "h" });
    const { status } = r.registerIdentifier({ group: "h", identifier: "B", details: "x" });
    expect(seen.at(-1)).toEqual({ kind: "registered", revision: status.revision, groupKey: "h", identifierKey: "b", group: "h", identifier: "B", status });
    expect(status).toMatchObject({ status: 1, details: "x", ready: true });
  });

  it("values are checked before anything else changes: status, details, capacity", () => {
    const { r } = registry();
    r.registerGroup({ group: "g" });
    const before = r.revision;
    expect(errorOf(() => r.setStatus({ group: "g", identifier: "", status: 0 }))?.message).toBe("status: must not be 0 (> 0 is ready, < 0 is not ready)");
    for (const status of [1.5, 2 ** 31, -(2 ** 31) - 1, Number.NaN]) {
      expect(errorOf(() => r.setStatus({ group: "g", identifier: "", status }))?.message).toBe("status: must be a signed 32-bit integer");
    }
    for (const reportCapacity of [-1, 32768, 0.5]) {
      expect(told(() => r.registerGroup({ group: "new", reportCapacity }))).toEqual([
        "CAPACITY_OUT_OF_RANGE",
        `report_capacity: must be between 0 and 32767 (got ${reportCapacity})`,
        { field: "report_capacity" },
      ]);
    }
    expect(reasonOf(() => r.registerIdentifier({ group: "g", identifier: "x", status: 0 }))).toBe("STATUS_ZERO");
    expect(reasonOf(() => r.registerIdentifier({ group: "g", identifier: "x", details: "d".repeat(2049) }))).toBe("TEXT_TOO_LONG");
    expect(reasonOf(() => r.addReport({ group: "g", identifier: "", text: "\ud800" }))).toBe("UTF8_INVALID");
    // Arguments before existence: a bad value names its field even for an unknown group.
    expect(reasonOf(() => r.setStatus({ group: "nosuch", identifier: "", status: 0 }))).toBe("STATUS_ZERO");
    expect(r.revision).toBe(before);
    expect(r.isInternal("new")).toBeUndefined();
    // The 32-bit bounds themselves are statuses.
    expect(r.setStatus({ group: "g", identifier: "", status: -(2 ** 31) }).changed).toBe(true);
    expect(r.setStatus({ group: "g", identifier: "", status: 2 ** 31 - 1 }).changed).toBe(true);
  });

  it("writes name `main` when the identifier is empty and refuse `all` in any case", () => {
    const { r } = registry();
    r.registerGroup({ group: "g" });
    expect(r.setStatus({ group: "g", identifier: "", status: 5 }).changed).toBe(true);
    expect(r.getStatus({ group: "g", identifier: "main" }).status.status).toBe(5);
    for (const identifier of ["all", "ALL", "All"]) {
      expect(told(() => r.addReport({ group: "g", identifier, text: "t" }))).toEqual([
        "NAME_RESERVED",
        "identifier: 'all' is reserved (it means the whole group) and cannot be written",
        { field: "identifier" },
      ]);
    }
  });

  it("re-registration with another capacity is CAPACITY_MISMATCH naming what exists", () => {
    const { r } = registry();
    r.registerGroup({ group: "Grp", reportCapacity: 5 });
    r.registerIdentifier({ group: "grp", identifier: "Id", reportCapacity: 7 });
    expect(told(() => r.registerGroup({ group: "GRP", reportCapacity: 6 }))).toEqual([
      "CAPACITY_MISMATCH",
      "report_capacity: group 'Grp' already exists with report capacity 5, not 6",
      { field: "report_capacity", group: "Grp" },
    ]);
    expect(told(() => r.registerIdentifier({ group: "grp", identifier: "ID", reportCapacity: 8 }))).toEqual([
      "CAPACITY_MISMATCH",
      "report_capacity: identifier 'Id' of group 'Grp' already exists with report capacity 7, not 8",
      { field: "report_capacity", group: "Grp", identifier: "Id" },
    ]);
    // The same capacity, or none given, is an idempotent success.
    expect(r.registerGroup({ group: "grp", reportCapacity: 5 }).created).toBe(false);
    expect(r.registerIdentifier({ group: "grp", identifier: "id" }).created).toBe(false);
  });

  it("names what is missing, internal or disabled in its errors", () => {
    const { r } = registry();
    r.registerInternalGroup({ group: "core" });
    r.registerGroup({ group: "G", reportCapacity: 0 });
    expect(told(() => r.setStatus({ group: "nosuch", identifier: "", status: 1 }))).toEqual(["GROUP_NOT_FOUND", "group 'nosuch' not found", { group: "nosuch" }]);
    expect(told(() => r.getStatus({ group: "g", identifier: "Nope" }))).toEqual([
      "IDENTIFIER_NOT_FOUND",
      "identifier 'Nope' not found in group 'G'",
      { group: "G", identifier: "Nope" },
    ]);
    expect(told(() => r.registerIdentifier({ group: "CORE", identifier: "x" }))).toEqual([
      "INTERNAL_GROUP",
      "group 'core' is internal to the server and read-only",
      { group: "core" },
    ]);
    expect(told(() => r.addReport({ group: "g", identifier: "MAIN", text: "t" }))).toEqual([
      "REPORTS_DISABLED",
      "identifier 'main' of group 'G' has report capacity 0 and accepts no reports",
      { group: "G", identifier: "main" },
    ]);
  });
});

describe("limits", () => {
  it("groups, identifiers per group and identifiers in all are LIMIT_REACHED naming the limit, changing nothing", () => {
    const r = new Registry({ maxGroups: 2, maxIdentifiersPerGroup: 2, maxIdentifiers: 4 });
    r.registerGroup({ group: "a" });
    r.registerGroup({ group: "b" });
    const before = r.revision;
    expect(told(() => r.registerGroup({ group: "c" }))).toEqual([
      "LIMIT_REACHED",
      "limits.max_groups: the registry holds its maximum of 2 groups",
      { limit: "limits.max_groups" },
    ]);
    r.registerIdentifier({ group: "a", identifier: "x" });
    expect(told(() => r.registerIdentifier({ group: "a", identifier: "y" }))).toEqual([
      "LIMIT_REACHED",
      "limits.max_identifiers_per_group: group 'a' holds its maximum of 2 identifiers",
      { limit: "limits.max_identifiers_per_group", group: "a" },
    ]);
    r.unregisterIdentifier({ group: "a", identifier: "x" });
    expect(r.registerIdentifier({ group: "a", identifier: "y" }).created).toBe(true);
    expect(r.totalIdentifiers).toBe(3);
    const big = new Registry({ maxGroups: 10, maxIdentifiersPerGroup: 10, maxIdentifiers: 2 });
    big.registerGroup({ group: "a" });
    big.registerIdentifier({ group: "a", identifier: "x" });
    expect(told(() => big.registerIdentifier({ group: "a", identifier: "y" }))).toEqual([
      "LIMIT_REACHED",
      "limits.max_identifiers: the registry holds its maximum of 2 identifiers",
      { limit: "limits.max_identifiers" },
    ]);
    expect(told(() => big.registerGroup({ group: "b" }))).toEqual([
      "LIMIT_REACHED",
      "limits.max_identifiers: the registry holds its maximum of 2 identifiers (a group needs one for main)",
      { limit: "limits.max_identifiers" },
    ]);
    // a/x registered, a/x removed, a/y registered: the refused calls changed nothing.
    expect(r.revision).toBe(before + 3);
  });
});

describe("reads", () => {
  it("`all` aggregates a group: not ready when a member is below zero, an empty group ready with its own revision", () => {
    const { r, tick } = registry(2_000);
    r.registerGroup({ group: "g" });
    tick();
    r.registerIdentifier({ group: "g", identifier: "a", status: -1 });
    expect(r.getStatus({ group: "G", identifier: "ALL" }).status).toEqual({
      group: "g",
      identifier: "all",
      status: -1,
      details: "aggregated",
      ready: false,
      revision: 2,
      updateTime: 2_001,
    });
    expect(r.checkStatus({ group: "g", identifier: "all" })).toEqual({ ready: false, status: -1 });
    r.unregisterIdentifier({ group: "g", identifier: "a" });
    r.unregisterIdentifier({ group: "g", identifier: "main" });
    expect(r.getStatus({ group: "g", identifier: "all" }).status).toMatchObject({ status: 1, ready: true, revision: 4, updateTime: 2_000 });
    r.registerGroup({ group: "b", status: -2 });
    expect(r.aggregates().map((v) => [v.group, v.status])).toEqual([
      ["b", -1],
      ["g", 1],
    ]);
  });

  it("snapshot selects everything, a group or one identifier, in list order; unknown names select nothing", () => {
    const { r } = registry();
    r.registerGroup({ group: "B" });
    r.registerGroup({ group: "a" });
    r.registerIdentifier({ group: "b", identifier: "z" });
    r.registerIdentifier({ group: "b", identifier: "Y" });
    const names = (views: { group: string; identifier: string }[]) => views.map((v) => `${v.group}/${v.identifier}`);
    expect(names(r.snapshot({}))).toEqual(["a/main", "B/main", "B/Y", "B/z"]);
    expect(names(r.snapshot({ group: "b" }))).toEqual(["B/main", "B/Y", "B/z"]);
    expect(names(r.snapshot({ group: "B", identifier: "y" }))).toEqual(["B/Y"]);
    expect(r.snapshot({ group: "nosuch" })).toEqual([]);
    expect(r.snapshot({ group: "b", identifier: "nosuch" })).toEqual([]);
    expect(r.reportsOf("nosuch", "main")).toEqual({ capacity: 0, reports: [] });
    expect(r.reportsOf("B", "Z")).toEqual({ capacity: 50, reports: [] });
  });

  it("reports go to their own identifier only, though new identifiers share an empty ring", () => {
    const { r } = registry();
    r.registerGroup({ group: "g", reportCapacity: 2 });
    r.registerIdentifier({ group: "g", identifier: "a", reportCapacity: 2 });
    r.addReport({ group: "g", identifier: "a", text: "one" });
    r.addReport({ group: "g", identifier: "a", text: "two" });
    r.addReport({ group: "g", identifier: "a", text: "three" });
    expect(r.reportsOf("g", "a").reports.map((x) => [x.sequence, x.text])).toEqual([
      [2, "two"],
      [3, "three"],
    ]);
    expect(r.reportsOf("g", "main")).toEqual({ capacity: 2, reports: [] });
    expect(r.addReport({ group: "g", identifier: "main", text: "m" }).sequence).toBe(1);
    expect(r.reportsOf("g", "a").reports.map((x) => x.sequence)).toEqual([2, 3]);
  });
});
