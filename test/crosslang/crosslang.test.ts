// One scenario across the three languages against the real server: the
// Python client registers a group, sets statuses and adds reports while a TS
// watcher checks it receives exactly those changes; the Go client then reads
// them back (GetStatus, ListReports, CheckStatus), watches (resuming from a
// revision, and from a snapshot) and probes grpc.health.v1. Both helpers
// then surface the reasons of the server's errors, and both examples run over
// TLS with a bearer token. Skipped with "skipped: install ..." when a Debian
// toolchain is missing, failed instead when CI=true.
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SrClient } from "../../clients/ts/index.js";
import { killAllProcesses, runToEnd } from "../helpers/process.js";
import { type TestServer, startServer } from "../helpers/server.js";
import { collect } from "../helpers/wait.js";
import { type EventJson, GO_IMPORT_ROOT, GoPath, eventJson, missingGo, missingPython, python, runPython, toolchainGate } from "./support.js";

const gate = toolchainGate("Python and Go", [...(await missingPython()), ...missingGo()]);
const srtestPy = "test/crosslang/python/srtest.py";

describe.skipIf(gate.skip)(gate.skip ? gate.title : "Python and Go clients, with a TS watcher", () => {
  let srv: TestServer | undefined;
  let gopath: GoPath | undefined;
  let ts: SrClient | undefined;
  const abort = new AbortController();

  beforeAll(async () => {
    gate.failIfMissing();
    gopath = new GoPath();
    const pkg = `${GO_IMPORT_ROOT}/clients/go`;
    [srv] = await Promise.all([startServer(), gopath.build("sr-crosslang/srtest", `${pkg}/examples/publish`)]);
    ts = new SrClient(srv.address);
  }, 240_000);
  afterAll(async () => {
    abort.abort();
    await killAllProcesses();
    ts?.close();
    await srv?.stop();
    gopath?.remove();
  });

  it("Python publishes, TS sees exactly those changes, Go reads them back, watches and probes health", async () => {
    const group = "CrossLang";
    const watch = ts!.watch({ group, includeDetails: true, includeReports: true, includeRegistrations: true }, { signal: abort.signal });
    // The group does not exist yet: an empty snapshot, then its changes.
    const snapshot = (await collect(watch, (m) => m.event?.$case === "snapshot" && m.event.value.last, 15_000)).map(eventJson);
    expect(snapshot).toHaveLength(1);
    expect(snapshot[0]).toMatchObject({ type: "snapshot", identifiers: [] });
    const from = snapshot[0]!.revision as number;

    // Python: register, set statuses, add reports (one JSON line per call).
    const ops = (await runPython([srtestPy, "publish", srv!.address, group])).json;
    const rev = (op: string, identifier?: string, nth = 0) =>
      ops.filter((o) => o.op === op && (identifier === undefined || o.identifier === identifier))[nth]!.revision as number;
    expect(ops.map((o) => o.revision).filter((r) => r !== undefined)).toEqual([
      from + 1, from + 2, from + 2, from + 3, from + 4, from + 5, from + 6, from + 7, from + 8, from + 9, from + 9, from + 10,
    ]); // every change +1; the repeated registration and the same status change nothing
    expect(ops.find((o) => o.op === "register_group_again")).toMatchObject({ created: false });
    expect(ops.find((o) => o.op === "set_status_same")).toMatchObject({ changed: false });
    expect(ops.find((o) => o.op === "set_details")).toMatchObject({ changed: false, old_status: 1 });
    expect(ops.find((o) => o.op === "check_all")).toEqual({ op: "check_all", ready: true, status: 1 });
    expect(ops.find((o) => o.op === "set_status_zero")).toEqual({ op: "set_status_zero", code: "INVALID_ARGUMENT" });

    const g = group;
    const expected: EventJson[] = [
      { revision: rev("register_group"), type: "registered", group: g, identifier: "main", status: -1, details: "starting" },
      { revision: rev("register_identifier"), type: "registered", group: g, identifier: "db", status: 1, details: null },
      { revision: rev("add_report", "main"), type: "report_added", group: g, identifier: "main", sequence: 1, text: "starting up" },
      { revision: rev("set_status", "main"), type: "status_changed", group: g, identifier: "main", status: 1, old_status: -1, details: "running", ready: true },
      { revision: rev("set_status", "db"), type: "status_changed", group: g, identifier: "db", status: -7, old_status: 1, details: "db down: grüße ✓", ready: false },
      { revision: rev("add_report", "db", 0), type: "report_added", group: g, identifier: "db", sequence: 1, text: "lost connection" },
      { revision: rev("add_report", "db", 1), type: "report_added", group: g, identifier: "db", sequence: 2, text: "retrying" },
      { revision: rev("add_report", "db", 2), type: "report_added", group: g, identifier: "db", sequence: 3, text: "reconnected" },
      { revision: rev("set_status", "db", 1), type: "status_changed", group: g, identifier: "db", status: 1, old_status: -7, details: null, ready: true },
      { revision: rev("set_details"), type: "status_changed", group: g, identifier: "main", status: 1, old_status: 1, details: "", ready: true },
    ];
    const last = expected.at(-1)!.revision as number;
    const changes = (await collect(watch, (m) => Number(m.revision) >= last, 15_000)).map(eventJson);
    expect(changes).toEqual(expected);

    // Go: read back, watch, health.
    const probe = await runToEnd(gopath!.exe("srtest"), ["probe", "-target", srv!.address, "-group", "crosslang", "-from", String(from), "-until", String(last)]);
    const got = probe.json[0] as Record<string, any>;
    expect(got.get_status[""]).toMatchObject({ status: { group: g, identifier: "main", status: 1, details: "" }, ready: true, revision: last });
    expect(got.get_status.db).toMatchObject({ status: { group: g, identifier: "db", status: 1, details: null }, ready: true, revision: rev("set_status", "db", 1) });
    expect(got.get_status.all).toMatchObject({ status: { group: g, identifier: "all", status: 1, details: "aggregated" }, ready: true, revision: last });
    expect(Math.abs(got.get_status[""].update_time_ms - Date.now())).toBeLessThan(60_000);
    expect(got.get_status_unknown).toBe("NOT_FOUND");
    expect(got.check_db).toEqual({ ready: true, status: 1 });
    expect(got.list_reports).toEqual([
      { group: g, identifier: "main", capacity: 5, texts: ["starting up"], sequences: [1] },
      // capacity 2: the oldest of three was dropped
      { group: g, identifier: "db", capacity: 2, texts: ["retrying", "reconnected"], sequences: [2, 3] },
    ]);
    expect(got.health).toEqual({
      "": "SERVING",
      "sr.v1.StatusReportService": "SERVING",
      crosslang: "SERVING",
      "crosslang/db": "SERVING",
      "CROSSLANG/DB": "SERVING",
      "crosslang/nope": "NOT_FOUND",
    });
    // Go resumed from the TS snapshot's revision: the very same changes.
    expect(got.watch_resumed).toEqual(expected);
    expect(got.watch_snapshot).toEqual([
      {
        revision: last,
        type: "snapshot",
        last: true,
        resync: false,
        identifiers: [
          { group: g, identifier: "main", status: 1, details: "" },
          { group: g, identifier: "db", status: 1, details: null },
        ],
      },
    ]);
  });

  it("both helpers surface the reason of the server's errors, with its facts", async () => {
    // A history of 3 changes: after 5, start_revision 1 is too old.
    const small = await startServer((config) => {
      config.watch.history = 3;
    });
    const c = new SrClient(small.address);
    try {
      const group = "reasons";
      await c.registerGroup({ group });
      let current = 0;
      for (let i = 1; i <= 5; i++) current = Number((await c.setStatus({ group, identifier: "", status: -i })).revision);
      const py = (await runPython([srtestPy, "errors", small.address, group, "--start", "1"])).json;
      const go = (await runToEnd(gopath!.exe("srtest"), ["errors", "-target", small.address, "-group", group, "-from", "1"])).json;
      const none = { oldest_revision: null, field_violations: [], resource: null };
      expect(py).toMatchObject([
        {
          op: "unknown_group",
          error: { ...none, code: "NOT_FOUND", reason: "GROUP_NOT_FOUND", domain: "sr.v1", metadata: { group: "nope" }, resource: { type: "sr.v1.Group", name: "nope" } },
        },
        {
          op: "status_zero",
          error: {
            ...none,
            code: "INVALID_ARGUMENT",
            reason: "STATUS_ZERO",
            domain: "sr.v1",
            metadata: { field: "status" },
            field_violations: [{ field: "status", description: expect.stringMatching(/^status: /) }],
          },
        },
        {
          op: "history_compacted",
          error: {
            ...none,
            code: "OUT_OF_RANGE",
            reason: "HISTORY_COMPACTED",
            domain: "sr.v1",
            metadata: { field: "start_revision", oldest_revision: expect.stringMatching(/^\d+$/) },
            oldest_revision: expect.any(Number),
          },
        },
      ]);
      const compacted = py[2]!.error as { oldest_revision: number; metadata: { oldest_revision: string } };
      expect(compacted.oldest_revision).toBeGreaterThan(1);
      expect(compacted.oldest_revision).toBeLessThanOrEqual(current);
      expect(String(compacted.oldest_revision)).toBe(compacted.metadata.oldest_revision);
      // Go surfaces the very same: codes, messages, reasons and facts.
      expect(go).toEqual(py);
    } finally {
      c.close();
      await small.stop();
    }
  });

  it("runs both publish examples over TLS with a bearer token, and refuses them without one", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "sr-tls-"));
    let secure: TestServer | undefined;
    try {
      await runToEnd(gopath!.exe("srtest"), ["mkcert", "-dir", dir]);
      const token = "crosslang-token";
      secure = await startServer((config) => {
        config.tls = { cert: path.join(dir, "cert.pem"), key: path.join(dir, "key.pem") };
        config.tokens = [{ name: "ci", sha256: createHash("sha256").update(token).digest("hex"), role: "write" }];
      });
      const ca = path.join(dir, "cert.pem");
      const py = await runPython(["clients/python/examples/publish.py", "--target", secure.address, "--group", "tls-py", "--ca", ca, "--token", token]);
      expect(py.lines[0]).toMatch(/^tls-py: status 1 \(ready=True\) at revision \d+$/);
      const go = await runToEnd(gopath!.exe("publish"), ["-target", secure.address, "-group", "tls-go", "-ca", ca], { env: { SR_TOKEN: token } });
      expect(go.lines[0]).toMatch(/^tls-go: status 1 \(ready=true\) at revision \d+$/);

      const noToken = python(["clients/python/examples/publish.py", "--target", secure.address, "--group", "x", "--ca", ca], { SR_TOKEN: "" });
      expect((await noToken.waitForExit(20_000)).code).not.toBe(0);
      expect(noToken.stderr).toContain("UNAUTHENTICATED (TOKEN_MISSING)");
      const plaintext = python(["clients/python/examples/publish.py", "--target", secure.address, "--group", "x", "--token", token]);
      expect((await plaintext.waitForExit(20_000)).code).not.toBe(0);
      expect(plaintext.stderr).toContain("UNAVAILABLE");
    } finally {
      await secure?.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
