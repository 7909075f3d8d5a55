/**
 * End to end: RegisterGroup, UnregisterGroup, RegisterIdentifier and
 * UnregisterIdentifier (docs/model.md): name rules, idempotent
 * registration, report capacity, and the read-only internal group `core`.
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

/** The identifiers of one group, in list order. */
async function identifiers(group: string): Promise<string[]> {
  const res = await c.listIdentifiers({ group });
  return res.groups.flatMap((g) => g.identifiers);
}

async function capacityOf(group: string, identifier: string): Promise<number | undefined> {
  const res = await c.listReports({ group, identifier });
  return res.groups[0]?.identifiers[0]?.capacity;
}

describe("RegisterGroup", () => {
  it("creates a public group with main at the defaults (status 1, no details, capacity 50)", async () => {
    const g = uniq("reg");
    const before = await revision();
    expect(await c.registerGroup({ group: g })).toEqual({ created: true, revision: before + 1n });
    expect((await c.getStatus({ group: g })).status).toMatchObject({
      group: g,
      identifier: "main",
      status: 1,
      details: undefined,
      ready: true,
      revision: before + 1n,
    });
    const listed = await c.listIdentifiers({ group: g });
    expect(listed.groups).toEqual([{ group: g, internal: false, identifiers: ["main"] }]);
    expect(await capacityOf(g, "main")).toBe(50);
  });

  it("applies status, details and report_capacity to main", async () => {
    const g = uniq("reg-opts");
    await c.registerGroup({ group: g, status: -3, details: "", reportCapacity: 2 });
    expect((await c.getStatus({ group: g })).status).toMatchObject({ status: -3, details: "", ready: false });
    expect(await capacityOf(g, "main")).toBe(2);
  });

  it("is idempotent: the same name in any ASCII case gives created false and changes nothing", async () => {
    const g = uniq("Idem");
    await c.registerGroup({ group: g, status: 2, details: "first", reportCapacity: 5 });
    const st = (await c.getStatus({ group: g })).status;
    const before = await revision();
    for (const name of [g, g.toUpperCase(), g.toLowerCase()]) {
      // status and details of a re-registration are ignored
      expect(await c.registerGroup({ group: name, status: -9, details: "second" })).toEqual({ created: false, revision: before });
    }
    expect(await c.registerGroup({ group: g, reportCapacity: 5 })).toEqual({ created: false, revision: before });
    expect(await revision()).toBe(before);
    expect((await c.getStatus({ group: g })).status).toEqual(st);
    expect((await c.listIdentifiers({ group: g.toUpperCase() })).groups[0]?.group).toBe(g); // shown as first registered
  });

  it("re-registering with a different report_capacity is ALREADY_EXISTS naming report_capacity", async () => {
    const g = uniq("cap");
    await c.registerGroup({ group: g }); // default capacity 50
    expect((await c.registerGroup({ group: g, reportCapacity: 50 })).created).toBe(false);
    await fails(() => c.registerGroup({ group: g, reportCapacity: 51 }), Code.ALREADY_EXISTS, /report_capacity/);
    await fails(() => c.registerGroup({ group: g.toUpperCase(), reportCapacity: 0 }), Code.ALREADY_EXISTS, /report_capacity/);
    expect(await capacityOf(g, "main")).toBe(50);
  });

  it("report_capacity 0 and 32767 are accepted, 32768 is INVALID_ARGUMENT", async () => {
    const g0 = uniq("cap0");
    const gMax = uniq("capmax");
    await c.registerGroup({ group: g0, reportCapacity: 0 });
    await c.registerGroup({ group: gMax, reportCapacity: 32767 });
    expect(await capacityOf(g0, "main")).toBe(0);
    expect(await capacityOf(gMax, "main")).toBe(32767);
    const g = uniq("capover");
    await fails(() => c.registerGroup({ group: g, reportCapacity: 32768 }), Code.INVALID_ARGUMENT, /report_capacity.*32767/);
    await fails(() => c.registerGroup({ group: g, reportCapacity: 4294967295 }), Code.INVALID_ARGUMENT, /report_capacity/);
    await fails(() => c.getStatus({ group: g }), Code.NOT_FOUND, /group/);
  });

  it("status 0 is INVALID_ARGUMENT naming status; oversized details naming details", async () => {
    const g = uniq("bad");
    await fails(() => c.registerGroup({ group: g, status: 0 }), Code.INVALID_ARGUMENT, /status/);
    await fails(() => c.registerGroup({ group: g, details: "x".repeat(2049) }), Code.INVALID_ARGUMENT, /details/);
    await fails(() => c.getStatus({ group: g }), Code.NOT_FOUND, /group/);
  });

  describe("name rules", () => {
    it("1..255 bytes of UTF-8: empty and 256 bytes refused, 255 bytes accepted (counted in bytes)", async () => {
      await fails(() => c.registerGroup({ group: "" }), Code.INVALID_ARGUMENT, /group.*empty/);
      await fails(() => c.registerGroup({ group: "g".repeat(256) }), Code.INVALID_ARGUMENT, /group.*255 bytes/);
      await fails(() => c.registerGroup({ group: "€".repeat(86) }), Code.INVALID_ARGUMENT, /group.*255 bytes/); // 258 bytes, 86 chars
      const ascii = `${uniq("m")}-`.padEnd(255, "g");
      expect((await c.registerGroup({ group: ascii })).created).toBe(true);
      expect((await c.getStatus({ group: ascii })).status?.group).toBe(ascii);
      const euro = "€".repeat(85); // 255 bytes
      expect((await c.registerGroup({ group: euro })).created).toBe(true);
      expect(Buffer.byteLength(euro)).toBe(255);
    });

    it("control characters U+0000-U+001F and U+007F are refused", async () => {
      for (const ch of ["\u0000", "\u0001", "\t", "\n", "\u001f", "\u007f"]) {
        await fails(() => c.registerGroup({ group: `ctl${ch}x` }), Code.INVALID_ARGUMENT, /group.*control/);
        await fails(
          () => c.registerIdentifier({ group: "core", identifier: `ctl${ch}x` }),
          Code.INVALID_ARGUMENT,
          /identifier.*control/,
        );
      }
    });

    it("characters outside those ranges are names like any other (U+0080-U+009F, spaces, emoji)", async () => {
      for (const name of [uniq("c1\u0085"), uniq("with space"), uniq("😀"), uniq(" lead")]) {
        expect((await c.registerGroup({ group: name })).created).toBe(true);
        expect((await c.getStatus({ group: name })).status?.group).toBe(name);
      }
    });

    it("a group name holds no '/', an identifier name may", async () => {
      await fails(() => c.registerGroup({ group: "a/b" }), Code.INVALID_ARGUMENT, /group.*'\/'/);
      await fails(() => c.registerGroup({ group: "/" }), Code.INVALID_ARGUMENT, /group.*'\/'/);
      const g = uniq("slash");
      await c.registerGroup({ group: g });
      expect((await c.registerIdentifier({ group: g, identifier: "db/primary" })).created).toBe(true);
      expect((await c.getStatus({ group: g, identifier: "DB/Primary" })).status?.identifier).toBe("db/primary");
    });

    it("`all` (any case) is reserved for identifiers only: a group may be called 'all'", async () => {
      const g = uniq("res");
      await c.registerGroup({ group: g });
      for (const name of ["all", "ALL", "All"]) {
        await fails(() => c.registerIdentifier({ group: g, identifier: name }), Code.INVALID_ARGUMENT, /identifier.*all/);
      }
      expect((await c.registerIdentifier({ group: g, identifier: "all2" })).created).toBe(true);
      expect((await c.registerIdentifier({ group: g, identifier: "ball" })).created).toBe(true);
      expect((await c.registerGroup({ group: "ALL" })).created).toBe(true);
      expect((await c.getStatus({ group: "all" })).status).toMatchObject({ group: "ALL", identifier: "main" });
    });
  });

  it("registering an internal group's name, in any case, is PERMISSION_DENIED", async () => {
    for (const name of ["core", "CORE", "Core"]) {
      await fails(() => c.registerGroup({ group: name }), Code.PERMISSION_DENIED, /core/);
      await fails(() => c.registerGroup({ group: name, reportCapacity: 10 }), Code.PERMISSION_DENIED, /core/);
    }
  });
});

describe("UnregisterGroup", () => {
  it("removes the group and its identifiers as one change", async () => {
    const g = uniq("Unreg");
    await c.registerGroup({ group: g });
    await c.registerIdentifier({ group: g, identifier: "a" });
    await c.registerIdentifier({ group: g, identifier: "b" });
    const before = await revision();
    expect(await c.unregisterGroup({ group: g.toUpperCase() })).toEqual({ revision: before + 1n });
    expect(await revision()).toBe(before + 1n);
    await fails(() => c.getStatus({ group: g }), Code.NOT_FOUND, /group/);
    await fails(() => c.getStatus({ group: g, identifier: "a" }), Code.NOT_FOUND, /group/);
    const all = await c.listIdentifiers({ group: "" });
    expect(all.groups.map((x) => x.group)).not.toContain(g);
  });

  it("a removed group can be registered again, fresh, in another case", async () => {
    const g = uniq("again");
    await c.registerGroup({ group: g, status: -1, reportCapacity: 3 });
    await c.registerIdentifier({ group: g, identifier: "x" });
    await c.addReport({ group: g, text: "old" });
    await c.unregisterGroup({ group: g });
    expect((await c.registerGroup({ group: g.toUpperCase() })).created).toBe(true);
    expect(await identifiers(g)).toEqual(["main"]);
    expect((await c.getStatus({ group: g })).status).toMatchObject({ group: g.toUpperCase(), status: 1 });
    const reports = await c.listReports({ group: g, identifier: "main" });
    expect(reports.groups[0]?.identifiers[0]).toMatchObject({ capacity: 50, reports: [] });
  });

  it("NOT_FOUND for an unknown group; INVALID_ARGUMENT for a malformed name", async () => {
    const g = uniq("gone");
    await fails(() => c.unregisterGroup({ group: g }), Code.NOT_FOUND, new RegExp(`group '${g}'`));
    await c.registerGroup({ group: g });
    await c.unregisterGroup({ group: g });
    await fails(() => c.unregisterGroup({ group: g }), Code.NOT_FOUND, /group/);
    await fails(() => c.unregisterGroup({ group: "" }), Code.INVALID_ARGUMENT, /group/);
    await fails(() => c.unregisterGroup({ group: "a/b" }), Code.INVALID_ARGUMENT, /group/);
  });
});

describe("RegisterIdentifier", () => {
  it("creates an identifier at the defaults and answers its status", async () => {
    const g = uniq("rid");
    await c.registerGroup({ group: g });
    const before = await revision();
    const res = await c.registerIdentifier({ group: g.toUpperCase(), identifier: "Worker" });
    expect(res.created).toBe(true);
    expect(res.revision).toBe(before + 1n);
    expect(res.status).toMatchObject({ group: g, identifier: "Worker", status: 1, details: undefined, ready: true, revision: before + 1n });
    expect(res.status).toEqual((await c.getStatus({ group: g, identifier: "worker" })).status);
    expect(await capacityOf(g, "worker")).toBe(50);
  });

  it("applies status, details (empty is kept) and report_capacity when it creates", async () => {
    const g = uniq("rid-opts");
    await c.registerGroup({ group: g });
    const res = await c.registerIdentifier({ group: g, identifier: "x", status: -2, details: "", reportCapacity: 0 });
    expect(res.status).toMatchObject({ status: -2, details: "", ready: false });
    expect(await capacityOf(g, "x")).toBe(0);
    const r2 = await c.registerIdentifier({ group: g, identifier: "y", status: 2147483647, details: "hi", reportCapacity: 32767 });
    expect(r2.status).toMatchObject({ status: 2147483647, details: "hi" });
  });

  it("is idempotent: created false, the existing status answered, status and details ignored", async () => {
    const g = uniq("rid-idem");
    await c.registerGroup({ group: g });
    const first = await c.registerIdentifier({ group: g, identifier: "Db", status: 3, details: "up", reportCapacity: 4 });
    const before = await revision();
    const again = await c.registerIdentifier({ group: g, identifier: "DB", status: -3, details: "down" });
    expect(again).toEqual({ created: false, status: first.status, revision: before });
    expect((await c.registerIdentifier({ group: g, identifier: "db", reportCapacity: 4 })).created).toBe(false);
    expect(await revision()).toBe(before);
    expect((await c.getStatus({ group: g, identifier: "db" })).status).toEqual(first.status);
    expect(await identifiers(g)).toEqual(["main", "Db"]);
  });

  it("re-registering with a different report_capacity is ALREADY_EXISTS naming report_capacity", async () => {
    const g = uniq("rid-cap");
    await c.registerGroup({ group: g });
    await c.registerIdentifier({ group: g, identifier: "x", reportCapacity: 7 });
    await fails(() => c.registerIdentifier({ group: g, identifier: "X", reportCapacity: 8 }), Code.ALREADY_EXISTS, /report_capacity/);
    // main exists with the default 50: naming it by the empty identifier is the same check
    await fails(() => c.registerIdentifier({ group: g, identifier: "", reportCapacity: 1 }), Code.ALREADY_EXISTS, /report_capacity/);
    expect(await capacityOf(g, "x")).toBe(7);
  });

  it("an empty identifier means main", async () => {
    const g = uniq("rid-main");
    await c.registerGroup({ group: g, status: 5 });
    const res = await c.registerIdentifier({ group: g, identifier: "" });
    expect(res).toMatchObject({ created: false, status: { identifier: "main", status: 5 } });
    await c.unregisterIdentifier({ group: g, identifier: "" });
    const again = await c.registerIdentifier({ group: g, identifier: "", status: -6 });
    expect(again).toMatchObject({ created: true, status: { identifier: "main", status: -6 } });
  });

  it("INVALID_ARGUMENT for `all`, a bad status, capacity or details, naming the field", async () => {
    const g = uniq("rid-bad");
    await c.registerGroup({ group: g });
    await fails(() => c.registerIdentifier({ group: g, identifier: "all" }), Code.INVALID_ARGUMENT, /identifier/);
    await fails(() => c.registerIdentifier({ group: g, identifier: "x", status: 0 }), Code.INVALID_ARGUMENT, /status/);
    await fails(() => c.registerIdentifier({ group: g, identifier: "x", reportCapacity: 32768 }), Code.INVALID_ARGUMENT, /report_capacity/);
    await fails(() => c.registerIdentifier({ group: g, identifier: "x", details: "x".repeat(2049) }), Code.INVALID_ARGUMENT, /details/);
    await fails(() => c.registerIdentifier({ group: g, identifier: "i".repeat(256) }), Code.INVALID_ARGUMENT, /identifier.*255/);
    await fails(() => c.registerIdentifier({ group: "", identifier: "x" }), Code.INVALID_ARGUMENT, /group/);
    expect(await identifiers(g)).toEqual(["main"]);
  });

  it("NOT_FOUND for an unknown group", async () => {
    await fails(() => c.registerIdentifier({ group: uniq("nogroup"), identifier: "x" }), Code.NOT_FOUND, /group/);
  });
});

describe("UnregisterIdentifier", () => {
  it("removes one identifier as one change", async () => {
    const g = uniq("uid");
    await c.registerGroup({ group: g });
    await c.registerIdentifier({ group: g, identifier: "a" });
    await c.registerIdentifier({ group: g, identifier: "b" });
    const before = await revision();
    expect(await c.unregisterIdentifier({ group: g, identifier: "A" })).toEqual({ revision: before + 1n });
    expect(await identifiers(g)).toEqual(["main", "b"]);
    await fails(() => c.getStatus({ group: g, identifier: "a" }), Code.NOT_FOUND, /identifier 'a'/);
  });

  it("main may be removed, named or by the empty identifier", async () => {
    const g = uniq("uid-main");
    await c.registerGroup({ group: g });
    await c.registerIdentifier({ group: g, identifier: "x" });
    await c.unregisterIdentifier({ group: g });
    expect(await identifiers(g)).toEqual(["x"]);
    await c.registerIdentifier({ group: g, identifier: "main" });
    await c.unregisterIdentifier({ group: g, identifier: "MAIN" });
    expect(await identifiers(g)).toEqual(["x"]);
  });

  it("NOT_FOUND names what does not exist; `all` is INVALID_ARGUMENT", async () => {
    const g = uniq("uid-nf");
    await c.registerGroup({ group: g });
    await fails(() => c.unregisterIdentifier({ group: g, identifier: "ghost" }), Code.NOT_FOUND, /identifier 'ghost'/);
    await fails(() => c.unregisterIdentifier({ group: `${g}-x`, identifier: "a" }), Code.NOT_FOUND, /group/);
    await fails(() => c.unregisterIdentifier({ group: g, identifier: "ALL" }), Code.INVALID_ARGUMENT, /identifier/);
    await c.unregisterIdentifier({ group: g, identifier: "main" });
    await fails(() => c.unregisterIdentifier({ group: g, identifier: "main" }), Code.NOT_FOUND, /identifier 'main'/);
  });
});

describe("listing order and what is listed", () => {
  it("identifiers: main first, then by the ASCII-lowercased name's code points (above U+FFFF after U+E000-U+FFFF)", async () => {
    const g = uniq("order");
    await c.registerGroup({ group: g });
    for (const id of ["Zeta", "_under", "alpha", "x\u{1F600}", "x\uE000", "x\uFFFD", "B"]) await c.registerIdentifier({ group: g, identifier: id });
    const expected = ["main", "_under", "alpha", "B", "x\uE000", "x\uFFFD", "x\u{1F600}", "Zeta"];
    expect(await identifiers(g)).toEqual(expected);
    expect((await c.listStatus({ group: g })).groups[0]?.identifiers.map((i) => i.identifier)).toEqual(expected);
    expect((await c.listReports({ group: g })).groups[0]?.identifiers.map((i) => i.identifier)).toEqual(expected);
  });

  it("groups: by the ASCII-lowercased name's code points, in every list", async () => {
    const p = uniq("ord");
    const names = [`${p}B`, `${p}_`, `${p}a`, `${p}\u{10000}`, `${p}\uFFFF`, `${p}É`];
    for (const group of names) await c.registerGroup({ group });
    const expected = [`${p}_`, `${p}a`, `${p}B`, `${p}É`, `${p}\uFFFF`, `${p}\u{10000}`];
    const mine = (list: { group: string }[]) => list.map((x) => x.group).filter((x) => x.startsWith(p));
    expect(mine((await c.listIdentifiers({})).groups)).toEqual(expected);
    expect(mine((await c.listStatus({})).groups)).toEqual(expected);
    expect(mine((await c.listReports({})).groups)).toEqual(expected);
  });

  it("a group whose identifiers were all removed still exists, and is still listed", async () => {
    const g = uniq("hollow");
    await c.registerGroup({ group: g });
    await c.unregisterIdentifier({ group: g });
    // It exists: registering it again creates nothing, GetStatus `all` answers.
    expect((await c.registerGroup({ group: g })).created).toBe(false);
    expect((await c.getStatus({ group: g, identifier: "all" })).status).toMatchObject({ group: g, ready: true });
    // So a listing of groups shows it, with no identifiers.
    expect((await c.listIdentifiers({ group: g })).groups).toEqual([{ group: g, internal: false, identifiers: [] }]);
    expect((await c.listStatus({ group: g })).groups).toEqual([{ group: g, internal: false, identifiers: [] }]);
    expect((await c.listIdentifiers({})).groups.map((x) => x.group)).toContain(g);
  });
});

describe("internal group core", () => {
  it("is present, internal, running, with capacity 10 and its start-up reports", async () => {
    const st = await c.getStatus({ group: "core" });
    expect(st.status).toMatchObject({ group: "core", identifier: "main", status: 1, details: "running", ready: true });
    const listed = await c.listStatus({ group: "core" });
    expect(listed.groups).toMatchObject([{ group: "core", internal: true, identifiers: [{ identifier: "main" }] }]);
    expect((await c.listIdentifiers({ group: "CORE" })).groups).toEqual([{ group: "core", internal: true, identifiers: ["main"] }]);
    const reports = await c.listReports({ group: "core" });
    const main = reports.groups[0]?.identifiers[0];
    expect(main?.capacity).toBe(10);
    expect(main?.reports.map((r) => r.text)).toEqual(["initializing", "initialization completed, ready now"]);
    expect(main?.reports.map((r) => r.sequence)).toEqual([1n, 2n]);
  });

  it("every write RPC on core is PERMISSION_DENIED and changes nothing", async () => {
    const st = (await c.getStatus({ group: "core" })).status;
    for (const group of ["core", "CORE"]) {
      await fails(() => c.setStatus({ group, status: -1 }), Code.PERMISSION_DENIED, /core/);
      await fails(() => c.setStatus({ group, identifier: "Main", status: 1, details: "running" }), Code.PERMISSION_DENIED, /core/);
      await fails(() => c.addReport({ group, text: "hi" }), Code.PERMISSION_DENIED, /core/);
      await fails(() => c.registerIdentifier({ group, identifier: "x" }), Code.PERMISSION_DENIED, /core/);
      await fails(() => c.registerIdentifier({ group, identifier: "main" }), Code.PERMISSION_DENIED, /core/);
      await fails(() => c.unregisterIdentifier({ group, identifier: "main" }), Code.PERMISSION_DENIED, /core/);
      await fails(() => c.unregisterIdentifier({ group, identifier: "nope" }), Code.PERMISSION_DENIED, /core/);
      await fails(() => c.unregisterGroup({ group }), Code.PERMISSION_DENIED, /core/);
      await fails(() => c.registerGroup({ group }), Code.PERMISSION_DENIED, /core/);
    }
    expect((await c.getStatus({ group: "core" })).status).toEqual(st);
  });
});
