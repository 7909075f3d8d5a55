/**
 * The OpenSIPS-compatible MI endpoint (MI.md), end to end over real HTTP on
 * loopback: the four commands and their 4.0 aliases, named and positional
 * parameters, every error of MI.md, the JSON-RPC 2.0 envelope (batches,
 * notifications, parse and request errors) and the HTTP rules around it.
 */
import { request as httpRequest } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_LIMITS, Registry } from "../../../src/domain/registry/registry.js";
import { type HttpServer, startHttpServer } from "../../../src/transport/http/server.js";
import { type TestServer, startServer } from "../../helpers/server.js";

let srv: TestServer;
let http: HttpServer;
let base: string;

/** Media: main (1, no details), Backend (-5, "db down", 2 reports), cache (2, ""), zeta. */
beforeAll(async () => {
  srv = await startServer();
  const r = srv.registry;
  r.registerGroup({ group: "Media" });
  r.registerIdentifier({ group: "Media", identifier: "zeta", status: 4, details: "z" });
  r.registerIdentifier({ group: "Media", identifier: "Backend", status: -5, details: "db down" });
  r.registerIdentifier({ group: "media", identifier: "cache", status: 2, details: "" });
  r.addReport({ group: "Media", identifier: "Backend", text: "first" });
  r.addReport({ group: "Media", identifier: "Backend", text: "second" });
  r.registerGroup({ group: "alpha", status: 3, details: "ok" });
  r.registerGroup({ group: "Empty" });
  r.unregisterIdentifier({ group: "Empty", identifier: "main" });
  http = await startHttpServer(srv.registry, "127.0.0.1:0");
  base = `http://${http.address}`;
});

afterAll(async () => {
  await http?.close();
  await srv?.stop();
});

async function post(body: string, path = "/mi", init: RequestInit = {}): Promise<Response> {
  return fetch(`${base}${path}`, { method: "POST", headers: { "Content-Type": "application/json" }, body, ...init });
}

/** POSTs a JSON-RPC body and returns the parsed answer (HTTP 200, application/json). */
async function rpc(body: unknown, url = base): Promise<any> {
  const res = await fetch(`${url}/mi`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toMatch(/^application\/json/);
  return res.json();
}

async function call(method: string, params?: unknown, url = base): Promise<any> {
  const body: Record<string, unknown> = { jsonrpc: "2.0", method, id: 1 };
  if (params !== undefined) body.params = params;
  return rpc(body, url);
}

/** The result of a successful call (fails the test on an error answer). */
async function result(method: string, params?: unknown, url = base): Promise<any> {
  const res = await call(method, params, url);
  expect(res.error).toBeUndefined();
  expect(res).toMatchObject({ jsonrpc: "2.0", id: 1 });
  return res.result;
}

async function error(method: string, params?: unknown): Promise<any> {
  const res = await call(method, params);
  expect(res.result).toBeUndefined();
  expect(res.jsonrpc).toBe("2.0");
  expect(res.id).toBe(1);
  return res.error;
}

const GROUP_NOT_FOUND = { code: 404, message: "Group not found" };
const IDENTITY_NOT_FOUND = { code: 404, message: "Identity not found" };
const IDENTIFIER_NOT_FOUND = { code: 404, message: "Identifier not found" };
const TOO_FEW_OR_MANY = { code: -32602, message: "Invalid params", data: "Too few or too many parameters" };

/**
 * C's ctime() without the newline, worked out from Date's own toString()
 * ("Wed Feb 09 2022 10:53:50 GMT+0100 (...)"), not from its getters.
 */
function expectedCtime(seconds: number): string {
  const [weekday, month, day, year, clock] = new Date(seconds * 1000).toString().split(" ");
  return `${weekday} ${month} ${String(Number(day)).padStart(2, " ")} ${clock} ${year}`;
}

describe("sr_get_status", () => {
  it("answers main when no identifier is given, without Details when none are set", async () => {
    const res = await result("sr_get_status", { group: "Media" });
    expect(res).toEqual({ Readiness: true, Status: 1 });
    expect(Object.keys(res)).toEqual(["Readiness", "Status"]);
    expect(await result("sr_get_status", ["Media"])).toEqual(res);
  });

  it("answers an identifier, named or positional, with Readiness, Status and Details in that order", async () => {
    const named = await result("sr_get_status", { group: "Media", identifier: "Backend" });
    expect(named).toEqual({ Readiness: false, Status: -5, Details: "db down" });
    expect(Object.keys(named)).toEqual(["Readiness", "Status", "Details"]);
    expect(await result("sr_get_status", ["Media", "Backend"])).toEqual(named);
    // Named parameters in any order.
    expect(await result("sr_get_status", { identifier: "Backend", group: "Media" })).toEqual(named);
  });

  it("prints empty details as an empty string, distinct from no details", async () => {
    const res = await fetch(`${base}/mi`, {
      method: "POST",
      body: JSON.stringify({ jsonrpc: "2.0", method: "sr_get_status", params: ["Media", "cache"], id: 1 }),
    });
    const text = await res.text();
    expect(text).toContain('"Details":""');
    expect(JSON.parse(text).result).toEqual({ Readiness: true, Status: 2, Details: "" });
  });

  it("matches names ASCII-case-insensitively; an empty identifier is main", async () => {
    expect(await result("sr_get_status", ["MEDIA", "backEND"])).toEqual({ Readiness: false, Status: -5, Details: "db down" });
    expect(await result("sr_get_status", ["media", "MAIN"])).toEqual({ Readiness: true, Status: 1 });
    expect(await result("sr_get_status", ["media", ""])).toEqual({ Readiness: true, Status: 1 });
  });

  it("aggregates the group for `all` in any case", async () => {
    expect(await result("sr_get_status", ["Media", "all"])).toEqual({ Readiness: false, Status: -1, Details: "aggregated" });
    expect(await result("sr_get_status", { group: "ALPHA", identifier: "ALL" })).toEqual({ Readiness: true, Status: 1, Details: "aggregated" });
    // An empty group is ready.
    expect(await result("sr_get_status", ["empty", "All"])).toEqual({ Readiness: true, Status: 1, Details: "aggregated" });
  });

  it("reads the internal core group like any other", async () => {
    expect(await result("sr_get_status", ["core"])).toEqual({ Readiness: true, Status: 1, Details: "running" });
  });

  it("answers 404 Group not found and 404 Identity not found", async () => {
    expect(await error("sr_get_status", ["nosuch"])).toEqual(GROUP_NOT_FOUND);
    expect(await error("sr_get_status", ["nosuch", "main"])).toEqual(GROUP_NOT_FOUND);
    expect(await error("sr_get_status", ["Media", "nosuch"])).toEqual(IDENTITY_NOT_FOUND);
    // The group's main was removed: the default identifier is not found either.
    expect(await error("sr_get_status", ["Empty"])).toEqual(IDENTITY_NOT_FOUND);
  });

  it("answers names that can never exist like missing ones", async () => {
    expect(await error("sr_get_status", ["Me\u0001dia"])).toEqual(GROUP_NOT_FOUND);
    expect(await error("sr_get_status", ["a/b"])).toEqual(GROUP_NOT_FOUND);
    expect(await error("sr_get_status", [""])).toEqual(GROUP_NOT_FOUND);
    expect(await error("sr_get_status", ["x".repeat(300)])).toEqual(GROUP_NOT_FOUND);
    // The group is looked at first, as in OpenSIPS.
    expect(await error("sr_get_status", ["nosuch", "bad\u007f"])).toEqual(GROUP_NOT_FOUND);
    expect(await error("sr_get_status", ["Media", "bad\u007f"])).toEqual(IDENTITY_NOT_FOUND);
    expect(await error("sr_get_status", ["Media", "\ud800"])).toEqual(IDENTITY_NOT_FOUND);
  });

  it("refuses parameter lists that match no recipe with -32602", async () => {
    expect(await error("sr_get_status")).toEqual(TOO_FEW_OR_MANY);
    expect(await error("sr_get_status", [])).toEqual(TOO_FEW_OR_MANY);
    expect(await error("sr_get_status", {})).toEqual(TOO_FEW_OR_MANY);
    expect(await error("sr_get_status", ["Media", "main", "extra"])).toEqual(TOO_FEW_OR_MANY);
    expect(await error("sr_get_status", { group: "Media", ident: "main" })).toEqual(TOO_FEW_OR_MANY);
    expect(await error("sr_get_status", { identifier: "main" })).toEqual(TOO_FEW_OR_MANY);
    expect(await error("sr_get_status", { Group: "Media" })).toEqual(TOO_FEW_OR_MANY);
  });

  it("takes integer parameters as their decimal text and refuses other types with -32602", async () => {
    srv.registry.registerGroup({ group: "42" });
    expect(await result("sr_get_status", [42])).toEqual({ Readiness: true, Status: 1 });
    expect(await error("sr_get_status", { group: true })).toEqual({ code: -32602, message: "Invalid params", data: "Parameter 'group' must be a string" });
    expect(await error("sr_get_status", ["Media", null])).toMatchObject({ code: -32602, message: "Invalid params" });
    expect(await error("sr_get_status", [["Media"]])).toMatchObject({ code: -32602, message: "Invalid params" });
  });
});

describe("sr_list_status", () => {
  it("lists a group's identifiers, main first then by lowercased name, Details only when set", async () => {
    const res = await result("sr_list_status", { group: "media" });
    expect(res).toEqual([
      { Name: "main", Readiness: true, Status: 1 },
      { Name: "Backend", Readiness: false, Status: -5, Details: "db down" },
      { Name: "cache", Readiness: true, Status: 2, Details: "" },
      { Name: "zeta", Readiness: true, Status: 4, Details: "z" },
    ]);
    expect(Object.keys(res[0])).toEqual(["Name", "Readiness", "Status"]);
    expect(Object.keys(res[1])).toEqual(["Name", "Readiness", "Status", "Details"]);
    expect(await result("sr_list_status", ["MEDIA"])).toEqual(res);
  });

  it("lists every group, internal core and empty groups included, when no group is given", async () => {
    const res: any[] = await result("sr_list_status");
    expect(await result("sr_list_status", [])).toEqual(res);
    expect(await result("sr_list_status", {})).toEqual(res);
    const names = res.map((g) => g.Name);
    expect(names).toEqual(expect.arrayContaining(["core", "Media", "alpha", "Empty"]));
    expect(names).toEqual([...names].sort((a, b) => (a.toLowerCase() < b.toLowerCase() ? -1 : 1)));
    for (const g of res) expect(Object.keys(g)).toEqual(["Name", "Identifiers"]);
    expect(res.find((g) => g.Name === "core").Identifiers).toEqual([{ Name: "main", Readiness: true, Status: 1, Details: "running" }]);
    expect(res.find((g) => g.Name === "Empty").Identifiers).toEqual([]);
    expect(res.find((g) => g.Name === "Media").Identifiers).toEqual(await result("sr_list_status", ["Media"]));
  });

  it("answers 404 Group not found and -32602 for too many parameters", async () => {
    expect(await error("sr_list_status", ["nosuch"])).toEqual(GROUP_NOT_FOUND);
    expect(await error("sr_list_status", [""])).toEqual(GROUP_NOT_FOUND);
    expect(await error("sr_list_status", ["bad\u0000"])).toEqual(GROUP_NOT_FOUND);
    expect(await error("sr_list_status", ["Media", "main"])).toEqual(TOO_FEW_OR_MANY);
    expect(await error("sr_list_status", { name: "Media" })).toEqual(TOO_FEW_OR_MANY);
  });
});

describe("sr_list_reports", () => {
  it("lists one identifier's reports oldest first with Timestamp, Date (ctime) and Log", async () => {
    const before = Math.floor(Date.now() / 1000);
    const res: any[] = await result("sr_list_reports", { group: "MEDIA", identifier: "backend" });
    expect(res.map((r) => r.Log)).toEqual(["first", "second"]);
    for (const report of res) {
      expect(Object.keys(report)).toEqual(["Timestamp", "Date", "Log"]);
      expect(Number.isInteger(report.Timestamp)).toBe(true);
      expect(report.Timestamp).toBeLessThanOrEqual(before);
      expect(report.Timestamp).toBeGreaterThan(before - 600);
      expect(report.Date).toBe(expectedCtime(report.Timestamp));
      expect(report.Date).toMatch(/^[A-Z][a-z]{2} [A-Z][a-z]{2} [ 123]\d \d\d:\d\d:\d\d \d{4}$/);
    }
    expect(await result("sr_list_reports", ["Media", "Backend"])).toEqual(res);
    expect(await result("sr_list_reports", ["Media", "cache"])).toEqual([]);
  });

  it("lists a group's identifiers with their reports when no identifier is given", async () => {
    const res: any[] = await result("sr_list_reports", ["media"]);
    expect(res.map((i) => i.Name)).toEqual(["main", "Backend", "cache", "zeta"]);
    for (const i of res) expect(Object.keys(i)).toEqual(["Name", "Reports"]);
    expect(res[1].Reports).toEqual(await result("sr_list_reports", ["Media", "Backend"]));
    expect(res[0].Reports).toEqual([]);
  });

  it("lists every group when nothing is given, core's own reports included", async () => {
    const res: any[] = await result("sr_list_reports");
    for (const g of res) expect(Object.keys(g)).toEqual(["Name", "Identifiers"]);
    const core = res.find((g) => g.Name === "core");
    expect(core.Identifiers).toHaveLength(1);
    expect(core.Identifiers[0].Name).toBe("main");
    expect(core.Identifiers[0].Reports.map((r: any) => r.Log)).toEqual(["initializing", "initialization completed, ready now"]);
    expect(res.find((g) => g.Name === "Media").Identifiers).toEqual(await result("sr_list_reports", ["Media"]));
    expect(res.find((g) => g.Name === "Empty").Identifiers).toEqual([]);
  });

  it("answers 404 Group not found and 404 Identifier not found (not Identity)", async () => {
    expect(await error("sr_list_reports", ["nosuch"])).toEqual(GROUP_NOT_FOUND);
    expect(await error("sr_list_reports", ["nosuch", "main"])).toEqual(GROUP_NOT_FOUND);
    expect(await error("sr_list_reports", { group: "Media", identifier: "nosuch" })).toEqual(IDENTIFIER_NOT_FOUND);
    // No aggregate here, and an empty identifier names nothing.
    expect(await error("sr_list_reports", ["Media", "all"])).toEqual(IDENTIFIER_NOT_FOUND);
    expect(await error("sr_list_reports", ["Media", ""])).toEqual(IDENTIFIER_NOT_FOUND);
    expect(await error("sr_list_reports", ["Media", "a\nb"])).toEqual(IDENTIFIER_NOT_FOUND);
    expect(await error("sr_list_reports", ["Media", "main", "x"])).toEqual(TOO_FEW_OR_MANY);
    expect(await error("sr_list_reports", { identifier: "main" })).toEqual(TOO_FEW_OR_MANY);
  });
});

describe("sr_list_identifiers", () => {
  it("answers one object with Group (as registered) and Identifiers for a group", async () => {
    const res = await result("sr_list_identifiers", { group: "MEDIA" });
    expect(res).toEqual({ Group: "Media", Identifiers: ["main", "Backend", "cache", "zeta"] });
    expect(Object.keys(res)).toEqual(["Group", "Identifiers"]);
    expect(await result("sr_list_identifiers", ["empty"])).toEqual({ Group: "Empty", Identifiers: [] });
    expect(await result("sr_list_identifiers", ["core"])).toEqual({ Group: "core", Identifiers: ["main"] });
  });

  it("answers an array of every group when no group is given", async () => {
    const res: any[] = await result("sr_list_identifiers");
    expect(res).toEqual(expect.arrayContaining([{ Group: "core", Identifiers: ["main"] }, { Group: "Media", Identifiers: ["main", "Backend", "cache", "zeta"] }]));
    expect(res.map((g) => g.Group)).toEqual((await result("sr_list_status")).map((g: any) => g.Name));
  });

  it("answers 404 Group not found and -32602 for too many parameters", async () => {
    expect(await error("sr_list_identifiers", ["nosuch"])).toEqual(GROUP_NOT_FOUND);
    expect(await error("sr_list_identifiers", ["Media", "main"])).toEqual(TOO_FEW_OR_MANY);
  });
});

describe("4.0 aliases", () => {
  const aliases: [string, string, unknown[]][] = [
    ["status_report:get", "sr_get_status", [["Media"], ["Media", "Backend"], { group: "media", identifier: "ALL" }]],
    ["status_report:status", "sr_list_status", [undefined, ["Media"], { group: "core" }]],
    ["status_report:reports", "sr_list_reports", [undefined, ["Media"], ["Media", "Backend"], { group: "core", identifier: "main" }]],
    ["status_report:identifiers", "sr_list_identifiers", [undefined, ["Media"], { group: "Empty" }]],
  ];
  for (const [alias, name, paramSets] of aliases) {
    it(`${alias} answers as ${name}`, async () => {
      for (const params of paramSets) expect(await result(alias, params)).toEqual(await result(name, params));
    });
  }

  it("status_report:get refuses no parameters, and aliases give the same errors", async () => {
    expect(await error("status_report:get")).toEqual(TOO_FEW_OR_MANY);
    expect(await error("status_report:get", ["Media", "nosuch"])).toEqual(IDENTITY_NOT_FOUND);
    expect(await error("status_report:reports", ["Media", "nosuch"])).toEqual(IDENTIFIER_NOT_FOUND);
    expect(await error("status_report:status", ["nosuch"])).toEqual(GROUP_NOT_FOUND);
    expect(await error("status_report:identifiers", ["nosuch"])).toEqual(GROUP_NOT_FOUND);
  });
});

describe("report dates", () => {
  it("prints Timestamp in seconds and Date as ctime() in local time, day padded with a space", async () => {
    const times = [
      new Date(2022, 1, 9, 10, 53, 50, 750).getTime(), // Wed Feb  9 10:53:50 2022 (milliseconds truncated)
      new Date(2022, 10, 23, 7, 5, 3, 0).getTime(), // Wed Nov 23 07:05:03 2022
    ];
    let now = times[0] as number;
    const registry = new Registry(DEFAULT_LIMITS, () => now);
    registry.registerGroup({ group: "clock" });
    registry.addReport({ group: "clock", identifier: "main", text: "one" });
    now = times[1] as number;
    registry.addReport({ group: "clock", identifier: "main", text: "two" });
    const own = await startHttpServer(registry, "127.0.0.1:0");
    try {
      const res = await result("sr_list_reports", ["clock", "main"], `http://${own.address}`);
      expect(res).toEqual([
        { Timestamp: Math.floor((times[0] as number) / 1000), Date: "Wed Feb  9 10:53:50 2022", Log: "one" },
        { Timestamp: (times[1] as number) / 1000, Date: "Wed Nov 23 07:05:03 2022", Log: "two" },
      ]);
    } finally {
      await own.close();
    }
  });
});

describe("listings are whole", () => {
  it("follows every page and joins groups and identifiers split across pages", async () => {
    const registry = new Registry();
    registry.registerGroup({ group: "g1" });
    for (let i = 1; i < 5000; i++) registry.registerIdentifier({ group: "g1", identifier: `i${String(i).padStart(5, "0")}` });
    registry.registerGroup({ group: "g2" });
    for (let i = 1; i < 6000; i++) registry.registerIdentifier({ group: "g2", identifier: `i${String(i).padStart(5, "0")}` });
    registry.registerIdentifier({ group: "g1", identifier: "log", reportCapacity: 32767 });
    for (let i = 1; i <= 12_000; i++) registry.addReport({ group: "g1", identifier: "log", text: `r${i}` });
    // The registry itself needs more than one page for each of these.
    expect(registry.listStatus({ group: "", pageSize: 10_000, pageToken: "" }).nextPageToken).not.toBe("");
    expect(registry.listReports({ group: "g1", identifier: "log", pageSize: 10_000, pageToken: "" }).nextPageToken).not.toBe("");

    const own = await startHttpServer(registry, "127.0.0.1:0");
    const url = `http://${own.address}`;
    try {
      const status: any[] = await result("sr_list_status", [], url);
      expect(status.map((g) => [g.Name, g.Identifiers.length])).toEqual([
        ["g1", 5001],
        ["g2", 6000],
      ]);
      const ids: any[] = await result("sr_list_identifiers", [], url);
      expect(ids.map((g) => [g.Group, g.Identifiers.length, new Set(g.Identifiers).size])).toEqual([
        ["g1", 5001, 5001],
        ["g2", 6000, 6000],
      ]);
      const expected = Array.from({ length: 12_000 }, (_, i) => `r${i + 1}`);
      const one: any[] = await result("sr_list_reports", ["g1", "log"], url);
      expect(one.map((r) => r.Log)).toEqual(expected);
      const all: any[] = await result("sr_list_reports", [], url);
      expect(all.map((g) => g.Name)).toEqual(["g1", "g2"]);
      const g1 = all[0].Identifiers;
      expect(g1).toHaveLength(5001);
      expect(g1.filter((i: any) => i.Name === "log")).toHaveLength(1);
      expect(g1.find((i: any) => i.Name === "log").Reports.map((r: any) => r.Log)).toEqual(expected);
    } finally {
      await own.close();
    }
  });
});

describe("JSON-RPC 2.0 envelope", () => {
  it("echoes string, number and null ids", async () => {
    const ask = (id: unknown) => rpc({ jsonrpc: "2.0", method: "sr_get_status", params: ["alpha"], id });
    expect(await ask("abc")).toEqual({ jsonrpc: "2.0", result: { Readiness: true, Status: 3, Details: "ok" }, id: "abc" });
    expect((await ask(7)).id).toBe(7);
    expect(await ask(null)).toEqual({ jsonrpc: "2.0", result: { Readiness: true, Status: 3, Details: "ok" }, id: null });
  });

  it("answers -32601 Method not found for unknown methods", async () => {
    for (const method of ["sr_nope", "status_report:nope", "SR_GET_STATUS", "sr_set_status", ""]) {
      expect(await error(method, ["Media"])).toEqual({ code: -32601, message: "Method not found" });
    }
  });

  it("answers -32700 Parse error with HTTP 200 for a body that is not JSON", async () => {
    for (const body of ["{not json", "", '{"jsonrpc":"2.0",', Buffer.from([0x7b, 0xff, 0xfe, 0x7d])]) {
      const res = await post(body as string);
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toMatch(/^application\/json/);
      const json: any = await res.json();
      expect(json).toMatchObject({ jsonrpc: "2.0", error: { code: -32700, message: "Parse error" }, id: null });
      expect(json.result).toBeUndefined();
    }
  });

  it("answers -32600 Invalid Request for JSON that is not a request", async () => {
    const invalid = async (body: unknown, id: unknown = null) => {
      const res = await rpc(body);
      expect(res).toMatchObject({ jsonrpc: "2.0", error: { code: -32600, message: "Invalid Request" }, id });
    };
    await invalid({ jsonrpc: "1.0", method: "sr_get_status", params: ["Media"], id: 5 }, 5);
    await invalid({ method: "sr_get_status", params: ["Media"], id: 5 }, 5);
    await invalid({ jsonrpc: "2.0", method: 1, id: 5 }, 5);
    await invalid({ jsonrpc: "2.0", method: "sr_get_status", params: "Media", id: 5 }, 5);
    await invalid({ jsonrpc: "2.0", method: "sr_get_status", params: ["Media"], id: { a: 1 } });
    // Invalid even without an id: it is no notification.
    await invalid({ jsonrpc: "2.0", method: 1 });
    await invalid("sr_get_status");
    await invalid(42);
    await invalid(null);
    // An empty batch is one error, not an array.
    await invalid([]);
  });

  it("answers a batch in order, skipping notifications and answering invalid members", async () => {
    const res = await rpc([
      { jsonrpc: "2.0", method: "sr_get_status", params: ["Media", "Backend"], id: 1 },
      { jsonrpc: "2.0", method: "sr_list_identifiers", params: ["Media"] },
      { jsonrpc: "2.0", method: "sr_nope", id: "x" },
      42,
      { jsonrpc: "2.0", method: "status_report:get", params: { group: "nosuch" }, id: 3 },
    ]);
    expect(res).toEqual([
      { jsonrpc: "2.0", result: { Readiness: false, Status: -5, Details: "db down" }, id: 1 },
      { jsonrpc: "2.0", error: { code: -32601, message: "Method not found" }, id: "x" },
      { jsonrpc: "2.0", error: expect.objectContaining({ code: -32600, message: "Invalid Request" }), id: null },
      { jsonrpc: "2.0", error: GROUP_NOT_FOUND, id: 3 },
    ]);
  });

  it("refuses a batch of more than 100 requests as one Invalid Request, and answers one of 100", async () => {
    const call = (id: number) => ({ jsonrpc: "2.0", method: "sr_get_status", params: ["Media"], id });
    const tooMany = await rpc(Array.from({ length: 101 }, (_, i) => call(i)));
    expect(tooMany).toEqual({ jsonrpc: "2.0", error: expect.objectContaining({ code: -32600, data: expect.stringMatching(/at most 100/) }), id: null });
    const full = await rpc(Array.from({ length: 100 }, (_, i) => call(i)));
    expect(Array.isArray(full) && full.length).toBe(100);
  });

  it("sends nothing back for a notification or a batch of notifications only", async () => {
    for (const body of [
      { jsonrpc: "2.0", method: "sr_get_status", params: ["Media"] },
      { jsonrpc: "2.0", method: "sr_nope" },
      [
        { jsonrpc: "2.0", method: "sr_list_status" },
        { jsonrpc: "2.0", method: "sr_get_status", params: [] },
      ],
    ]) {
      const res = await post(JSON.stringify(body));
      expect(res.status).toBe(204);
      expect(await res.text()).toBe("");
    }
  });
});

describe("HTTP", () => {
  it("answers POST on /mi, / and /json alike", async () => {
    const body = JSON.stringify({ jsonrpc: "2.0", method: "sr_get_status", params: ["alpha"], id: 9 });
    const answers = await Promise.all(["/mi", "/", "/json", "/mi?x=1"].map(async (path) => (await post(body, path)).json()));
    for (const a of answers) expect(a).toEqual({ jsonrpc: "2.0", result: { Readiness: true, Status: 3, Details: "ok" }, id: 9 });
  });

  it("answers other methods with 405 and Allow: POST, and other paths with 404", async () => {
    for (const path of ["/mi", "/", "/json"]) {
      for (const method of ["GET", "PUT", "DELETE"]) {
        const res = await fetch(`${base}${path}`, { method });
        expect(res.status).toBe(405);
        expect(res.headers.get("allow")).toBe("POST");
        await res.text();
      }
    }
    const res = await post("{}", "/other");
    expect(res.status).toBe(404);
    await res.text();
    const get = await fetch(`${base}/mi/status`);
    expect(get.status).toBe(404);
    await get.text();
  });

  it("accepts a body of exactly 1 MiB and refuses one byte more with 413", async () => {
    const request = JSON.stringify({ jsonrpc: "2.0", method: "sr_get_status", params: ["alpha"], id: 1 });
    const exact = request + " ".repeat(1024 * 1024 - request.length);
    const ok = await post(exact);
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as any).result).toEqual({ Readiness: true, Status: 3, Details: "ok" });
    const over = await post(`${exact} `);
    expect(over.status).toBe(413);
    await over.text();
  });

  it("refuses a chunked body that grows past 1 MiB with 413", async () => {
    const status = await new Promise<number>((resolve, reject) => {
      const req = httpRequest(`${base}/mi`, { method: "POST", headers: { "Content-Type": "application/json" } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on("error", reject);
      const chunk = Buffer.alloc(64 * 1024, 0x20);
      let sent = 0;
      // Sends up to 4 MiB, stopping once the answer is in.
      const pump = () => {
        while (sent < 64) {
          sent++;
          if (!req.write(chunk)) {
            req.once("drain", pump);
            return;
          }
        }
        req.end();
      };
      req.write("[");
      pump();
    });
    expect(status).toBe(413);
  });

  it("close() ends idle keep-alive connections and stops listening", async () => {
    const own = await startHttpServer(srv.registry, "127.0.0.1:0");
    const url = `http://${own.address}`;
    expect(own.address).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(own.address).not.toBe("127.0.0.1:0");
    // fetch keeps the connection open afterwards.
    expect(await result("sr_get_status", ["alpha"], url)).toEqual({ Readiness: true, Status: 3, Details: "ok" });
    await own.close();
    await expect(fetch(`${url}/mi`, { method: "POST", body: "{}" })).rejects.toThrow();
  });

  it("close() does not wait for a client stuck in the middle of its body", async () => {
    const own = await startHttpServer(srv.registry, "127.0.0.1:0");
    const req = httpRequest(`http://${own.address}/mi`, {
      method: "POST",
      headers: { "Content-Type": "application/json", "Content-Length": "100", Expect: "100-continue" },
    });
    const ended = new Promise<string>((resolve) => {
      req.on("error", (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
      req.on("response", (res) => resolve(`HTTP ${res.statusCode}`));
    });
    // "100 Continue" means the server holds the request; the body never comes.
    await new Promise<void>((resolve) => req.on("continue", () => resolve()));
    req.write("{");
    await own.close();
    expect(await ended).toBe("ECONNRESET");
  });
});
