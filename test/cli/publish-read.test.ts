/** sr's writes and reads against a live in-process server: every format, exit codes, alignment, no colour when piped. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { type TestServer, startServer } from "../helpers/server.js";
import { killAllProcesses, runToEnd } from "../helpers/process.js";
import { ANSI, CLI, type Run, alignedTable, at, ensureBuilt, stripAnsi } from "./support.js";

let server: TestServer;
let sr: (...args: string[]) => Promise<Run>;

beforeAll(async () => {
  ensureBuilt();
  server = await startServer();
  sr = at(server.address);
  // A group to read, built through the CLI itself.
  for (const args of [
    ["register", "billing", "--status", "-1", "--details", "warming up"],
    ["register", "billing", "db", "--capacity", "10", "--status", "1"],
    ["set", "billing", "main", "1", "ready", "--ttl", "2m"],
    ["set", "billing", "db", "-1", "primary lost"],
    ["report", "billing", "db", "connected to primary"],
    ["report", "billing", "db", "lost the primary"],
  ]) {
    const run = await sr(...args);
    expect(run, args.join(" ")).toMatchObject({ code: 0, stderr: "" });
  }
});

afterAll(async () => {
  await killAllProcesses();
  await server?.stop();
});

const json = (run: Run) => {
  expect(run.code, run.stderr).toBe(0);
  return JSON.parse(run.stdout);
};

describe("writes", () => {
  it("register, set (a negative status is a value), report and unregister, in each format", async () => {
    const created = await sr("register", "jobs", "--status", "-5", "--details", "starting");
    expect(created).toMatchObject({ code: 0, stderr: "" });
    expect(created.stdout).toMatch(/^registered group jobs \(revision \d+\)$/);
    expect(server.registry.getStatus({ group: "jobs", identifier: "" }).status).toMatchObject({ status: -5, details: "starting" });

    const again = json(await sr("register", "jobs", "-o", "json"));
    expect(again).toEqual({ created: false, revision: expect.any(Number) });

    const worker = parseYaml((await sr("-o", "yaml", "register", "jobs", "worker", "--capacity", "0", "--ttl", "30s")).stdout);
    expect(worker).toMatchObject({ created: true, status: { group: "jobs", identifier: "worker", leaseTtl: "30s" } });

    const set = await sr("set", "jobs", "worker", "-1");
    expect(set.stdout).toMatch(/^jobs\/worker: status -1 \(was 1\) \(revision \d+\)$/);
    expect((await sr("set", "jobs", "worker", "-1")).stdout).toMatch(/^jobs\/worker: status -1, unchanged \(revision \d+\)$/);
    const changed = json(await sr("set", "jobs", "worker", "7", "working", "--ttl", "90", "-o", "json"));
    expect(changed).toMatchObject({ changed: true, revision: expect.any(Number) });
    expect(server.registry.getStatus({ group: "jobs", identifier: "worker" }).status).toMatchObject({ status: 7, details: "working" });
    const negative = json(await sr("-o", "json", "set", "jobs", "worker", "-2147483648"));
    expect(negative).toMatchObject({ changed: true, oldStatus: 7 });

    const report = json(await sr("report", "jobs", "main", "step 1 done", "-o", "json"));
    expect(report).toEqual({ sequence: 1, revision: expect.any(Number) });
    const disabled = await sr("report", "jobs", "worker", "nowhere");
    expect(disabled.code).toBe(1);
    expect(disabled.stderr).toContain("(REPORTS_DISABLED)");

    expect((await sr("unregister", "jobs", "worker")).stdout).toMatch(/^unregistered jobs\/worker \(revision \d+\)$/);
    expect(json(await sr("unregister", "jobs", "-o", "json"))).toEqual({ revision: expect.any(Number) });
    const gone = await sr("unregister", "jobs");
    expect(gone.code).toBe(1);
    expect(gone.stderr).toMatch(/^sr: .*\(GROUP_NOT_FOUND\)\n$/);
  });

  it("refuses a status of 0, a bad duration or a bad count as a usage error (64), before calling", async () => {
    for (const args of [
      ["set", "billing", "main", "0"],
      ["set", "billing", "main", "ready"],
      ["set", "billing", "main", "1", "--ttl", "soon"],
      ["register", "x", "--capacity", "-3"],
      ["register", "x", "--status", "1.5"],
    ]) {
      const run = await sr(...args);
      expect(run.code, args.join(" ")).toBe(64);
      expect(run.stdout).toBe("");
      expect(run.stderr).not.toBe("");
    }
    expect(server.registry.getStatus({ group: "billing", identifier: "main" }).status?.status).toBe(1);
  });
});

describe("reads", () => {
  it("status: an aligned table, plain when piped", async () => {
    const run = await sr("status");
    expect(run).toMatchObject({ code: 0, stderr: "" });
    expect(run.stdout).not.toMatch(ANSI);
    const rows = alignedTable(run.stdout);
    expect(rows[0]).toEqual(["GROUP", "IDENTIFIER", "STATUS", "READY", "UPDATED", "LEASE", "DETAILS"]);
    const billing = rows.filter((row) => row[0] === "billing");
    expect(billing.map((row) => [row[1], row[2], row[3], row[6]])).toEqual([
      ["main", "1", "ready", "ready"],
      ["db", "-1", "not ready", "primary lost"],
    ]);
    expect(billing[0]?.[5]).toMatch(/^120s until \d{4}-\d\d-\d\dT/);
    expect(rows.some((row) => row[0] === "core")).toBe(true);
  });

  it("status GROUP in json and yaml, parsed", async () => {
    const listing = json(await sr("status", "billing", "-o", "json"));
    expect(listing.groups).toHaveLength(1);
    expect(listing.groups[0].identifiers.map((s: { identifier: string; ready: boolean }) => [s.identifier, s.ready])).toEqual([
      ["main", true],
      ["db", false],
    ]);
    expect(typeof listing.revision).toBe("number");
    const yaml = parseYaml((await sr("-o", "yaml", "status", "billing")).stdout);
    expect(yaml).toEqual(listing);
  });

  it("get: one identifier, `all` aggregated", async () => {
    const db = alignedTable((await sr("get", "billing", "db")).stdout);
    expect(db.slice(1).map((row) => row.slice(0, 4))).toEqual([["billing", "db", "-1", "not ready"]]);
    expect(json(await sr("get", "billing", "-o", "json")).status).toMatchObject({ identifier: "main", status: 1, ready: true, details: "ready" });
    expect(json(await sr("get", "billing", "all", "-o", "json")).status).toMatchObject({ identifier: "all", ready: false });
    const missing = await sr("get", "billing", "nope");
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("(IDENTIFIER_NOT_FOUND)");
  });

  it("check: 0 ready, 1 not ready, 2 not found, 3 another error", async () => {
    const ready = await sr("check", "billing");
    expect(ready).toMatchObject({ code: 0, stdout: "billing/main: ready (status 1)" });
    const notReady = await sr("check", "billing", "db");
    expect(notReady).toMatchObject({ code: 1, stdout: "billing/db: not ready (status -1)" });
    expect((await sr("check", "billing", "all")).code).toBe(1);
    expect(JSON.parse((await sr("check", "billing", "db", "-o", "json")).stdout)).toEqual({ ready: false, status: -1 });
    expect(parseYaml((await sr("check", "billing", "-o", "yaml")).stdout)).toEqual({ ready: true, status: 1 });
    for (const args of [["nope"], ["billing", "nope"]]) {
      const run = await sr("check", ...args);
      expect(run.code, args.join(" ")).toBe(2);
      expect(run.stderr).toMatch(/NOT_FOUND\)\n$/);
    }
    const invalid = await sr("check", "bad/group");
    expect(invalid.code).toBe(3);
    expect(invalid.stderr).toContain("(NAME_INVALID)");
    const unreachable = await at("127.0.0.1:1")("check", "billing");
    expect(unreachable.code).toBe(3);
    expect(unreachable.stderr).toContain("UNAVAILABLE");
  });

  it("reports: oldest first, table and json", async () => {
    const rows = alignedTable((await sr("reports", "billing", "db")).stdout);
    expect(rows[0]).toEqual(["GROUP", "IDENTIFIER", "SEQUENCE", "TIME", "TEXT"]);
    expect(rows.slice(1).map((row) => [row[0], row[1], row[2], row[4]])).toEqual([
      ["billing", "db", "1", "connected to primary"],
      ["billing", "db", "2", "lost the primary"],
    ]);
    const all = json(await sr("reports", "-o", "json"));
    expect(all.groups.map((g: { group: string }) => g.group)).toEqual(expect.arrayContaining(["billing", "core"]));
    const group = json(await sr("reports", "billing", "-o", "json"));
    expect(group.groups[0].identifiers.find((i: { identifier: string }) => i.identifier === "db")).toMatchObject({
      capacity: 10,
      reports: [{ sequence: 1, text: "connected to primary" }, { sequence: 2, text: "lost the primary" }],
    });
  });

  it("identifiers: every group or one, table and json", async () => {
    const rows = alignedTable((await sr("identifiers")).stdout);
    expect(rows).toEqual(expect.arrayContaining([["billing", "main", ""], ["billing", "db", ""], ["core", "main", "internal"]]));
    expect(json(await sr("identifiers", "billing", "-o", "json")).groups).toEqual([{ group: "billing", internal: false, identifiers: ["main", "db"] }]);
  });

  it("colours readiness on a terminal, not with NO_COLOR (a pseudo-terminal by util-linux's script)", async () => {
    const onTerminal = (env: Record<string, string | undefined>) =>
      runToEnd("script", ["-qec", `${process.execPath} ${CLI} --server ${server.address} status billing`, "/dev/null"], {
        env: { FORCE_COLOR: undefined, NO_COLOR: undefined, ...env },
      });
    const coloured = (await onTerminal({})).stdout.replaceAll("\r", "");
    expect(coloured).toContain("\x1b[32mready\x1b[0m");
    expect(coloured).toContain("\x1b[31mnot ready\x1b[0m");
    expect(alignedTable(coloured).slice(1)).toEqual(alignedTable((await sr("status", "billing")).stdout).slice(1));
    expect((await onTerminal({ NO_COLOR: "1" })).stdout).not.toMatch(ANSI);
  });

  it("colours readiness only when asked on a pipe (FORCE_COLOR), never with NO_COLOR, and stays aligned", async () => {
    const coloured = await at(server.address, { FORCE_COLOR: "1" })("status", "billing");
    expect(coloured.stdout).toMatch(ANSI);
    expect(coloured.stdout).toContain("\x1b[32mready\x1b[0m");
    expect(coloured.stdout).toContain("\x1b[31mnot ready\x1b[0m");
    expect(alignedTable(coloured.stdout)).toEqual(alignedTable((await sr("status", "billing")).stdout));
    const noColour = await at(server.address, { FORCE_COLOR: "1", NO_COLOR: "1" })("status", "billing");
    expect(noColour.stdout).not.toMatch(ANSI);
    expect(stripAnsi(coloured.stdout)).toBe(noColour.stdout);
    // JSON is never coloured.
    expect((await at(server.address, { FORCE_COLOR: "1" })("status", "-o", "json")).stdout).not.toMatch(ANSI);
  });

  it("escapes control characters of the server's text, so that no details colour a table", async () => {
    server.registry.setStatus({ group: "billing", identifier: "db", status: -1, details: "\x1b[32mfake\x1b[0m\nline" });
    const run = await sr("get", "billing", "db");
    expect(run.stdout).not.toMatch(ANSI);
    expect(run.stdout).toContain("\\x1b[32mfake\\x1b[0m\\nline");
    expect(JSON.parse((await sr("get", "billing", "db", "-o", "json")).stdout).status.details).toBe("\x1b[32mfake\x1b[0m\nline");
    server.registry.setStatus({ group: "billing", identifier: "db", status: -1, details: "primary lost" });
  });
});
