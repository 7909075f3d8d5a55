/**
 * End to end: AddReport and ListReports (docs/model.md): sequence
 * numbers, the fixed-capacity ring, capacity 0, text limits, and what the
 * empty identifier and `all` mean for ListReports.
 */
import { status as Code } from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import type { SrClient } from "../../../clients/ts/index.js";
import { failsWithoutChange, revisionOf, serverPerFile, uniqueNames } from "../../helpers/rpc.js";
import type { TestServer } from "../../helpers/server.js";

let srv: TestServer;
let c: SrClient;
serverPerFile((server, client) => {
  srv = server;
  c = client;
});

const uniq = uniqueNames();

const revision = () => revisionOf(c);

const fails = (call: () => Promise<unknown>, code: Code, message: RegExp) => failsWithoutChange(c, call, code, message);

async function group(prefix: string, reportCapacity?: number): Promise<string> {
  const g = uniq(prefix);
  await c.registerGroup({ group: g, reportCapacity });
  return g;
}

/** [sequence, text] of one identifier's reports, oldest first. */
async function reportsOf(group: string, identifier = "main"): Promise<[bigint, string][]> {
  const res = await c.listReports({ group, identifier });
  expect(res.nextPageToken).toBe("");
  return (res.groups[0]?.identifiers[0]?.reports ?? []).map((r) => [r.sequence, r.text]);
}

describe("AddReport", () => {
  it("numbers reports 1, 2, 3 within the identifier; each is one change", async () => {
    const g = await group("seq");
    await c.registerIdentifier({ group: g, identifier: "other" });
    const before = await revision();
    expect(await c.addReport({ group: g, text: "one" })).toEqual({ sequence: 1n, revision: before + 1n });
    expect(await c.addReport({ group: g, identifier: "MAIN", text: "two" })).toEqual({ sequence: 2n, revision: before + 2n });
    // another identifier has its own sequence
    expect(await c.addReport({ group: g, identifier: "other", text: "a" })).toEqual({ sequence: 1n, revision: before + 3n });
    expect(await c.addReport({ group: g, text: "three" })).toEqual({ sequence: 3n, revision: before + 4n });
    expect(await reportsOf(g)).toEqual([
      [1n, "one"],
      [2n, "two"],
      [3n, "three"],
    ]);
    expect(await reportsOf(g, "other")).toEqual([[1n, "a"]]);
  });

  it("stamps each report with the time it was added, in milliseconds", async () => {
    const g = await group("time");
    const t0 = Date.now();
    await c.addReport({ group: g, text: "now" });
    const t1 = Date.now();
    const res = await c.listReports({ group: g, identifier: "main" });
    const time = res.groups[0]?.identifiers[0]?.reports[0]?.time?.getTime() ?? 0;
    expect(time).toBeGreaterThanOrEqual(t0);
    expect(time).toBeLessThanOrEqual(t1);
  });

  it("a full ring drops its oldest report; sequences keep growing", async () => {
    const g = await group("ring", 3);
    for (let i = 1; i <= 5; i++) {
      expect((await c.addReport({ group: g, text: `r${i}` })).sequence).toBe(BigInt(i));
    }
    expect(await reportsOf(g)).toEqual([
      [3n, "r3"],
      [4n, "r4"],
      [5n, "r5"],
    ]);
    const one = await group("ring1", 1);
    await c.addReport({ group: one, text: "a" });
    await c.addReport({ group: one, text: "b" });
    expect(await reportsOf(one)).toEqual([[2n, "b"]]);
  });

  it("capacity 0 accepts no reports: FAILED_PRECONDITION", async () => {
    const g = await group("cap0", 0);
    await fails(() => c.addReport({ group: g, text: "no room" }), Code.FAILED_PRECONDITION, /capacity 0/);
    await c.registerIdentifier({ group: g, identifier: "x", reportCapacity: 0 });
    await fails(() => c.addReport({ group: g, identifier: "x", text: "no room" }), Code.FAILED_PRECONDITION, /capacity 0/);
    expect(await reportsOf(g)).toEqual([]);
  });

  it("text: 2048 bytes accepted, more is INVALID_ARGUMENT naming text (counted in bytes)", async () => {
    const g = await group("text");
    await c.addReport({ group: g, text: "t".repeat(2048) });
    await c.addReport({ group: g, text: "é".repeat(1024) }); // 2048 bytes
    await fails(() => c.addReport({ group: g, text: "t".repeat(2049) }), Code.INVALID_ARGUMENT, /text/);
    await fails(() => c.addReport({ group: g, text: `${"é".repeat(1024)}x` }), Code.INVALID_ARGUMENT, /text.*2048/);
    expect((await reportsOf(g)).map(([s]) => s)).toEqual([1n, 2n]);
  });

  it("an empty identifier writes main; `all` is INVALID_ARGUMENT", async () => {
    const g = await group("addmain");
    await c.registerIdentifier({ group: g, identifier: "x" });
    await c.addReport({ group: g, identifier: "", text: "to main" });
    expect(await reportsOf(g)).toEqual([[1n, "to main"]]);
    expect(await reportsOf(g, "x")).toEqual([]);
    await fails(() => c.addReport({ group: g, identifier: "all", text: "t" }), Code.INVALID_ARGUMENT, /identifier/);
    await fails(() => c.addReport({ group: g, identifier: "All", text: "t" }), Code.INVALID_ARGUMENT, /identifier/);
  });

  it("NOT_FOUND names the unknown group or identifier", async () => {
    const g = await group("addnf");
    await fails(() => c.addReport({ group: `${g}-x`, text: "t" }), Code.NOT_FOUND, /group/);
    await fails(() => c.addReport({ group: g, identifier: "ghost", text: "t" }), Code.NOT_FOUND, /identifier 'ghost'/);
    await fails(() => c.addReport({ group: "", text: "t" }), Code.INVALID_ARGUMENT, /group/);
  });
});

describe("ListReports", () => {
  it("lists one identifier: group and identifier as registered, capacity, reports oldest first", async () => {
    const g = await group("Lr", 4);
    await c.registerIdentifier({ group: g, identifier: "Db", reportCapacity: 2 });
    await c.addReport({ group: g, identifier: "db", text: "x" });
    const res = await c.listReports({ group: g.toLowerCase(), identifier: "DB" });
    expect(res.revision).toBe(await revision());
    expect(res.nextPageToken).toBe("");
    expect(res.groups).toMatchObject([{ group: g, identifiers: [{ identifier: "Db", capacity: 2, reports: [{ sequence: 1n, text: "x" }] }] }]);
  });

  it("an empty identifier lists every identifier of the group, main first, those without reports too", async () => {
    const g = await group("lrall");
    await c.registerIdentifier({ group: g, identifier: "b", reportCapacity: 0 });
    await c.registerIdentifier({ group: g, identifier: "A" });
    await c.addReport({ group: g, identifier: "a", text: "ra" });
    await c.addReport({ group: g, text: "rm" });
    const res = await c.listReports({ group: g });
    expect(res.groups).toHaveLength(1);
    expect(res.groups[0]?.identifiers.map((i) => [i.identifier, i.capacity, i.reports.map((r) => r.text)])).toEqual([
      ["main", 50, ["rm"]],
      ["A", 50, ["ra"]],
      ["b", 0, []],
    ]);
  });

  it("an empty group and identifier list every group, internal ones included", async () => {
    const g = await group("lrevery");
    await c.addReport({ group: g, text: "mine" });
    const res = await c.listReports({});
    const names = res.groups.map((x) => x.group);
    expect(names).toContain("core");
    expect(names).toContain(g);
    expect(res.groups.find((x) => x.group === g)?.identifiers[0]?.reports.map((r) => r.text)).toEqual(["mine"]);
  });

  it("`all` is INVALID_ARGUMENT; unknown names are NOT_FOUND", async () => {
    const g = await group("lrbad");
    await fails(() => c.listReports({ group: g, identifier: "all" }), Code.INVALID_ARGUMENT, /identifier/);
    await fails(() => c.listReports({ group: g, identifier: "ALL" }), Code.INVALID_ARGUMENT, /identifier/);
    await fails(() => c.listReports({ group: `${g}-x` }), Code.NOT_FOUND, /group/);
    await fails(() => c.listReports({ group: g, identifier: "ghost" }), Code.NOT_FOUND, /identifier 'ghost'/);
    await fails(() => c.listReports({ group: "a/b" }), Code.INVALID_ARGUMENT, /group/);
  });

  it("an identifier without a group is INVALID_ARGUMENT", async () => {
    await fails(() => c.listReports({ identifier: "main" }), Code.INVALID_ARGUMENT, /identifier/);
  });
});
