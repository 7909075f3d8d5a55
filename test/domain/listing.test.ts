/**
 * Unit tests of listing (src/domain/listing), no sockets: the selection
 * parser shared by listings, WatchStatus and MI; the pager of ListStatus,
 * ListIdentifiers and ListReports with its tokens, check order and 1 MiB
 * limit; and the iterator that reads whole groups for MI.
 */
import { describe, expect, it } from "vitest";
import type { Reason } from "../../src/domain/errors.js";
import { listIdentifiers, listReports, listStatus } from "../../src/domain/listing/pager.js";
import { LIST_SELECTION, type SelectionInput, WATCH_SELECTION, parseSelection } from "../../src/domain/listing/selection.js";
import { MAX_PAGE_BYTES, estimateHeaderBytes, estimateNameBytes, estimateReportBytes, estimateStatusBytes } from "../../src/domain/listing/sizes.js";
import { listGroups } from "../../src/domain/listing/walk.js";
import type { GroupReportsPage, GroupStatusPage, Page } from "../../src/domain/registry/registry.js";
import { Registry } from "../../src/domain/registry/registry.js";

/** A registry whose clock stands still unless moved. */
function registry(start = 1_000) {
  const clock = { now: start };
  return { r: new Registry(undefined, () => clock.now), tick: (ms = 1) => (clock.now += ms) };
}

/** Expects the call to throw an SrError with this reason and, when given, message and facts. */
function refuses(run: () => unknown, reason: Reason, message?: string, facts?: Record<string, string>): void {
  const expected: Record<string, unknown> = { reason };
  if (message !== undefined) expected.message = message;
  if (facts !== undefined) expected.facts = facts;
  expect(run).toThrow(expect.objectContaining(expected));
}

/** Every page of a listing, following next_page_token to the end. */
function pages<P extends { nextPageToken: string }>(list: (pageToken: string) => P): P[] {
  const out: P[] = [];
  let token = "";
  do {
    const page = list(token);
    out.push(page);
    token = page.nextPageToken;
    if (out.length > 20_000) throw new Error("paging does not end");
  } while (token !== "");
  return out;
}

describe("selection", () => {
  const every = { group: "", identifier: "", groupKey: "", identifierKey: "" };

  it("selects every group, one group or one identifier: names as given, keys folded (ASCII only)", () => {
    expect(parseSelection({}, LIST_SELECTION)).toEqual(every);
    expect(parseSelection({ group: "", identifier: "" }, WATCH_SELECTION)).toEqual(every);
    expect(parseSelection({ group: "Media" }, LIST_SELECTION)).toEqual({ group: "Media", identifier: "", groupKey: "media", identifierKey: "" });
    expect(parseSelection({ group: "ÉMedia", identifier: "BackEnd" }, WATCH_SELECTION)).toEqual({
      group: "ÉMedia",
      identifier: "BackEnd",
      groupKey: "Émedia",
      identifierKey: "backend",
    });
  });

  it("checks the group's name: NAME_INVALID or UTF8_INVALID naming the field", () => {
    for (const rules of [LIST_SELECTION, WATCH_SELECTION]) {
      refuses(() => parseSelection({ group: "a/b" }, rules), "NAME_INVALID", "group: a group name must not contain '/'", { field: "group" });
      refuses(() => parseSelection({ group: "a\u0001" }, rules), "NAME_INVALID", "group: must not contain control characters (U+0000-U+001F, U+007F)");
      refuses(() => parseSelection({ group: "x".repeat(256) }, rules), "NAME_INVALID", "group: must be at most 255 bytes of UTF-8 (got 256)");
      refuses(() => parseSelection({ group: "\ud800" }, rules), "UTF8_INVALID", "group: must be valid UTF-8", { field: "group" });
    }
    expect(parseSelection({ group: "x".repeat(255) }, LIST_SELECTION).group).toHaveLength(255);
  });

  it("an identifier without its group is GROUP_REQUIRED", () => {
    for (const rules of [LIST_SELECTION, WATCH_SELECTION]) {
      for (const input of [{ identifier: "main" }, { group: "", identifier: "main" }, { group: "", identifier: "bad\u0000" }]) {
        refuses(() => parseSelection(input, rules), "GROUP_REQUIRED", "identifier: needs a group (an identifier is named within its group)", {
          field: "identifier",
        });
      }
    }
  });

  it("`all` as the identifier is NAME_RESERVED, saying what the call does instead", () => {
    for (const identifier of ["all", "ALL", "aLl"]) {
      refuses(
        () => parseSelection({ group: "g", identifier }, LIST_SELECTION),
        "NAME_RESERVED",
        "identifier: 'all' is not allowed here (leave identifier empty to list every identifier)",
        { field: "identifier" },
      );
      refuses(
        () => parseSelection({ group: "g", identifier }, WATCH_SELECTION),
        "NAME_RESERVED",
        "identifier: 'all' is not allowed here (leave identifier empty to watch every identifier of the group)",
      );
    }
    expect(parseSelection({ group: "g", identifier: "allx" }, LIST_SELECTION).identifierKey).toBe("allx");
  });

  it("checks the identifier's name like the group's", () => {
    refuses(() => parseSelection({ group: "g", identifier: "a\nb" }, LIST_SELECTION), "NAME_INVALID", undefined, { field: "identifier" });
    refuses(() => parseSelection({ group: "g", identifier: "\udc00" }, WATCH_SELECTION), "UTF8_INVALID", "identifier: must be valid UTF-8");
    refuses(() => parseSelection({ group: "g", identifier: "é".repeat(128) }, LIST_SELECTION), "NAME_INVALID", "identifier: must be at most 255 bytes of UTF-8 (got 256)");
    // A '/' is only refused in a group name.
    expect(parseSelection({ group: "g", identifier: "a/b" }, LIST_SELECTION).identifier).toBe("a/b");
  });

  it("checks the group before the identifier", () => {
    refuses(() => parseSelection({ group: "a/b", identifier: "all" }, LIST_SELECTION), "NAME_INVALID");
    refuses(() => parseSelection({ group: "\ud800", identifier: "\ud800" }, WATCH_SELECTION), "UTF8_INVALID", undefined, { field: "group" });
  });

  it("when empty does not select every (MI), a name given empty is refused and one left out selects every", () => {
    const mi = { call: "list" as const, emptySelectsEvery: false };
    refuses(() => parseSelection({ group: "" }, mi), "NAME_INVALID", "group: must not be empty (names are 1..255 bytes of UTF-8)", { field: "group" });
    refuses(() => parseSelection({ group: "g", identifier: "" }, mi), "NAME_INVALID", "identifier: must not be empty (names are 1..255 bytes of UTF-8)");
    refuses(() => parseSelection({ group: "g", identifier: "All" }, mi), "NAME_RESERVED");
    expect(parseSelection({}, mi)).toEqual(every);
    expect(parseSelection({ group: "G" }, mi)).toEqual({ group: "G", identifier: "", groupKey: "g", identifierKey: "" });
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
    const page = listStatus(r, { group: "g", pageSize: 4, pageToken: "" });
    expect(page.groups[0]?.identifiers).toHaveLength(4);
    expect(page.nextPageToken).toBe("");
    const p1 = listIdentifiers(r, { group: "g", pageSize: 2, pageToken: "" });
    const p2 = listIdentifiers(r, { group: "g", pageSize: 2, pageToken: p1.nextPageToken });
    expect(p2.groups[0]?.identifiers).toEqual(["i1", "i2"]);
    expect(p2.nextPageToken).toBe("");
  });

  it("a token whose every remaining entry was removed gives an empty last page", () => {
    const r = filled(3);
    const p1 = listIdentifiers(r, { group: "g", pageSize: 2, pageToken: "" });
    r.unregisterIdentifier({ group: "g", identifier: "i1" });
    r.unregisterIdentifier({ group: "g", identifier: "i2" });
    expect(listIdentifiers(r, { group: "g", pageSize: 2, pageToken: p1.nextPageToken })).toMatchObject({ groups: [], nextPageToken: "" });
  });

  it("ListReports: a page ending exactly at an identifier's last report continues with the next identifier", () => {
    const { r } = registry();
    r.registerGroup({ group: "g" });
    r.registerIdentifier({ group: "g", identifier: "a" });
    for (const t of ["m1", "m2"]) r.addReport({ group: "g", identifier: "main", text: t });
    r.addReport({ group: "g", identifier: "a", text: "a1" });
    const p1 = listReports(r, { group: "g", identifier: "", pageSize: 2, pageToken: "" });
    expect(p1.groups[0]?.identifiers.map((i) => i.reports.map((x) => x.text))).toEqual([["m1", "m2"]]);
    expect(p1.nextPageToken).not.toBe("");
    const p2 = listReports(r, { group: "g", identifier: "", pageSize: 2, pageToken: p1.nextPageToken });
    expect(p2.groups[0]?.identifiers.map((i) => [i.identifier, i.reports.map((x) => x.text)])).toEqual([["a", ["a1"]]]);
    expect(p2.nextPageToken).toBe("");
  });

  it("ListReports: reports added to a split identifier between pages are listed once, in order", () => {
    const { r } = registry();
    r.registerGroup({ group: "g" });
    for (const t of ["1", "2", "3"]) r.addReport({ group: "g", identifier: "main", text: t });
    const p1 = listReports(r, { group: "g", identifier: "main", pageSize: 2, pageToken: "" });
    r.addReport({ group: "g", identifier: "main", text: "4" });
    const p2 = listReports(r, { group: "g", identifier: "main", pageSize: 2, pageToken: p1.nextPageToken });
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
      const page = listIdentifiers(r, { group: "", pageSize: 1, pageToken: token });
      seen.push(page.groups.map((g) => `${g.group}[${g.identifiers.join(",")}]`).join(" "));
      token = page.nextPageToken;
    } while (token);
    expect(seen).toEqual(["a[main]", "b[]", "c[main]"]);
  });

  it("a page token is refused by another list and another filter", () => {
    const r = filled(3);
    const token = listStatus(r, { group: "g", pageSize: 1, pageToken: "" }).nextPageToken;
    refuses(() => listIdentifiers(r, { group: "g", pageSize: 1, pageToken: token }), "PAGE_TOKEN_INVALID");
    refuses(() => listStatus(r, { group: "", pageSize: 1, pageToken: token }), "PAGE_TOKEN_INVALID");
    expect(listStatus(r, { group: "G", pageSize: 1, pageToken: token }).groups[0]?.identifiers.map((v) => v.identifier)).toEqual(["i0"]);
  });

  it("lists in the registry's order, every group or one", () => {
    const { r } = registry();
    for (const g of ["b", "A", "É", "_"]) r.registerGroup({ group: g });
    for (const id of ["Zeta", "_under", "alpha", "x\u{1F600}", "x\uE000", "B"]) r.registerIdentifier({ group: "b", identifier: id });
    const whole = listIdentifiers(r, { group: "", pageSize: 0, pageToken: "" });
    expect(whole.groups.map((g) => g.group)).toEqual(r.groupsInOrder().map((g) => g.name));
    expect(whole.groups.map((g) => g.group)).toEqual(["_", "A", "b", "É"]);
    const b = r.groupByKey("b");
    if (!b) throw new Error("group b missing");
    const order = ["main", "_under", "alpha", "B", "x\uE000", "x\u{1F600}", "Zeta"];
    expect(r.identifiersInOrder(b).map((i) => i.name)).toEqual(order);
    expect(listIdentifiers(r, { group: "B", pageSize: 0, pageToken: "" }).groups).toEqual([{ group: "b", internal: false, identifiers: order }]);
    const one = pages((pageToken) => listStatus(r, { group: "b", pageSize: 2, pageToken }));
    const paged = one.map((p) => p.groups.flatMap((g) => g.identifiers.map((i) => i.identifier)));
    expect(paged).toEqual([order.slice(0, 2), order.slice(2, 4), order.slice(4, 6), order.slice(6)]);
    expect(one.every((p) => p.revision === r.revision)).toBe(true);
  });

  it("page_size: 0 means 1,000 entries, above 10,000 is 10,000, negative is PAGE_SIZE_INVALID", () => {
    const { r } = registry();
    for (const [group, n] of [
      ["big-a", 6_000],
      ["big-b", 5_000],
    ] as const) {
      r.registerGroup({ group });
      for (let i = 0; i < n; i++) r.registerIdentifier({ group, identifier: `id-${String(i).padStart(5, "0")}` });
    }
    r.registerGroup({ group: "log", reportCapacity: 20_000 });
    for (let i = 0; i < 10_005; i++) r.addReport({ group: "log", identifier: "main", text: `r${i}` });
    const entries = (page: { groups: { identifiers: unknown[] }[] }) => page.groups.reduce((n, g) => n + Math.max(1, g.identifiers.length), 0);
    const reportEntries = (page: Page<GroupReportsPage>) =>
      page.groups.reduce((n, g) => n + g.identifiers.reduce((m, i) => m + Math.max(1, i.reports.length), 0), 0);
    expect(entries(listStatus(r, { group: "big-a", pageSize: 0, pageToken: "" }))).toBe(1_000);
    expect(entries(listIdentifiers(r, { group: "", pageSize: 0, pageToken: "" }))).toBe(1_000);
    expect(reportEntries(listReports(r, { group: "log", identifier: "main", pageSize: 0, pageToken: "" }))).toBe(1_000);
    for (const pageSize of [10_001, 2147483647]) {
      expect(entries(listStatus(r, { group: "", pageSize, pageToken: "" }))).toBe(10_000);
      expect(entries(listIdentifiers(r, { group: "", pageSize, pageToken: "" }))).toBe(10_000);
      const first = listReports(r, { group: "log", identifier: "", pageSize, pageToken: "" });
      expect(reportEntries(first)).toBe(10_000);
      const second = listReports(r, { group: "log", identifier: "", pageSize, pageToken: first.nextPageToken });
      expect(second.groups[0]?.identifiers[0]?.reports.map((x) => x.text)).toEqual(["r10000", "r10001", "r10002", "r10003", "r10004"]);
      expect(second.nextPageToken).toBe("");
    }
    for (const pageSize of [-1, -2147483648, 1.5]) {
      refuses(() => listStatus(r, { group: "", pageSize, pageToken: "" }), "PAGE_SIZE_INVALID", "page_size: must not be negative", { field: "page_size" });
      refuses(() => listIdentifiers(r, { group: "", pageSize, pageToken: "" }), "PAGE_SIZE_INVALID");
      refuses(() => listReports(r, { group: "", identifier: "", pageSize, pageToken: "" }), "PAGE_SIZE_INVALID");
    }
  });

  it("a malformed page token is PAGE_TOKEN_INVALID naming page_token", () => {
    const r = filled(3);
    const real = listStatus(r, { group: "g", pageSize: 1, pageToken: "" }).nextPageToken;
    const crafted = (json: string) => Buffer.from(json).toString("base64url");
    const malformed = "page_token: is malformed (pass the next_page_token of a previous page unchanged)";
    for (const pageToken of [
      "not a token!",
      "abc",
      real.slice(0, -3),
      `${real}$`,
      crafted("[]"),
      crafted('[2,"status","g","","g","a",-1]'),
      crafted('[1,"status","g","","g","a",-3]'),
      crafted('[1,"status","g","",3,"a",-1]'),
      "A".repeat(20_000),
    ]) {
      refuses(() => listStatus(r, { group: "g", pageSize: 1, pageToken }), "PAGE_TOKEN_INVALID", malformed, { field: "page_token" });
      refuses(() => listIdentifiers(r, { group: "g", pageSize: 1, pageToken }), "PAGE_TOKEN_INVALID", malformed);
      refuses(() => listReports(r, { group: "g", identifier: "", pageSize: 1, pageToken }), "PAGE_TOKEN_INVALID", malformed);
    }
    refuses(
      () => listReports(r, { group: "g", identifier: "main", pageSize: 1, pageToken: real }),
      "PAGE_TOKEN_INVALID",
      "page_token: was issued for a different request (the list and its group and identifier must not change between pages)",
    );
  });

  it("checks every argument in the order of the request's fields before looking anything up", () => {
    const r = filled(1);
    const list = (group: string, pageSize = 0, pageToken = "") => () => listStatus(r, { group, pageSize, pageToken });
    const reports = (group: string, identifier: string, pageSize = 0, pageToken = "") => () => listReports(r, { group, identifier, pageSize, pageToken });
    refuses(list("a/b", -1, "%%%"), "NAME_INVALID");
    refuses(list("nosuch", -1, "%%%"), "PAGE_SIZE_INVALID");
    refuses(list("nosuch", 0, "%%%"), "PAGE_TOKEN_INVALID");
    refuses(() => listIdentifiers(r, { group: "nosuch", pageSize: -1, pageToken: "" }), "PAGE_SIZE_INVALID");
    refuses(reports("a/b", "all", -1), "NAME_INVALID");
    refuses(reports("", "x", -1), "GROUP_REQUIRED");
    refuses(reports("nosuch", "all", -1), "NAME_RESERVED");
    refuses(reports("nosuch", "x", -1), "PAGE_SIZE_INVALID");
    refuses(reports("nosuch", "x", 0, "%%%"), "PAGE_TOKEN_INVALID");
    refuses(list("NoSuch"), "GROUP_NOT_FOUND", "group 'NoSuch' not found", { group: "NoSuch" });
    refuses(reports("nosuch", "x"), "GROUP_NOT_FOUND", "group 'nosuch' not found");
    refuses(reports("G", "Ghost"), "IDENTIFIER_NOT_FOUND", "identifier 'Ghost' not found in group 'g'", { group: "g", identifier: "Ghost" });
  });

  it("ListReports: an identifier without reports is one entry; one split across pages repeats its headers", () => {
    const { r } = registry();
    r.registerGroup({ group: "g", reportCapacity: 10 });
    r.registerIdentifier({ group: "g", identifier: "x", reportCapacity: 10 });
    r.registerIdentifier({ group: "g", identifier: "y", reportCapacity: 10 });
    for (let i = 1; i <= 2; i++) r.addReport({ group: "g", identifier: "main", text: `main#${i}` });
    for (let i = 1; i <= 5; i++) r.addReport({ group: "g", identifier: "y", text: `y#${i}` });
    const all = pages((pageToken) => listReports(r, { group: "g", identifier: "", pageSize: 3, pageToken }));
    expect(all.map((p) => p.groups.map((g) => [g.group, g.identifiers.map((i) => `${i.identifier}:${i.reports.map((x) => x.sequence).join(",")}`)]))).toEqual([
      [["g", ["main:1,2", "x:"]]],
      [["g", ["y:1,2,3"]]],
      [["g", ["y:4,5"]]],
    ]);
    const one = pages((pageToken) => listReports(r, { group: "G", identifier: "Y", pageSize: 2, pageToken }));
    expect(one.map((p) => p.groups.map((g) => [g.group, g.identifiers.map((i) => [i.identifier, i.capacity, i.reports.map((x) => x.text)])]))).toEqual([
      [["g", [["y", 10, ["y#1", "y#2"]]]]],
      [["g", [["y", 10, ["y#3", "y#4"]]]]],
      [["g", [["y", 10, ["y#5"]]]]],
    ]);
    const everything = listReports(r, { group: "", identifier: "", pageSize: 0, pageToken: "" });
    expect(everything.groups).toEqual(listReports(r, { group: "g", identifier: "", pageSize: 0, pageToken: "" }).groups);
  });

  it("a group removed between pages of every group: the next page goes on with the next group", () => {
    const { r } = registry();
    for (const g of ["a", "b", "c"]) {
      r.registerGroup({ group: g });
      r.registerIdentifier({ group: g, identifier: "x" });
    }
    const p1 = listIdentifiers(r, { group: "", pageSize: 1, pageToken: "" });
    const p2 = listIdentifiers(r, { group: "", pageSize: 1, pageToken: p1.nextPageToken });
    expect(p2.groups).toEqual([{ group: "a", internal: false, identifiers: ["x"] }]);
    r.unregisterGroup({ group: "a" });
    r.unregisterGroup({ group: "b" });
    const rest = pages((pageToken) => listIdentifiers(r, { group: "", pageSize: 1, pageToken: pageToken || p2.nextPageToken }));
    expect(rest.map((p) => p.groups.map((g) => `${g.group}/${g.identifiers.join(",")}`))).toEqual([["c/main"], ["c/x"]]);
  });
});

describe("a page stays under 1 MiB (estimated)", () => {
  /**
   * A page stops taking entries once its estimate reaches MAX_PAGE_BYTES, so
   * without its last entry it is under the limit, and only the last page may
   * end below it.
   */
  function expectCut<P extends { nextPageToken: string }>(list: P[], size: (page: P) => number, lastEntry: (page: P) => number): void {
    expect(list.length).toBeGreaterThan(1);
    for (const page of list) {
      expect(size(page) - lastEntry(page)).toBeLessThan(MAX_PAGE_BYTES);
      if (page.nextPageToken !== "") expect(size(page)).toBeGreaterThanOrEqual(MAX_PAGE_BYTES);
    }
  }

  const sum = <T>(items: T[], size: (item: T) => number) => items.reduce((n, item) => n + size(item), 0);
  const statusBytes = (page: Page<GroupStatusPage>) =>
    sum(page.groups, (g) => estimateHeaderBytes(g.group) + sum(g.identifiers, (v) => estimateStatusBytes(v.group, v.identifier, v.details)));
  const reportBytes = (page: Page<GroupReportsPage>) =>
    sum(page.groups, (g) => estimateHeaderBytes(g.group) + sum(g.identifiers, (i) => estimateHeaderBytes(i.identifier) + sum(i.reports, (x) => estimateReportBytes(x.text))));

  it("ListStatus with large details", () => {
    const { r } = registry();
    r.registerGroup({ group: "g", details: "d".repeat(2048) });
    const names = Array.from({ length: 700 }, (_, i) => `${"n".repeat(200)}${String(i).padStart(4, "0")}`);
    for (const identifier of names) r.registerIdentifier({ group: "g", identifier, details: "€".repeat(682) });
    const list = pages((pageToken) => listStatus(r, { group: "g", pageSize: 10_000, pageToken }));
    const last = (page: Page<GroupStatusPage>) => {
      const v = page.groups.at(-1)?.identifiers.at(-1);
      return v ? estimateStatusBytes(v.group, v.identifier, v.details) : 0;
    };
    expectCut(list, statusBytes, last);
    expect(list.flatMap((p) => p.groups.flatMap((g) => g.identifiers.map((v) => v.identifier)))).toEqual(["main", ...names]);
    expect(list.every((p) => p.groups.length === 1 && p.groups[0]?.group === "g")).toBe(true);
  });

  it("ListIdentifiers with 255-byte names", () => {
    const { r } = registry();
    const group = "g".repeat(255);
    r.registerGroup({ group });
    for (let i = 0; i < 4_500; i++) r.registerIdentifier({ group, identifier: `${String(i).padStart(5, "0")}${"i".repeat(250)}` });
    const list = pages((pageToken) => listIdentifiers(r, { group, pageSize: 10_000, pageToken }));
    const size = (page: Page<{ group: string; identifiers: string[] }>) =>
      sum(page.groups, (g) => estimateHeaderBytes(g.group) + sum(g.identifiers, estimateNameBytes));
    expectCut(list, size, (page) => estimateNameBytes(page.groups.at(-1)?.identifiers.at(-1) ?? ""));
    const names = list.flatMap((p) => p.groups.flatMap((g) => g.identifiers));
    expect(names).toHaveLength(4_501);
    expect(new Set(names).size).toBe(4_501);
  });

  it("ListReports with large texts, even inside one identifier", () => {
    const { r } = registry();
    r.registerGroup({ group: "g", reportCapacity: 1_000 });
    for (let i = 0; i < 800; i++) r.addReport({ group: "g", identifier: "main", text: `${i}:`.padEnd(2048, "t") });
    const list = pages((pageToken) => listReports(r, { group: "g", identifier: "main", pageSize: 10_000, pageToken }));
    const last = (page: Page<GroupReportsPage>) => estimateReportBytes(page.groups.at(-1)?.identifiers.at(-1)?.reports.at(-1)?.text ?? "");
    expectCut(list, reportBytes, last);
    // Every page repeats the group and identifier headers.
    expect(list.every((p) => p.groups.length === 1 && p.groups[0]?.identifiers.length === 1 && p.groups[0].identifiers[0]?.identifier === "main")).toBe(true);
    expect(list.flatMap((p) => p.groups[0]?.identifiers[0]?.reports.map((x) => x.sequence))).toEqual(Array.from({ length: 800 }, (_, i) => i + 1));
  });
});

describe("sizes", () => {
  it("estimates count UTF-8 bytes, details only when set", () => {
    expect(estimateStatusBytes("g", "é", undefined)).toBe(43);
    expect(estimateStatusBytes("g", "é", "")).toBe(47);
    expect(estimateStatusBytes("g", "é", "€")).toBe(50);
    expect(estimateReportBytes("€")).toBe(33);
    expect(estimateHeaderBytes("\u{1F600}")).toBe(14);
    expect(estimateNameBytes("ab")).toBe(5);
  });
});

describe("whole groups (listGroups)", () => {
  function populated() {
    const { r, tick } = registry(7_000);
    r.registerInternalGroup({ group: "core", status: -100, reportCapacity: 10 });
    r.registerGroup({ group: "Media" });
    tick();
    r.registerIdentifier({ group: "media", identifier: "Backend", status: -5, details: "db down", reportCapacity: 3 });
    r.addReport({ group: "Media", identifier: "Backend", text: "first" });
    r.addReport({ group: "Media", identifier: "Backend", text: "second" });
    r.registerGroup({ group: "Empty" });
    r.unregisterIdentifier({ group: "Empty", identifier: "main" });
    return r;
  }
  const select = (input: SelectionInput) => parseSelection(input, LIST_SELECTION);

  it("yields every group whole in list order, internal flag and empty groups included", () => {
    const r = populated();
    const groups = [...listGroups(r, select({}))];
    expect(groups.map((g) => [g.name, g.internal, g.identifiers.map((i) => i.name)])).toEqual([
      ["core", true, ["main"]],
      ["Empty", false, []],
      ["Media", false, ["main", "Backend"]],
    ]);
    const backend = groups[2]?.identifiers[1];
    expect(backend?.status).toEqual({ group: "Media", identifier: "Backend", status: -5, details: "db down", ready: false, revision: 5, updateTime: 7_001 });
    expect(backend?.capacity).toBe(3);
    expect(backend?.reports().map((x) => [x.sequence, x.text, x.time])).toEqual([
      [1, "first", 7_001],
      [2, "second", 7_001],
    ]);
    expect(groups[2]?.identifiers[0]?.reports()).toEqual([]);
  });

  it("reads an identifier's reports when asked, a first report made after the walk included", () => {
    const r = populated();
    const [media] = [...listGroups(r, select({ group: "media" }))];
    r.addReport({ group: "media", identifier: "main", text: "late" });
    expect(media?.identifiers[0]?.reports().map((x) => x.text)).toEqual(["late"]);
  });

  it("yields one group, or one identifier of it, whatever the case of the names", () => {
    const r = populated();
    const media = [...listGroups(r, select({ group: "MEDIA" }))];
    expect(media.map((g) => [g.name, g.identifiers.map((i) => i.name)])).toEqual([["Media", ["main", "Backend"]]]);
    const one = [...listGroups(r, select({ group: "media", identifier: "BACKEND" }))];
    expect(one.map((g) => [g.name, g.identifiers.map((i) => i.name)])).toEqual([["Media", ["Backend"]]]);
    expect([...listGroups(r, select({ group: "empty" }))]).toEqual([{ name: "Empty", internal: false, identifiers: [] }]);
  });

  it("refuses, when called and before reading anything, what does not exist", () => {
    const r = populated();
    refuses(() => listGroups(r, select({ group: "Nosuch" })), "GROUP_NOT_FOUND", "group 'Nosuch' not found");
    refuses(() => listGroups(r, select({ group: "nosuch", identifier: "main" })), "GROUP_NOT_FOUND");
    refuses(() => listGroups(r, select({ group: "media", identifier: "Ghost" })), "IDENTIFIER_NOT_FOUND", "identifier 'Ghost' not found in group 'Media'");
    refuses(() => listGroups(r, select({ group: "empty", identifier: "main" })), "IDENTIFIER_NOT_FOUND");
  });

  it("reads groups and reports beyond any page size or byte limit", () => {
    const { r } = registry();
    r.registerGroup({ group: "g1" });
    for (let i = 1; i < 5000; i++) r.registerIdentifier({ group: "g1", identifier: `i${String(i).padStart(5, "0")}` });
    r.registerGroup({ group: "g2" });
    for (let i = 1; i < 6000; i++) r.registerIdentifier({ group: "g2", identifier: `i${String(i).padStart(5, "0")}` });
    r.registerIdentifier({ group: "g1", identifier: "log", reportCapacity: 32767 });
    for (let i = 1; i <= 12_000; i++) r.addReport({ group: "g1", identifier: "log", text: `r${i}` });
    // The pager needs more than one page for each of these.
    expect(listStatus(r, { group: "", pageSize: 10_000, pageToken: "" }).nextPageToken).not.toBe("");
    expect(listReports(r, { group: "g1", identifier: "log", pageSize: 10_000, pageToken: "" }).nextPageToken).not.toBe("");
    const groups = [...listGroups(r, select({}))];
    expect(groups.map((g) => [g.name, g.identifiers.length, new Set(g.identifiers.map((i) => i.name)).size])).toEqual([
      ["g1", 5001, 5001],
      ["g2", 6000, 6000],
    ]);
    const expected = Array.from({ length: 12_000 }, (_, i) => `r${i + 1}`);
    expect(groups[0]?.identifiers.find((i) => i.name === "log")?.reports().map((x) => x.text)).toEqual(expected);
    const [one] = [...listGroups(r, select({ group: "g1", identifier: "log" }))];
    expect(one?.identifiers.map((i) => i.reports().length)).toEqual([12_000]);
  });
});
