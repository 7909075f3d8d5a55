/**
 * The OpenSIPS-compatible MI handler (docs/mi.md), called directly on an
 * in-process registry: the four commands and their 4.0 aliases, named and
 * positional parameters, every error of docs/mi.md, and the JSON-RPC 2.0 envelope
 * (batches, notifications, request errors). What only HTTP does is in
 * mi-http.test.ts.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { coreInitializing, coreRunning, createCore } from "../../../src/domain/core.js";
import { listReports, listStatus } from "../../../src/domain/listing/pager.js";
import { DEFAULT_LIMITS, Registry } from "../../../src/domain/registry/registry.js";
import { ctime } from "../../../src/transport/http/commands.js";
import { handleMiRequest } from "../../../src/transport/http/mi.js";

/** What a running server's registry holds, `core` running included. */
let registry: Registry;

/** Media: main (1, no details), Backend (-5, "db down", 2 reports), cache (2, ""), zeta. */
beforeAll(() => {
  const r = new Registry();
  createCore(r);
  coreInitializing(r);
  coreRunning(r);
  r.registerGroup({ group: "Media" });
  r.registerIdentifier({ group: "Media", identifier: "zeta", status: 4, details: "z" });
  r.registerIdentifier({ group: "Media", identifier: "Backend", status: -5, details: "db down" });
  r.registerIdentifier({ group: "media", identifier: "cache", status: 2, details: "" });
  r.addReport({ group: "Media", identifier: "Backend", text: "first" });
  r.addReport({ group: "Media", identifier: "Backend", text: "second" });
  r.registerGroup({ group: "alpha", status: 3, details: "ok" });
  r.registerGroup({ group: "Empty" });
  r.unregisterIdentifier({ group: "Empty", identifier: "main" });
  registry = r;
});

/** Answers a body as the listener sends it: parsed from JSON, answered, serialized to JSON. */
function rpc(body: unknown, on: Registry = registry): any {
  const response = handleMiRequest(on, JSON.parse(JSON.stringify(body)));
  expect(response).toBeDefined();
  return JSON.parse(JSON.stringify(response));
}

function call(method: string, params?: unknown, on: Registry = registry): any {
  const body: Record<string, unknown> = { jsonrpc: "2.0", method, id: 1 };
  if (params !== undefined) body.params = params;
  return rpc(body, on);
}

/** The result of a successful call (fails the test on an error answer). */
function result(method: string, params?: unknown, on: Registry = registry): any {
  const res = call(method, params, on);
  expect(res.error).toBeUndefined();
  expect(res).toMatchObject({ jsonrpc: "2.0", id: 1 });
  return res.result;
}

function error(method: string, params?: unknown): any {
  const res = call(method, params);
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
  it("answers main when no identifier is given, without Details when none are set", () => {
    const res = result("sr_get_status", { group: "Media" });
    expect(res).toEqual({ Readiness: true, Status: 1 });
    expect(Object.keys(res)).toEqual(["Readiness", "Status"]);
    expect(result("sr_get_status", ["Media"])).toEqual(res);
  });

  it("answers an identifier, named or positional, with Readiness, Status and Details in that order", () => {
    const named = result("sr_get_status", { group: "Media", identifier: "Backend" });
    expect(named).toEqual({ Readiness: false, Status: -5, Details: "db down" });
    expect(Object.keys(named)).toEqual(["Readiness", "Status", "Details"]);
    expect(result("sr_get_status", ["Media", "Backend"])).toEqual(named);
    // Named parameters in any order.
    expect(result("sr_get_status", { identifier: "Backend", group: "Media" })).toEqual(named);
  });

  it("prints empty details as an empty string, distinct from no details", () => {
    const text = JSON.stringify(handleMiRequest(registry, { jsonrpc: "2.0", method: "sr_get_status", params: ["Media", "cache"], id: 1 }));
    expect(text).toContain('"Details":""');
    expect(JSON.parse(text).result).toEqual({ Readiness: true, Status: 2, Details: "" });
  });

  it("matches names ASCII-case-insensitively; an empty identifier is main", () => {
    expect(result("sr_get_status", ["MEDIA", "backEND"])).toEqual({ Readiness: false, Status: -5, Details: "db down" });
    expect(result("sr_get_status", ["media", "MAIN"])).toEqual({ Readiness: true, Status: 1 });
    expect(result("sr_get_status", ["media", ""])).toEqual({ Readiness: true, Status: 1 });
  });

  it("aggregates the group for `all` in any case", () => {
    expect(result("sr_get_status", ["Media", "all"])).toEqual({ Readiness: false, Status: -1, Details: "aggregated" });
    expect(result("sr_get_status", { group: "ALPHA", identifier: "ALL" })).toEqual({ Readiness: true, Status: 1, Details: "aggregated" });
    // An empty group is ready.
    expect(result("sr_get_status", ["empty", "All"])).toEqual({ Readiness: true, Status: 1, Details: "aggregated" });
  });

  it("reads the internal core group like any other", () => {
    expect(result("sr_get_status", ["core"])).toEqual({ Readiness: true, Status: 1, Details: "running" });
  });

  it("answers 404 Group not found and 404 Identity not found", () => {
    expect(error("sr_get_status", ["nosuch"])).toEqual(GROUP_NOT_FOUND);
    expect(error("sr_get_status", ["nosuch", "main"])).toEqual(GROUP_NOT_FOUND);
    expect(error("sr_get_status", ["Media", "nosuch"])).toEqual(IDENTITY_NOT_FOUND);
    // The group's main was removed: the default identifier is not found either.
    expect(error("sr_get_status", ["Empty"])).toEqual(IDENTITY_NOT_FOUND);
  });

  it("answers names that can never exist like missing ones", () => {
    expect(error("sr_get_status", ["Me\u0001dia"])).toEqual(GROUP_NOT_FOUND);
    expect(error("sr_get_status", ["a/b"])).toEqual(GROUP_NOT_FOUND);
    expect(error("sr_get_status", [""])).toEqual(GROUP_NOT_FOUND);
    expect(error("sr_get_status", ["x".repeat(300)])).toEqual(GROUP_NOT_FOUND);
    // The group is looked at first, as in OpenSIPS.
    expect(error("sr_get_status", ["nosuch", "bad\u007f"])).toEqual(GROUP_NOT_FOUND);
    expect(error("sr_get_status", ["Media", "bad\u007f"])).toEqual(IDENTITY_NOT_FOUND);
    expect(error("sr_get_status", ["Media", "\ud800"])).toEqual(IDENTITY_NOT_FOUND);
  });

  it("refuses parameter lists that match no recipe with -32602", () => {
    expect(error("sr_get_status")).toEqual(TOO_FEW_OR_MANY);
    expect(error("sr_get_status", [])).toEqual(TOO_FEW_OR_MANY);
    expect(error("sr_get_status", {})).toEqual(TOO_FEW_OR_MANY);
    expect(error("sr_get_status", ["Media", "main", "extra"])).toEqual(TOO_FEW_OR_MANY);
    expect(error("sr_get_status", { group: "Media", ident: "main" })).toEqual(TOO_FEW_OR_MANY);
    expect(error("sr_get_status", { identifier: "main" })).toEqual(TOO_FEW_OR_MANY);
    expect(error("sr_get_status", { Group: "Media" })).toEqual(TOO_FEW_OR_MANY);
  });

  it("takes integer parameters as their decimal text and refuses other types with -32602", () => {
    registry.registerGroup({ group: "42" });
    expect(result("sr_get_status", [42])).toEqual({ Readiness: true, Status: 1 });
    expect(error("sr_get_status", { group: true })).toEqual({ code: -32602, message: "Invalid params", data: "Parameter 'group' must be a string" });
    expect(error("sr_get_status", ["Media", null])).toMatchObject({ code: -32602, message: "Invalid params" });
    expect(error("sr_get_status", [["Media"]])).toMatchObject({ code: -32602, message: "Invalid params" });
  });
});

describe("sr_list_status", () => {
  it("lists a group's identifiers, main first then by lowercased name, Details only when set", () => {
    const res = result("sr_list_status", { group: "media" });
    expect(res).toEqual([
      { Name: "main", Readiness: true, Status: 1 },
      { Name: "Backend", Readiness: false, Status: -5, Details: "db down" },
      { Name: "cache", Readiness: true, Status: 2, Details: "" },
      { Name: "zeta", Readiness: true, Status: 4, Details: "z" },
    ]);
    expect(Object.keys(res[0])).toEqual(["Name", "Readiness", "Status"]);
    expect(Object.keys(res[1])).toEqual(["Name", "Readiness", "Status", "Details"]);
    expect(result("sr_list_status", ["MEDIA"])).toEqual(res);
  });

  it("lists every group, internal core and empty groups included, when no group is given", () => {
    const res: any[] = result("sr_list_status");
    expect(result("sr_list_status", [])).toEqual(res);
    expect(result("sr_list_status", {})).toEqual(res);
    const names = res.map((g) => g.Name);
    expect(names).toEqual(expect.arrayContaining(["core", "Media", "alpha", "Empty"]));
    expect(names).toEqual([...names].sort((a, b) => (a.toLowerCase() < b.toLowerCase() ? -1 : 1)));
    for (const g of res) expect(Object.keys(g)).toEqual(["Name", "Identifiers"]);
    expect(res.find((g) => g.Name === "core").Identifiers).toEqual([{ Name: "main", Readiness: true, Status: 1, Details: "running" }]);
    expect(res.find((g) => g.Name === "Empty").Identifiers).toEqual([]);
    expect(res.find((g) => g.Name === "Media").Identifiers).toEqual(result("sr_list_status", ["Media"]));
  });

  it("answers 404 Group not found and -32602 for too many parameters", () => {
    expect(error("sr_list_status", ["nosuch"])).toEqual(GROUP_NOT_FOUND);
    expect(error("sr_list_status", [""])).toEqual(GROUP_NOT_FOUND);
    expect(error("sr_list_status", ["bad\u0000"])).toEqual(GROUP_NOT_FOUND);
    expect(error("sr_list_status", ["Media", "main"])).toEqual(TOO_FEW_OR_MANY);
    expect(error("sr_list_status", { name: "Media" })).toEqual(TOO_FEW_OR_MANY);
  });
});

describe("sr_list_reports", () => {
  it("lists one identifier's reports oldest first with Timestamp, Date (ctime) and Log", () => {
    const before = Math.floor(Date.now() / 1000);
    const res: any[] = result("sr_list_reports", { group: "MEDIA", identifier: "backend" });
    expect(res.map((r) => r.Log)).toEqual(["first", "second"]);
    for (const report of res) {
      expect(Object.keys(report)).toEqual(["Timestamp", "Date", "Log"]);
      expect(Number.isInteger(report.Timestamp)).toBe(true);
      expect(report.Timestamp).toBeLessThanOrEqual(before);
      expect(report.Timestamp).toBeGreaterThan(before - 600);
      expect(report.Date).toBe(expectedCtime(report.Timestamp));
      expect(report.Date).toMatch(/^[A-Z][a-z]{2} [A-Z][a-z]{2} [ 123]\d \d\d:\d\d:\d\d \d{4}$/);
    }
    expect(result("sr_list_reports", ["Media", "Backend"])).toEqual(res);
    expect(result("sr_list_reports", ["Media", "cache"])).toEqual([]);
  });

  it("lists a group's identifiers with their reports when no identifier is given", () => {
    const res: any[] = result("sr_list_reports", ["media"]);
    expect(res.map((i) => i.Name)).toEqual(["main", "Backend", "cache", "zeta"]);
    for (const i of res) expect(Object.keys(i)).toEqual(["Name", "Reports"]);
    expect(res[1].Reports).toEqual(result("sr_list_reports", ["Media", "Backend"]));
    expect(res[0].Reports).toEqual([]);
  });

  it("lists every group when nothing is given, core's own reports included", () => {
    const res: any[] = result("sr_list_reports");
    for (const g of res) expect(Object.keys(g)).toEqual(["Name", "Identifiers"]);
    const core = res.find((g) => g.Name === "core");
    expect(core.Identifiers).toHaveLength(1);
    expect(core.Identifiers[0].Name).toBe("main");
    expect(core.Identifiers[0].Reports.map((r: any) => r.Log)).toEqual(["initializing", "initialization completed, ready now"]);
    expect(res.find((g) => g.Name === "Media").Identifiers).toEqual(result("sr_list_reports", ["Media"]));
    expect(res.find((g) => g.Name === "Empty").Identifiers).toEqual([]);
  });

  it("answers 404 Group not found and 404 Identifier not found (not Identity)", () => {
    expect(error("sr_list_reports", ["nosuch"])).toEqual(GROUP_NOT_FOUND);
    expect(error("sr_list_reports", ["nosuch", "main"])).toEqual(GROUP_NOT_FOUND);
    expect(error("sr_list_reports", { group: "Media", identifier: "nosuch" })).toEqual(IDENTIFIER_NOT_FOUND);
    // No aggregate here, and an empty identifier names nothing.
    expect(error("sr_list_reports", ["Media", "all"])).toEqual(IDENTIFIER_NOT_FOUND);
    expect(error("sr_list_reports", ["Media", ""])).toEqual(IDENTIFIER_NOT_FOUND);
    expect(error("sr_list_reports", ["Media", "a\nb"])).toEqual(IDENTIFIER_NOT_FOUND);
    expect(error("sr_list_reports", ["Media", "main", "x"])).toEqual(TOO_FEW_OR_MANY);
    expect(error("sr_list_reports", { identifier: "main" })).toEqual(TOO_FEW_OR_MANY);
  });
});

describe("sr_list_identifiers", () => {
  it("answers one object with Group (as registered) and Identifiers for a group", () => {
    const res = result("sr_list_identifiers", { group: "MEDIA" });
    expect(res).toEqual({ Group: "Media", Identifiers: ["main", "Backend", "cache", "zeta"] });
    expect(Object.keys(res)).toEqual(["Group", "Identifiers"]);
    expect(result("sr_list_identifiers", ["empty"])).toEqual({ Group: "Empty", Identifiers: [] });
    expect(result("sr_list_identifiers", ["core"])).toEqual({ Group: "core", Identifiers: ["main"] });
  });

  it("answers an array of every group when no group is given", () => {
    const res: any[] = result("sr_list_identifiers");
    expect(res).toEqual(expect.arrayContaining([{ Group: "core", Identifiers: ["main"] }, { Group: "Media", Identifiers: ["main", "Backend", "cache", "zeta"] }]));
    expect(res.map((g) => g.Group)).toEqual((result("sr_list_status")).map((g: any) => g.Name));
  });

  it("answers 404 Group not found and -32602 for too many parameters", () => {
    expect(error("sr_list_identifiers", ["nosuch"])).toEqual(GROUP_NOT_FOUND);
    expect(error("sr_list_identifiers", ["Media", "main"])).toEqual(TOO_FEW_OR_MANY);
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
    it(`${alias} answers as ${name}`, () => {
      for (const params of paramSets) expect(result(alias, params)).toEqual(result(name, params));
    });
  }

  it("status_report:get refuses no parameters, and aliases give the same errors", () => {
    expect(error("status_report:get")).toEqual(TOO_FEW_OR_MANY);
    expect(error("status_report:get", ["Media", "nosuch"])).toEqual(IDENTITY_NOT_FOUND);
    expect(error("status_report:reports", ["Media", "nosuch"])).toEqual(IDENTIFIER_NOT_FOUND);
    expect(error("status_report:status", ["nosuch"])).toEqual(GROUP_NOT_FOUND);
    expect(error("status_report:identifiers", ["nosuch"])).toEqual(GROUP_NOT_FOUND);
  });
});

describe("report dates", () => {
  it("prints Timestamp in seconds and Date as ctime() in local time, day padded with a space", () => {
    const times = [
      new Date(2022, 1, 9, 10, 53, 50, 750).getTime(), // Wed Feb  9 10:53:50 2022 (milliseconds truncated)
      new Date(2022, 10, 23, 7, 5, 3, 0).getTime(), // Wed Nov 23 07:05:03 2022
    ];
    let now = times[0] as number;
    const own = new Registry(DEFAULT_LIMITS, () => now);
    own.registerGroup({ group: "clock" });
    own.addReport({ group: "clock", identifier: "main", text: "one" });
    now = times[1] as number;
    own.addReport({ group: "clock", identifier: "main", text: "two" });
    const res = result("sr_list_reports", ["clock", "main"], own);
    expect(res).toEqual([
      { Timestamp: Math.floor((times[0] as number) / 1000), Date: "Wed Feb  9 10:53:50 2022", Log: "one" },
      { Timestamp: (times[1] as number) / 1000, Date: "Wed Nov 23 07:05:03 2022", Log: "two" },
    ]);
    expect(ctime(times[0] as number)).toBe("Wed Feb  9 10:53:50 2022");
  });
});

describe("listings are whole", () => {
  it("reads groups and identifiers that span several pages of the gRPC listings whole", () => {
    const own = new Registry();
    own.registerGroup({ group: "g1" });
    for (let i = 1; i < 5000; i++) own.registerIdentifier({ group: "g1", identifier: `i${String(i).padStart(5, "0")}` });
    own.registerGroup({ group: "g2" });
    for (let i = 1; i < 6000; i++) own.registerIdentifier({ group: "g2", identifier: `i${String(i).padStart(5, "0")}` });
    own.registerIdentifier({ group: "g1", identifier: "log", reportCapacity: 32767 });
    for (let i = 1; i <= 12_000; i++) own.addReport({ group: "g1", identifier: "log", text: `r${i}` });
    // The pager needs more than one page for each of these.
    expect(listStatus(own, { group: "", pageSize: 10_000, pageToken: "" }).nextPageToken).not.toBe("");
    expect(listReports(own, { group: "g1", identifier: "log", pageSize: 10_000, pageToken: "" }).nextPageToken).not.toBe("");
    const status: any[] = result("sr_list_status", [], own);
    expect(status.map((g) => [g.Name, g.Identifiers.length])).toEqual([
      ["g1", 5001],
      ["g2", 6000],
    ]);
    const ids: any[] = result("sr_list_identifiers", [], own);
    expect(ids.map((g) => [g.Group, g.Identifiers.length, new Set(g.Identifiers).size])).toEqual([
      ["g1", 5001, 5001],
      ["g2", 6000, 6000],
    ]);
    const expected = Array.from({ length: 12_000 }, (_, i) => `r${i + 1}`);
    const one: any[] = result("sr_list_reports", ["g1", "log"], own);
    expect(one.map((r) => r.Log)).toEqual(expected);
    const all: any[] = result("sr_list_reports", [], own);
    expect(all.map((g) => g.Name)).toEqual(["g1", "g2"]);
    const g1 = all[0].Identifiers;
    expect(g1).toHaveLength(5001);
    expect(g1.filter((i: any) => i.Name === "log")).toHaveLength(1);
    expect(g1.find((i: any) => i.Name === "log").Reports.map((r: any) => r.Log)).toEqual(expected);
  });
});

describe("JSON-RPC 2.0 envelope", () => {
  it("echoes string, number and null ids", () => {
    const ask = (id: unknown) => rpc({ jsonrpc: "2.0", method: "sr_get_status", params: ["alpha"], id });
    expect(ask("abc")).toEqual({ jsonrpc: "2.0", result: { Readiness: true, Status: 3, Details: "ok" }, id: "abc" });
    expect((ask(7)).id).toBe(7);
    expect(ask(null)).toEqual({ jsonrpc: "2.0", result: { Readiness: true, Status: 3, Details: "ok" }, id: null });
  });

  it("answers -32601 Method not found for unknown methods", () => {
    for (const method of ["sr_nope", "status_report:nope", "SR_GET_STATUS", "sr_set_status", ""]) {
      expect(error(method, ["Media"])).toEqual({ code: -32601, message: "Method not found" });
    }
  });

  it("answers -32600 Invalid Request for JSON that is not a request", () => {
    const invalid = (body: unknown, id: unknown = null) => {
      const res = rpc(body);
      expect(res).toMatchObject({ jsonrpc: "2.0", error: { code: -32600, message: "Invalid Request" }, id });
    };
    invalid({ jsonrpc: "1.0", method: "sr_get_status", params: ["Media"], id: 5 }, 5);
    invalid({ method: "sr_get_status", params: ["Media"], id: 5 }, 5);
    invalid({ jsonrpc: "2.0", method: 1, id: 5 }, 5);
    invalid({ jsonrpc: "2.0", method: "sr_get_status", params: "Media", id: 5 }, 5);
    invalid({ jsonrpc: "2.0", method: "sr_get_status", params: ["Media"], id: { a: 1 } });
    // Invalid even without an id: it is no notification.
    invalid({ jsonrpc: "2.0", method: 1 });
    invalid("sr_get_status");
    invalid(42);
    invalid(null);
    // An empty batch is one error, not an array.
    invalid([]);
  });

  it("answers a batch in order, skipping notifications and answering invalid members", () => {
    const res = rpc([
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

  it("refuses a batch of more than 100 requests as one Invalid Request, and answers one of 100", () => {
    const call = (id: number) => ({ jsonrpc: "2.0", method: "sr_get_status", params: ["Media"], id });
    const tooMany = rpc(Array.from({ length: 101 }, (_, i) => call(i)));
    expect(tooMany).toEqual({ jsonrpc: "2.0", error: expect.objectContaining({ code: -32600, data: expect.stringMatching(/at most 100/) }), id: null });
    const full = rpc(Array.from({ length: 100 }, (_, i) => call(i)));
    expect(Array.isArray(full) && full.length).toBe(100);
  });

});

describe("notifications", () => {
  it("answer nothing, alone or in a batch of notifications only, and are still bound and run", () => {
    expect(handleMiRequest(registry, { jsonrpc: "2.0", method: "sr_get_status", params: ["Media"] })).toBeUndefined();
    expect(handleMiRequest(registry, { jsonrpc: "2.0", method: "sr_nope" })).toBeUndefined();
    expect(handleMiRequest(registry, { jsonrpc: "2.0", method: "sr_get_status", params: [] })).toBeUndefined();
    expect(
      handleMiRequest(registry, [
        { jsonrpc: "2.0", method: "sr_list_status" },
        { jsonrpc: "2.0", method: "sr_get_status", params: ["nosuch"] },
      ]),
    ).toBeUndefined();
    // An id of null is a request, not a notification.
    expect(handleMiRequest(registry, { jsonrpc: "2.0", method: "sr_nope", id: null })).toEqual({
      jsonrpc: "2.0",
      error: { code: -32601, message: "Method not found" },
      id: null,
    });
  });
});
