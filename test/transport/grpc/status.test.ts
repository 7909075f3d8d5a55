/**
 * End to end, through the TS client over a real socket: GetStatus, CheckStatus
 * and SetStatus (docs/model.md), the empty identifier and `all` per
 * call, case folding, details, aggregation and the revision counter.
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

async function group(prefix: string, extra: { status?: number; details?: string; reportCapacity?: number } = {}) {
  const name = uniq(prefix);
  const res = await c.registerGroup({ group: name, ...extra });
  expect(res.created).toBe(true);
  return name;
}

describe("GetStatus", () => {
  it("returns main for an empty identifier, with every field of IdentifierStatus", async () => {
    const before = Date.now();
    const g = await group("get", { status: 7, details: "warm" });
    const after = Date.now();
    const res = await c.getStatus({ group: g, identifier: "" });
    expect(res.status).toMatchObject({ group: g, identifier: "main", status: 7, details: "warm", ready: true });
    expect(res.revision).toBe(await revision());
    expect(res.status?.revision).toBe(res.revision); // registering was the last change
    const t = res.status?.updateTime?.getTime() ?? 0;
    expect(t).toBeGreaterThanOrEqual(before - 1);
    expect(t).toBeLessThanOrEqual(after + 1);
    expect(await c.getStatus({ group: g, identifier: "main" })).toEqual(res);
  });

  it("compares names ASCII-case-insensitively and shows them as first registered", async () => {
    const g = await group("CaseGroup");
    await c.registerIdentifier({ group: g, identifier: "Worker-A" });
    const res = await c.getStatus({ group: g.toUpperCase(), identifier: "WORKER-a" });
    expect(res.status).toMatchObject({ group: g, identifier: "Worker-A" });
    expect((await c.getStatus({ group: g.toLowerCase(), identifier: "MAIN" })).status?.identifier).toBe("main");
  });

  it("compares non-ASCII letters exactly", async () => {
    const base = uniq("émile");
    expect((await c.registerGroup({ group: base })).created).toBe(true);
    await fails(() => c.getStatus({ group: base.replace("é", "É") }), Code.NOT_FOUND, /group/);
    // 'É' and 'é' are two names: registering the other one creates a second group.
    expect((await c.registerGroup({ group: base.replace("é", "É") })).created).toBe(true);
    await c.registerIdentifier({ group: base, identifier: "straße" });
    await fails(() => c.getStatus({ group: base, identifier: "STRASSE" }), Code.NOT_FOUND, /identifier/);
    expect((await c.getStatus({ group: base, identifier: "STRAßE" })).status?.identifier).toBe("straße");
  });

  it("`all` (any case) returns the group aggregated", async () => {
    const g = await group("agg");
    await c.registerIdentifier({ group: g, identifier: "a", status: 5 });
    let res = await c.getStatus({ group: g, identifier: "all" });
    expect(res.status).toMatchObject({ group: g, identifier: "all", status: 1, details: "aggregated", ready: true });

    const set = await c.setStatus({ group: g, identifier: "a", status: -3, details: "down" });
    res = await c.getStatus({ group: g, identifier: "ALL" });
    expect(res.status).toMatchObject({ status: -1, details: "aggregated", ready: false });
    expect(res.status?.revision).toBe(set.revision); // the highest revision of its members

    // A report is a change of `a` too: the aggregate's revision follows it.
    const report = await c.addReport({ group: g, identifier: "a", text: "x" });
    expect((await c.getStatus({ group: g, identifier: "All" })).status?.revision).toBe(report.revision);

    await c.setStatus({ group: g, identifier: "a", status: 2 });
    expect((await c.getStatus({ group: g, identifier: "all" })).status).toMatchObject({ status: 1, ready: true });
  });

  it("an empty group aggregates as ready, with the revision of its last removal", async () => {
    const g = await group("empty", { status: -4 });
    expect((await c.getStatus({ group: g, identifier: "all" })).status).toMatchObject({ status: -1, ready: false });
    const removed = await c.unregisterIdentifier({ group: g, identifier: "main" });
    const res = await c.getStatus({ group: g, identifier: "all" });
    expect(res.status).toMatchObject({ group: g, status: 1, ready: true, details: "aggregated", revision: removed.revision });
    // With main gone, the empty identifier names nothing.
    await fails(() => c.getStatus({ group: g }), Code.NOT_FOUND, /identifier 'main'/);
  });

  it("an empty group keeps the revision of its last removal while other groups change", async () => {
    const g = await group("never");
    const registered = await revision();
    await c.unregisterIdentifier({ group: g });
    const removal = await revision();
    expect(removal).toBe(registered + 1n);
    // Other changes elsewhere do not move it.
    await group("elsewhere");
    expect((await c.getStatus({ group: g, identifier: "all" })).status?.revision).toBe(removal);
  });

  it("NOT_FOUND names the unknown group or identifier", async () => {
    const g = await group("nf");
    await fails(() => c.getStatus({ group: `${g}-nope` }), Code.NOT_FOUND, new RegExp(`group '${g}-nope'`));
    await fails(() => c.getStatus({ group: `${g}-nope`, identifier: "all" }), Code.NOT_FOUND, /group/);
    await fails(() => c.getStatus({ group: g, identifier: "ghost" }), Code.NOT_FOUND, /identifier 'ghost'/);
  });

  it("INVALID_ARGUMENT for malformed names", async () => {
    await fails(() => c.getStatus({ group: "" }), Code.INVALID_ARGUMENT, /group/);
    await fails(() => c.getStatus({ group: "a/b" }), Code.INVALID_ARGUMENT, /group.*'\/'/);
    await fails(() => c.getStatus({ group: "x".repeat(256) }), Code.INVALID_ARGUMENT, /group.*255/);
    await fails(() => c.getStatus({ group: "core", identifier: "x".repeat(256) }), Code.INVALID_ARGUMENT, /identifier.*255/);
    await fails(() => c.getStatus({ group: "core", identifier: "a\tb" }), Code.INVALID_ARGUMENT, /identifier.*control/);
  });
});

describe("CheckStatus", () => {
  it("answers ready and status of main for an empty identifier", async () => {
    const g = await group("chk", { status: 3 });
    expect(await c.checkStatus({ group: g })).toEqual({ ready: true, status: 3 });
    await c.registerIdentifier({ group: g, identifier: "db", status: -7 });
    expect(await c.checkStatus({ group: g, identifier: "DB" })).toEqual({ ready: false, status: -7 });
  });

  it("`all` checks the group aggregated", async () => {
    const g = await group("chkall");
    expect(await c.checkStatus({ group: g, identifier: "all" })).toEqual({ ready: true, status: 1 });
    await c.registerIdentifier({ group: g, identifier: "db", status: -7 });
    expect(await c.checkStatus({ group: g, identifier: "ALL" })).toEqual({ ready: false, status: -1 });
  });

  it("NOT_FOUND for an unknown group or identifier (not OpenSIPS's INT_MIN)", async () => {
    const g = await group("chknf");
    await fails(() => c.checkStatus({ group: `${g}-x` }), Code.NOT_FOUND, /group/);
    await fails(() => c.checkStatus({ group: g, identifier: "nope" }), Code.NOT_FOUND, /identifier 'nope'/);
  });

  it("INVALID_ARGUMENT for a malformed name", async () => {
    await fails(() => c.checkStatus({ group: "" }), Code.INVALID_ARGUMENT, /group/);
    await fails(() => c.checkStatus({ group: "core", identifier: "\u007f" }), Code.INVALID_ARGUMENT, /identifier/);
  });
});

describe("SetStatus", () => {
  it("changes the status: changed, old_status, revision +1, and the reader sees it", async () => {
    const g = await group("set");
    const before = await revision();
    const t0 = Date.now();
    const res = await c.setStatus({ group: g, status: -5, details: "warming up" });
    expect(res).toEqual({ changed: true, oldStatus: 1, revision: before + 1n });
    expect(await revision()).toBe(before + 1n);
    const st = (await c.getStatus({ group: g })).status;
    expect(st).toMatchObject({ status: -5, details: "warming up", ready: false, revision: res.revision });
    expect(st?.updateTime?.getTime()).toBeGreaterThanOrEqual(t0 - 1);
  });

  it("the same status and details is a no-op: changed false, revision unchanged", async () => {
    const g = await group("noop", { status: 4, details: "same" });
    const st = (await c.getStatus({ group: g })).status;
    const before = await revision();
    const res = await c.setStatus({ group: g, identifier: "MAIN", status: 4, details: "same" });
    expect(res).toEqual({ changed: false, oldStatus: 4, revision: before });
    expect(await revision()).toBe(before);
    expect((await c.getStatus({ group: g })).status).toEqual(st); // update_time untouched too
  });

  it("the same status with other details is a change, but not `changed`", async () => {
    const g = await group("det", { status: 4, details: "a" });
    const before = await revision();
    const res = await c.setStatus({ group: g, status: 4, details: "b" });
    expect(res).toEqual({ changed: false, oldStatus: 4, revision: before + 1n });
    expect((await c.getStatus({ group: g })).status).toMatchObject({ status: 4, details: "b", revision: before + 1n });
  });

  it("a write without details clears them", async () => {
    const g = await group("clear", { details: "something" });
    const before = await revision();
    const res = await c.setStatus({ group: g, status: 1 });
    expect(res).toEqual({ changed: false, oldStatus: 1, revision: before + 1n });
    const st = (await c.getStatus({ group: g })).status;
    expect(st?.details).toBeUndefined();
    // Clearing what is already clear changes nothing.
    expect((await c.setStatus({ group: g, status: 1 })).revision).toBe(before + 1n);
  });

  it("no details and empty details are different and both survive a round trip", async () => {
    const g = await group("empty-det");
    expect((await c.getStatus({ group: g })).status?.details).toBeUndefined();
    const before = await revision();
    await c.setStatus({ group: g, status: 1, details: "" });
    expect(await revision()).toBe(before + 1n); // absent -> empty is a change
    expect((await c.getStatus({ group: g })).status?.details).toBe("");
    const listed = await c.listStatus({ group: g });
    expect(listed.groups[0]?.identifiers[0]?.details).toBe("");
    await c.setStatus({ group: g, status: 1, details: "" });
    expect(await revision()).toBe(before + 1n); // empty -> empty is not
    await c.setStatus({ group: g, status: 1 });
    expect(await revision()).toBe(before + 2n); // empty -> absent is
    expect((await c.getStatus({ group: g })).status?.details).toBeUndefined();
  });

  it("an empty identifier writes main; `all` is INVALID_ARGUMENT", async () => {
    const g = await group("setmain");
    await c.registerIdentifier({ group: g, identifier: "other" });
    await c.setStatus({ group: g, identifier: "", status: -9 });
    expect((await c.getStatus({ group: g, identifier: "main" })).status?.status).toBe(-9);
    expect((await c.getStatus({ group: g, identifier: "other" })).status?.status).toBe(1);
    for (const all of ["all", "ALL", "aLl"]) {
      await fails(() => c.setStatus({ group: g, identifier: all, status: 2 }), Code.INVALID_ARGUMENT, /identifier.*all/);
    }
  });

  it("refuses status 0, explicit or left unset, naming the field", async () => {
    const g = await group("zero");
    await fails(() => c.setStatus({ group: g, status: 0 }), Code.INVALID_ARGUMENT, /status/);
    await fails(() => c.setStatus({ group: g, details: "no status" }), Code.INVALID_ARGUMENT, /status/);
    expect((await c.getStatus({ group: g })).status).toMatchObject({ status: 1, details: undefined });
  });

  it("accepts the extremes of int32", async () => {
    const g = await group("int32");
    await c.setStatus({ group: g, status: 2147483647 });
    expect((await c.checkStatus({ group: g })).status).toBe(2147483647);
    const res = await c.setStatus({ group: g, status: -2147483648 });
    expect(res).toMatchObject({ changed: true, oldStatus: 2147483647 });
    expect(await c.checkStatus({ group: g })).toEqual({ ready: false, status: -2147483648 });
  });

  it("details: 2048 bytes accepted, 2049 bytes INVALID_ARGUMENT naming details (bytes, not characters)", async () => {
    const g = await group("big");
    await c.setStatus({ group: g, status: 1, details: "d".repeat(2048) });
    expect((await c.getStatus({ group: g })).status?.details).toHaveLength(2048);
    await c.setStatus({ group: g, status: 1, details: "€".repeat(682) }); // 2046 bytes
    await fails(() => c.setStatus({ group: g, status: 2, details: "d".repeat(2049) }), Code.INVALID_ARGUMENT, /details/);
    await fails(() => c.setStatus({ group: g, status: 2, details: "€".repeat(683) }), Code.INVALID_ARGUMENT, /details.*2048/);
    expect((await c.getStatus({ group: g })).status).toMatchObject({ status: 1, details: "€".repeat(682) });
  });

  it("NOT_FOUND names the unknown group or identifier", async () => {
    const g = await group("setnf");
    await fails(() => c.setStatus({ group: `${g}-x`, status: 1 }), Code.NOT_FOUND, /group/);
    await fails(() => c.setStatus({ group: g, identifier: "ghost", status: 1 }), Code.NOT_FOUND, /identifier 'ghost'/);
    await c.unregisterIdentifier({ group: g });
    await fails(() => c.setStatus({ group: g, status: 1 }), Code.NOT_FOUND, /identifier 'main'/);
  });

  it("INVALID_ARGUMENT for malformed names, even when the status is fine", async () => {
    await fails(() => c.setStatus({ group: "", status: 1 }), Code.INVALID_ARGUMENT, /group/);
    await fails(() => c.setStatus({ group: "x/y", status: 1 }), Code.INVALID_ARGUMENT, /group/);
    await fails(() => c.setStatus({ group: "x", identifier: "a\nb", status: 1 }), Code.INVALID_ARGUMENT, /identifier/);
  });
});

describe("revision", () => {
  it("grows by exactly one per change, and IdentifierStatus.revision is that identifier's last change", async () => {
    const r0 = await revision();
    const g = uniq("rev");
    expect((await c.registerGroup({ group: g })).revision).toBe(r0 + 1n);
    expect((await c.registerIdentifier({ group: g, identifier: "a" })).revision).toBe(r0 + 2n);
    expect((await c.setStatus({ group: g, identifier: "a", status: -1 })).revision).toBe(r0 + 3n);
    expect((await c.addReport({ group: g, identifier: "a", text: "t" })).revision).toBe(r0 + 4n);
    expect((await c.setStatus({ group: g, identifier: "main", status: -1 })).revision).toBe(r0 + 5n);
    const listed = await c.listStatus({ group: g });
    expect(listed.revision).toBe(r0 + 5n);
    expect(listed.groups[0]?.identifiers.map((i) => [i.identifier, i.revision])).toEqual([
      ["main", r0 + 5n],
      ["a", r0 + 4n],
    ]);
    expect((await c.unregisterIdentifier({ group: g, identifier: "a" })).revision).toBe(r0 + 6n);
    expect((await c.unregisterGroup({ group: g })).revision).toBe(r0 + 7n);
    expect(await revision()).toBe(r0 + 7n);
  });

  it("a report does not move update_time, a status change does", async () => {
    const g = await group("utime");
    const st0 = (await c.getStatus({ group: g })).status;
    const rep = await c.addReport({ group: g, text: "hello" });
    const st1 = (await c.getStatus({ group: g })).status;
    expect(st1?.revision).toBe(rep.revision);
    expect(st1?.updateTime).toEqual(st0?.updateTime);
  });
});
