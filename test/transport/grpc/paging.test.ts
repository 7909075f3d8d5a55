/**
 * End to end: paging of ListStatus, ListIdentifiers and ListReports (docs/model.md,
 * AIP-158): default and maximum page sizes, the 1 MiB cap, stable
 * opaque tokens, and pages that concatenate to the unpaged list.
 *
 * Bulk data (thousands of identifiers or reports) is put in through the
 * in-process registry the server serves, to keep the suite fast; every
 * assertion is on what the client receives.
 */
import { status as Code } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ListIdentifiersResponse,
  ListReportsResponse,
  ListStatusResponse,
  SrClient,
} from "../../../clients/ts/index.js";
import { failsWithoutChange, serverPerFile, uniqueNames } from "../../helpers/rpc.js";
import type { TestServer } from "../../helpers/server.js";

let srv: TestServer;
let c: SrClient;
serverPerFile((server, client) => {
  srv = server;
  c = client;
});

const uniq = uniqueNames();


const fails = (call: () => Promise<unknown>, code: Code, message: RegExp) => failsWithoutChange(c, call, code, message);

const MiB = 1024 * 1024;

interface AnyPage<G> {
  groups: G[];
  nextPageToken: string;
}

/** Every page of a listing, following next_page_token to the end. */
async function pages<P extends AnyPage<unknown>>(list: (pageToken: string) => Promise<P>): Promise<P[]> {
  const out: P[] = [];
  let token = "";
  do {
    const page = await list(token);
    out.push(page);
    token = page.nextPageToken;
    if (out.length > 20_000) throw new Error("paging does not end");
  } while (token !== "");
  return out;
}

/** Concatenates pages, joining a group (and, for reports, an identifier) split across two pages. */
function concat<I>(list: AnyPage<{ group: string; identifiers: I[] }>[], sameEntry?: (a: I, b: I) => boolean, join?: (a: I, b: I) => I) {
  const out: { group: string; identifiers: I[] }[] = [];
  for (const page of list) {
    page.groups.forEach((g, gi) => {
      const last = out[out.length - 1];
      if (gi === 0 && last && last.group === g.group) {
        const ids = [...g.identifiers];
        const tail = last.identifiers[last.identifiers.length - 1];
        const head = ids[0];
        if (sameEntry && join && tail !== undefined && head !== undefined && sameEntry(tail, head)) {
          last.identifiers[last.identifiers.length - 1] = join(tail, head);
          ids.shift();
        }
        last.identifiers.push(...ids);
      } else {
        out.push({ ...g, identifiers: [...g.identifiers] });
      }
    });
  }
  return out;
}

type Reports = ListReportsResponse["groups"][number]["identifiers"][number];
const sameIdentifier = (a: Reports, b: Reports) => a.identifier === b.identifier;
const joinReports = (a: Reports, b: Reports): Reports => ({ ...a, reports: [...a.reports, ...b.reports] });

/** Entries of a ListReports page: each report is one, an identifier without reports too. */
const reportEntries = (page: ListReportsResponse) =>
  page.groups.reduce((n, g) => n + g.identifiers.reduce((m, i) => m + Math.max(1, i.reports.length), 0), 0);
/** Entries of a ListStatus or ListIdentifiers page: each identifier is one, a group without identifiers too. */
const statusEntries = (page: { groups: { identifiers: unknown[] }[] }) => page.groups.reduce((n, g) => n + Math.max(1, g.identifiers.length), 0);

/** Registers a group with extra identifiers and, per identifier, some reports. */
async function populate(group: string, ids: [string, number][]): Promise<void> {
  await c.registerGroup({ group, reportCapacity: 10 });
  for (const [identifier, reports] of ids) {
    if (identifier !== "main") await c.registerIdentifier({ group, identifier, reportCapacity: 10 });
    for (let i = 0; i < reports; i++) await c.addReport({ group, identifier, text: `${identifier}#${i + 1}` });
  }
}

describe("pages concatenate to the unpaged list", () => {
  const sizes = [1, 2, 3, 7];
  let prefix: string;

  beforeAll(async () => {
    prefix = uniq("cat");
    await populate(`${prefix}-a`, [
      ["main", 2],
      ["x", 0],
      ["y", 5],
    ]);
    await populate(`${prefix}-b`, [["main", 0]]);
    await populate(`${prefix}-c`, [
      ["main", 1],
      ["p", 3],
      ["q", 0],
      ["r", 1],
    ]);
    // Two groups without identifiers, one between others and one last.
    for (const empty of [`${prefix}-bb`, `${prefix}-d`]) {
      await c.registerGroup({ group: empty });
      await c.unregisterIdentifier({ group: empty });
    }
  });

  it("ListStatus, every group and one group", async () => {
    for (const group of ["", `${prefix}-c`]) {
      const whole = await c.listStatus({ group, pageSize: 10_000 });
      expect(whole.nextPageToken).toBe("");
      for (const pageSize of sizes) {
        const list = await pages((pageToken) => c.listStatus({ group, pageSize, pageToken }));
        for (const page of list) expect(statusEntries(page)).toBeLessThanOrEqual(pageSize);
        expect(list.slice(0, -1).every((p) => statusEntries(p) === pageSize)).toBe(true);
        expect(concat(list)).toEqual(whole.groups);
      }
    }
  });

  it("ListIdentifiers, every group and one group", async () => {
    for (const group of ["", `${prefix}-a`]) {
      const whole = await c.listIdentifiers({ group, pageSize: 10_000 });
      expect(whole.nextPageToken).toBe("");
      for (const pageSize of sizes) {
        const list = await pages((pageToken) => c.listIdentifiers({ group, pageSize, pageToken }));
        for (const page of list) expect(statusEntries(page)).toBeLessThanOrEqual(pageSize);
        expect(concat(list)).toEqual(whole.groups);
      }
    }
  });

  it("ListReports, every group, one group and one identifier", async () => {
    const requests = [
      { group: "", identifier: "" },
      { group: `${prefix}-a`, identifier: "" },
      { group: `${prefix}-A`, identifier: "Y" },
    ];
    for (const req of requests) {
      const whole = await c.listReports({ ...req, pageSize: 10_000 });
      expect(whole.nextPageToken).toBe("");
      for (const pageSize of sizes) {
        const list = await pages((pageToken) => c.listReports({ ...req, pageSize, pageToken }));
        for (const page of list) expect(reportEntries(page)).toBeLessThanOrEqual(pageSize);
        expect(concat(list, sameIdentifier, joinReports)).toEqual(whole.groups);
      }
    }
  });

  it("a group split across pages repeats its header, internal flag included", async () => {
    const group = `${prefix}-c`;
    const list = await pages((pageToken) => c.listStatus({ group, pageSize: 2, pageToken }));
    expect(list.map((p) => p.groups.map((g) => [g.group, g.internal, g.identifiers.map((i) => i.identifier)]))).toEqual([
      [[group, false, ["main", "p"]]],
      [[group, false, ["q", "r"]]],
    ]);
    const ids = await pages((pageToken) => c.listIdentifiers({ group: "", pageSize: 1, pageToken }));
    const core = ids.filter((p) => p.groups[0]?.group === "core");
    expect(core.map((p) => p.groups)).toEqual([[{ group: "core", internal: true, identifiers: ["main"] }]]);
    const a = ids.filter((p) => p.groups[0]?.group === `${prefix}-a`);
    expect(a.map((p) => p.groups[0]?.identifiers)).toEqual([["main"], ["x"], ["y"]]);
  });

  it("a group without identifiers is listed once, as its header alone, counting as one entry", async () => {
    const lists: ((pageToken: string) => Promise<AnyPage<{ group: string; identifiers: unknown[] }>>)[] = [
      (pageToken: string) => c.listStatus({ pageSize: 1, pageToken }),
      (pageToken: string) => c.listIdentifiers({ pageSize: 1, pageToken }),
      (pageToken: string) => c.listReports({ pageSize: 1, pageToken }),
    ];
    for (const list of lists) {
      const all = await pages(list);
      const entries = all.flatMap((p) => {
        expect(p.groups.length).toBeLessThanOrEqual(1); // one entry per page: an identifier or an empty group
        return p.groups.filter((g) => g.group.startsWith(prefix)).map((g) => [g.group.slice(prefix.length), g.identifiers.length]);
      });
      expect(entries.filter(([, n]) => n === 0)).toEqual([
        ["-bb", 0],
        ["-d", 0],
      ]);
      expect([...new Set(entries.map(([g]) => g))]).toEqual(["-a", "-b", "-bb", "-c", "-d"]);
    }
    expect((await c.listIdentifiers({ group: `${prefix}-bb` })).groups).toEqual([{ group: `${prefix}-bb`, internal: false, identifiers: [] }]);
    expect((await c.listReports({ group: `${prefix}-bb` })).groups).toEqual([{ group: `${prefix}-bb`, identifiers: [] }]);
  });

  it("ListReports splits one identifier's reports across pages, repeating group and identifier", async () => {
    const group = `${prefix}-a`;
    const list = await pages((pageToken) => c.listReports({ group, identifier: "y", pageSize: 2, pageToken }));
    expect(
      list.map((p) => p.groups.map((g) => [g.group, g.identifiers.map((i) => [i.identifier, i.capacity, i.reports.map((r) => r.text)])])),
    ).toEqual([
      [[group, [["y", 10, ["y#1", "y#2"]]]]],
      [[group, [["y", 10, ["y#3", "y#4"]]]]],
      [[group, [["y", 10, ["y#5"]]]]],
    ]);
    // Over the group: main's 2 reports, x (none, one entry), then y's 5.
    const all = await pages((pageToken) => c.listReports({ group, pageSize: 3, pageToken }));
    expect(all.map((p) => p.groups[0]?.identifiers.map((i) => `${i.identifier}:${i.reports.map((r) => r.sequence).join(",")}`))).toEqual([
      ["main:1,2", "x:"],
      ["y:1,2,3"],
      ["y:4,5"],
    ]);
  });
});

describe("page_size", () => {
  let bulk: string[];
  const reportsGroup = uniq("bulk-reports");

  beforeAll(() => {
    // 11,002 identifiers over two groups (10,000 is the per-group limit) and 10,005 reports.
    bulk = [uniq("bulk"), uniq("bulk")];
    const r = srv.registry;
    bulk.forEach((group, gi) => {
      r.registerGroup({ group });
      for (let i = 0; i < (gi === 0 ? 6_000 : 5_000); i++) r.registerIdentifier({ group, identifier: `id-${String(i).padStart(5, "0")}` });
    });
    r.registerGroup({ group: reportsGroup, reportCapacity: 20_000 });
    for (let i = 0; i < 10_005; i++) r.addReport({ group: reportsGroup, identifier: "main", text: `r${i}` });
  });

  afterAll(async () => {
    for (const group of [...bulk, reportsGroup]) await c.unregisterGroup({ group });
  });

  it("0 means 1,000 entries", async () => {
    const st = await c.listStatus({ group: bulk[0], pageSize: 0 });
    expect(statusEntries(st)).toBe(1_000);
    expect(st.nextPageToken).not.toBe("");
    const ids = await c.listIdentifiers({ group: bulk[0] });
    expect(statusEntries(ids)).toBe(1_000);
    expect(ids.nextPageToken).not.toBe("");
    const rep = await c.listReports({ group: reportsGroup, identifier: "main" });
    expect(reportEntries(rep)).toBe(1_000);
    expect(rep.nextPageToken).not.toBe("");
  });

  it("above 10,000 is treated as 10,000", async () => {
    for (const pageSize of [10_001, 2147483647]) {
      const st = await c.listStatus({ pageSize });
      expect(statusEntries(st)).toBe(10_000);
      expect(st.nextPageToken).not.toBe("");
      const ids = await c.listIdentifiers({ pageSize });
      expect(statusEntries(ids)).toBe(10_000);
      expect(ids.nextPageToken).not.toBe("");
      const rep = await c.listReports({ group: reportsGroup, pageSize });
      expect(reportEntries(rep)).toBe(10_000);
      expect(rep.nextPageToken).not.toBe("");
    }
    // and the rest follows on the next page
    const first = await c.listReports({ group: reportsGroup, pageSize: 50_000 });
    const second = await c.listReports({ group: reportsGroup, pageSize: 50_000, pageToken: first.nextPageToken });
    expect(second.groups[0]?.identifiers[0]?.reports.map((r) => r.text)).toEqual(["r10000", "r10001", "r10002", "r10003", "r10004"]);
    expect(second.nextPageToken).toBe("");
  });

  it("negative is INVALID_ARGUMENT naming page_size", async () => {
    for (const pageSize of [-1, -2147483648]) {
      await fails(() => c.listStatus({ pageSize }), Code.INVALID_ARGUMENT, /page_size/);
      await fails(() => c.listIdentifiers({ pageSize }), Code.INVALID_ARGUMENT, /page_size/);
      await fails(() => c.listReports({ pageSize }), Code.INVALID_ARGUMENT, /page_size/);
    }
  });
});

describe("page tokens", () => {
  let group: string;
  let other: string;

  beforeAll(async () => {
    group = uniq("tok");
    other = uniq("tok-other");
    await populate(group, [
      ["main", 3],
      ["a", 0],
      ["b", 0],
      ["c", 2],
    ]);
    await populate(other, [["main", 1]]);
  });

  it("a malformed token is INVALID_ARGUMENT naming page_token", async () => {
    const real = (await c.listStatus({ group, pageSize: 1 })).nextPageToken;
    const crafted = (json: string) => Buffer.from(json).toString("base64url");
    const bad = [
      "not a token!",
      "%%%",
      "abc",
      real.slice(0, -3),
      `${real}$`,
      crafted("{}"),
      crafted("[]"),
      crafted(`[2,"status","${group}","","${group}","a",-1]`),
      crafted(`[1,"status","${group}","","${group}","a",-7]`),
      crafted(`[1,"status","${group}","",3,"a",-1]`),
      "A".repeat(5000),
    ];
    for (const pageToken of bad) {
      await fails(() => c.listStatus({ group, pageSize: 1, pageToken }), Code.INVALID_ARGUMENT, /page_token/);
      await fails(() => c.listIdentifiers({ group, pageSize: 1, pageToken }), Code.INVALID_ARGUMENT, /page_token/);
      await fails(() => c.listReports({ group, pageSize: 1, pageToken }), Code.INVALID_ARGUMENT, /page_token/);
    }
  });

  it("a token from another RPC or another filter is INVALID_ARGUMENT naming page_token", async () => {
    const st = (await c.listStatus({ group, pageSize: 1 })).nextPageToken;
    const ids = (await c.listIdentifiers({ group, pageSize: 1 })).nextPageToken;
    const rep = (await c.listReports({ group, pageSize: 1 })).nextPageToken;
    const repOne = (await c.listReports({ group, identifier: "main", pageSize: 1 })).nextPageToken;
    const stAll = (await c.listStatus({ pageSize: 1 })).nextPageToken;
    for (const t of [st, ids, rep, repOne, stAll]) expect(t).not.toBe("");

    await fails(() => c.listIdentifiers({ group, pageToken: st }), Code.INVALID_ARGUMENT, /page_token/);
    await fails(() => c.listReports({ group, pageToken: st }), Code.INVALID_ARGUMENT, /page_token/);
    await fails(() => c.listStatus({ group, pageToken: ids }), Code.INVALID_ARGUMENT, /page_token/);
    await fails(() => c.listStatus({ group, pageToken: rep }), Code.INVALID_ARGUMENT, /page_token/);
    // same RPC, other filter
    await fails(() => c.listStatus({ group: other, pageToken: st }), Code.INVALID_ARGUMENT, /page_token/);
    await fails(() => c.listStatus({ group: "", pageToken: st }), Code.INVALID_ARGUMENT, /page_token/);
    await fails(() => c.listStatus({ group, pageToken: stAll }), Code.INVALID_ARGUMENT, /page_token/);
    await fails(() => c.listIdentifiers({ group: other, pageToken: ids }), Code.INVALID_ARGUMENT, /page_token/);
    await fails(() => c.listReports({ group, identifier: "c", pageToken: repOne }), Code.INVALID_ARGUMENT, /page_token/);
    await fails(() => c.listReports({ group, identifier: "", pageToken: repOne }), Code.INVALID_ARGUMENT, /page_token/);
    await fails(() => c.listReports({ group, identifier: "main", pageToken: rep }), Code.INVALID_ARGUMENT, /page_token/);
    // the same filter in another ASCII case is the same filter
    expect((await c.listStatus({ group: group.toUpperCase(), pageSize: 1, pageToken: st })).groups[0]?.identifiers[0]?.identifier).toBe("a");
  });

  it("tokens are stateless: reusable, and valid on another connection and after other changes", async () => {
    const first = await c.listStatus({ group, pageSize: 2 });
    const again1 = await c.listStatus({ group, pageSize: 2, pageToken: first.nextPageToken });
    const again2 = await c.listStatus({ group, pageSize: 2, pageToken: first.nextPageToken });
    expect(again2).toEqual(again1);
    const c2 = new SrClient(srv.address);
    try {
      expect(await c2.listStatus({ group, pageSize: 2, pageToken: first.nextPageToken })).toEqual(again1);
    } finally {
      c2.close();
    }
    // A change elsewhere moves the revision, not the page.
    await c.registerGroup({ group: uniq("tok-elsewhere") });
    const later = await c.listStatus({ group, pageSize: 2, pageToken: first.nextPageToken });
    expect(later.groups).toEqual(again1.groups);
    expect(later.revision).toBe(again1.revision + 1n);
    // A page size may change between pages.
    const rest = await c.listStatus({ group, pageSize: 10, pageToken: first.nextPageToken });
    expect(rest.groups[0]?.identifiers.map((i) => i.identifier)).toEqual(["b", "c"]);
    expect(rest.nextPageToken).toBe("");
  });

  it("identifiers removed (or added) between pages do not break the token", async () => {
    const g = uniq("rm");
    await populate(g, [
      ["main", 0],
      ["a", 0],
      ["b", 0],
      ["c", 0],
      ["d", 0],
      ["e", 0],
    ]);
    const p1 = await c.listIdentifiers({ group: g, pageSize: 2 });
    expect(p1.groups[0]?.identifiers).toEqual(["main", "a"]);
    // Remove the token's own position and the next one; add one before and one after.
    await c.unregisterIdentifier({ group: g, identifier: "a" });
    await c.unregisterIdentifier({ group: g, identifier: "b" });
    await c.registerIdentifier({ group: g, identifier: "0-before" });
    await c.registerIdentifier({ group: g, identifier: "cc" });
    const rest = await pages((pageToken) => c.listIdentifiers({ group: g, pageSize: 2, pageToken: pageToken || p1.nextPageToken }));
    expect(concat(rest)[0]?.identifiers).toEqual(["c", "cc", "d", "e"]);

    // The same for ListStatus and ListReports.
    const s1 = await c.listStatus({ group: g, pageSize: 3 });
    expect(s1.groups[0]?.identifiers.map((i) => i.identifier)).toEqual(["main", "0-before", "c"]);
    await c.unregisterIdentifier({ group: g, identifier: "c" });
    const s2 = await c.listStatus({ group: g, pageSize: 3, pageToken: s1.nextPageToken });
    expect(s2.groups[0]?.identifiers.map((i) => i.identifier)).toEqual(["cc", "d", "e"]);

    await c.addReport({ group: g, identifier: "d", text: "d1" });
    await c.addReport({ group: g, identifier: "d", text: "d2" });
    const r1 = await c.listReports({ group: g, pageSize: 3 });
    expect(r1.groups[0]?.identifiers.map((i) => i.identifier)).toEqual(["main", "0-before", "cc"]);
    await c.unregisterIdentifier({ group: g, identifier: "cc" });
    const r2 = await c.listReports({ group: g, pageSize: 3, pageToken: r1.nextPageToken });
    expect(r2.groups[0]?.identifiers.map((i) => [i.identifier, i.reports.map((r) => r.text)])).toEqual([
      ["d", ["d1", "d2"]],
      ["e", []],
    ]);
  });

  it("an identifier removed in the middle of its reports: the next page goes on with the next one", async () => {
    const g = uniq("rm-rep");
    await populate(g, [
      ["main", 0],
      ["a", 4],
      ["b", 1],
    ]);
    const p1 = await c.listReports({ group: g, pageSize: 2 });
    expect(p1.groups[0]?.identifiers.map((i) => [i.identifier, i.reports.length])).toEqual([
      ["main", 0],
      ["a", 1],
    ]);
    await c.unregisterIdentifier({ group: g, identifier: "a" });
    const p2 = await c.listReports({ group: g, pageSize: 2, pageToken: p1.nextPageToken });
    expect(p2.groups[0]?.identifiers.map((i) => [i.identifier, i.reports.map((r) => r.text)])).toEqual([["b", ["b#1"]]]);
    expect(p2.nextPageToken).toBe("");
  });

  it("reports dropped from a full ring between pages: the next page starts at the oldest kept", async () => {
    const g = uniq("ring");
    await c.registerGroup({ group: g, reportCapacity: 3 });
    for (const t of ["1", "2", "3"]) await c.addReport({ group: g, text: t });
    const p1 = await c.listReports({ group: g, identifier: "main", pageSize: 1 });
    expect(p1.groups[0]?.identifiers[0]?.reports.map((r) => r.text)).toEqual(["1"]);
    for (const t of ["4", "5"]) await c.addReport({ group: g, text: t }); // drops 1 and 2
    const rest = await pages((pageToken) => c.listReports({ group: g, identifier: "main", pageSize: 1, pageToken: pageToken || p1.nextPageToken }));
    expect(rest.flatMap((p) => p.groups[0]?.identifiers[0]?.reports.map((r) => r.text))).toEqual(["3", "4", "5"]);
  });

  it("a group removed between pages of every group: the next page goes on with the next group", async () => {
    const p = uniq("grm");
    for (const s of ["a", "b", "c"]) await populate(`${p}-${s}`, [["x", 0]]);
    const seen: string[] = [];
    let token = "";
    let removed = false;
    do {
      const page = await c.listIdentifiers({ pageSize: 1, pageToken: token });
      for (const g of page.groups) if (g.group.startsWith(p)) seen.push(`${g.group}/${g.identifiers.join(",")}`);
      if (!removed && page.groups[0]?.group === `${p}-a` && page.groups[0].identifiers[0] === "x") {
        await c.unregisterGroup({ group: `${p}-a` });
        await c.unregisterGroup({ group: `${p}-b` });
        removed = true;
      }
      token = page.nextPageToken;
    } while (token !== "");
    expect(seen).toEqual([`${p}-a/main`, `${p}-a/x`, `${p}-c/main`, `${p}-c/x`]);
  });

  describe("a token the server issued stays valid whatever the names (255-byte names of characters that need escaping)", () => {
    // Names are at most 255 bytes and may hold '\\' and '"'; the server must
    // accept every next_page_token it issues.
    const named: { ch: string; g: string; id: string }[] = [];

    beforeAll(async () => {
      for (const ch of ["\\", '"']) {
        const g = `${ch.repeat(250)}${uniq("e")}`.slice(0, 255);
        const id = ch.repeat(255);
        await c.registerGroup({ group: g, reportCapacity: 5 });
        await c.registerIdentifier({ group: g, identifier: id, reportCapacity: 5 });
        await c.registerIdentifier({ group: g, identifier: "zz" });
        await c.addReport({ group: g, identifier: id, text: "r1" });
        await c.addReport({ group: g, identifier: id, text: "r2" });
        named.push({ ch, g, id });
      }
    });

    it("ListStatus of one group", async () => {
      for (const { g, id } of named) {
        const st = await pages((pageToken) => c.listStatus({ group: g, pageSize: 1, pageToken }));
        expect(concat(st)[0]?.identifiers.map((i) => i.identifier)).toEqual(["main", id, "zz"]);
      }
    });

    it("ListIdentifiers of one group", async () => {
      for (const { g, id } of named) {
        const ids = await pages((pageToken) => c.listIdentifiers({ group: g, pageSize: 1, pageToken }));
        expect(concat(ids)[0]?.identifiers).toEqual(["main", id, "zz"]);
      }
    });

    it("ListReports of one identifier", async () => {
      for (const { g, id } of named) {
        const rep = await pages((pageToken) => c.listReports({ group: g, identifier: id, pageSize: 1, pageToken }));
        expect(rep.map((p) => p.groups[0]?.identifiers[0]?.reports[0]?.text)).toEqual(["r1", "r2"]);
      }
    });
  });
});

describe("a page stays under 1 MiB", () => {
  const groups: string[] = [];

  afterAll(async () => {
    for (const group of groups) await c.unregisterGroup({ group });
  });

  it("ListStatus with large details ends pages early", async () => {
    const g = uniq("big-details");
    groups.push(g);
    srv.registry.registerGroup({ group: g, details: "d".repeat(2048) });
    for (let i = 0; i < 700; i++) {
      srv.registry.registerIdentifier({ group: g, identifier: `${"n".repeat(200)}${String(i).padStart(4, "0")}`, details: "€".repeat(682) });
    }
    const list = await pages((pageToken) => c.listStatus({ group: g, pageSize: 10_000, pageToken }));
    expect(list.length).toBeGreaterThan(1);
    for (const page of list) expect(ListStatusResponse.encode(page).finish().length).toBeLessThan(MiB);
    expect(list.reduce((n, p) => n + statusEntries(p), 0)).toBe(701);
    const names = Array.from({ length: 700 }, (_, i) => `${"n".repeat(200)}${String(i).padStart(4, "0")}`);
    const listed = concat(list)[0]?.identifiers ?? [];
    expect(listed.map((i) => i.identifier)).toEqual(["main", ...names]);
    expect(listed.every((i, n) => i.details === (n === 0 ? "d".repeat(2048) : "€".repeat(682)))).toBe(true);
  });

  it("ListStatus counts the lease fields of leased identifiers", async () => {
    const g = uniq("big-leases");
    groups.push(g);
    srv.registry.registerGroup({ group: g });
    // Names sized so that a page of leased identifiers passes 1 MiB unless the lease fields are counted.
    for (let i = 0; i < 9_000; i++) {
      srv.registry.registerIdentifier({ group: g, identifier: `${String(i).padStart(5, "0")}${"l".repeat(45)}`, ttlMs: 3_600_000 });
    }
    const list = await pages((pageToken) => c.listStatus({ group: g, pageSize: 10_000, pageToken }));
    expect(list.length).toBeGreaterThan(1);
    for (const page of list) expect(ListStatusResponse.encode(page).finish().length).toBeLessThan(MiB);
    expect(concat(list)[0]?.identifiers.filter((i) => i.leaseTtl !== undefined)).toHaveLength(9_000);
  });

  it("ListIdentifiers with 255-byte names ends pages early", async () => {
    const g = `${"g".repeat(250)}${uniq("b")}`.slice(0, 255);
    groups.push(g);
    srv.registry.registerGroup({ group: g });
    for (let i = 0; i < 4_500; i++) srv.registry.registerIdentifier({ group: g, identifier: `${String(i).padStart(5, "0")}${"i".repeat(250)}` });
    const list = await pages((pageToken) => c.listIdentifiers({ group: g, pageSize: 10_000, pageToken }));
    expect(list.length).toBeGreaterThan(1);
    for (const page of list) expect(ListIdentifiersResponse.encode(page).finish().length).toBeLessThan(MiB);
    expect(concat(list)[0]?.identifiers).toHaveLength(4_501);
  });

  it("ListReports with large texts ends pages early, even inside one identifier", async () => {
    const g = uniq("big-reports");
    groups.push(g);
    srv.registry.registerGroup({ group: g, reportCapacity: 1_000 });
    for (let i = 0; i < 800; i++) srv.registry.addReport({ group: g, identifier: "main", text: `${i}:`.padEnd(2048, "t") });
    const list = await pages((pageToken) => c.listReports({ group: g, identifier: "main", pageSize: 10_000, pageToken }));
    expect(list.length).toBeGreaterThan(1);
    for (const page of list) expect(ListReportsResponse.encode(page).finish().length).toBeLessThan(MiB);
    const all = concat(list, sameIdentifier, joinReports)[0]?.identifiers[0]?.reports ?? [];
    expect(all.map((r) => Number(r.sequence))).toEqual(Array.from({ length: 800 }, (_, i) => i + 1));
  });
});
