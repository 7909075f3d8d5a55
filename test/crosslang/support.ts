// Shared by the cross-language tests: toolchain detection (skip locally, fail
// in CI), running the Python and Go sides, a TCP proxy that can drop
// connections, and the watch-event shape all three languages print.
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import net from "node:net";
import { homedir, tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { IdentifierStatus, WatchStatusResponse } from "../../gen/ts/sr/v1/sr.js";
import { SrClient } from "../../clients/ts/index.js";
import { type TestServer, startServer } from "../helpers/server.js";

const run = promisify(execFile);

export const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
export const PYTHON = "/usr/bin/python3";
export const GO_IMPORT_ROOT = "github.com/status-report/sr";
const GOCODE = "/usr/share/gocode";

/** CI=true (any value but "", "0", "false"): a missing toolchain fails instead of skipping. */
export const inCI = !["", "0", "false"].includes((process.env.CI ?? "").toLowerCase());

function onPath(cmd: string): boolean {
  return (process.env.PATH ?? "").split(path.delimiter).some((dir) => dir !== "" && existsSync(path.join(dir, cmd)));
}

/** Debian packages missing for the Python client (empty: ready). */
export async function missingPython(): Promise<string[]> {
  if (!existsSync(PYTHON)) return ["python3"];
  const missing: string[] = [];
  for (const [module, pkg] of [
    ["grpc", "python3-grpcio"],
    ["google.protobuf", "python3-protobuf"],
  ] as const) {
    try {
      await run(PYTHON, ["-c", `import ${module}`]);
    } catch {
      missing.push(pkg);
    }
  }
  return missing;
}

/** Debian packages missing for the Go client (empty: ready). */
export function missingGo(): string[] {
  const missing: string[] = [];
  if (!onPath("go")) missing.push("golang-go");
  if (!existsSync(path.join(GOCODE, "src/google.golang.org/grpc/health/grpc_health_v1"))) missing.push("golang-google-grpc-dev");
  // registry.go exists from github.com/golang/protobuf 1.4 on; with 1.3 the
  // generated code panics at run time.
  if (
    !existsSync(path.join(GOCODE, "src/github.com/golang/protobuf/proto/registry.go")) ||
    !existsSync(path.join(GOCODE, "src/google.golang.org/protobuf/proto"))
  ) {
    missing.push("golang-github-golang-protobuf-1-5-dev");
  }
  return missing;
}

/**
 * Whether a suite needing `missing` packages is skipped. Locally it is, with a
 * "skipped: install ..." line; in CI it is not, and `failIfMissing` (call it
 * in beforeAll) makes every test of the suite fail saying what to install.
 */
export function toolchainGate(language: string, missing: string[]): { skip: boolean; title: string; failIfMissing: () => void } {
  const hint = `install ${missing.join(" ")} (run scripts/install-client-toolchains.sh as root)`;
  const skip = missing.length > 0 && !inCI;
  if (skip) console.warn(`${language} cross-language tests skipped: ${hint}`);
  return {
    skip,
    title: skip ? `${language} client (skipped: ${hint})` : `${language} client`,
    failIfMissing: () => {
      if (missing.length > 0) throw new Error(`CI=true and the ${language} toolchain is incomplete: ${hint}`);
    },
  };
}

// ---------------------------------------------------------------- waiting

/** Wakes its waiters whenever something arrives; `until` re-tests on each wake, up to a deadline. */
class Arrivals {
  private waiters: (() => void)[] = [];

  notify(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  /** Resolves once `test` holds; fails with `fail(reason)` when `stopped` names a reason or `ms` pass. */
  async until(test: () => boolean, ms: number, stopped: () => string | undefined, fail: (reason: string) => Error): Promise<void> {
    const deadline = Date.now() + ms;
    for (;;) {
      if (test()) return;
      const reason = stopped();
      const left = deadline - Date.now();
      if (reason !== undefined || left <= 0) throw fail(reason ?? "timed out");
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }
}

// ---------------------------------------------------------------- processes

/** A child process whose stdout is read as lines (JSON lines parsed). */
export class Proc {
  readonly lines: string[] = [];
  stderr = "";
  readonly exited: Promise<number | null>;
  private readonly child: ChildProcess;
  private readonly arrivals = new Arrivals();

  constructor(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}) {
    this.child = spawn(cmd, args, { cwd: repo, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    live.add(this);
    let buffered = "";
    this.child.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
      buffered += chunk;
      const parts = buffered.split("\n");
      buffered = parts.pop() ?? "";
      this.lines.push(...parts);
      this.arrivals.notify();
    });
    this.child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
      this.stderr += chunk;
    });
    this.exited = new Promise((resolve) => {
      this.child.on("close", (code) => {
        live.delete(this);
        if (buffered !== "") this.lines.push(buffered);
        resolve(code);
        this.arrivals.notify();
      });
      this.child.on("error", (error) => {
        this.stderr += String(error);
      });
    });
  }

  /** JSON values of the stdout lines so far. */
  get json(): Record<string, unknown>[] {
    return this.lines.filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as Record<string, unknown>);
  }

  /** Waits until `test` holds over the output, failing after `ms` or when the process exits first. */
  async waitFor(what: string, test: (p: Proc) => boolean, ms = 15_000): Promise<void> {
    await this.arrivals.until(
      () => test(this),
      ms,
      () =>
        this.child.exitCode !== null || this.child.signalCode !== null
          ? `the process exited (${this.child.exitCode ?? this.child.signalCode})`
          : undefined,
      (reason) => new Error(`${what}: ${reason}\nstdout:\n${this.lines.join("\n")}\nstderr:\n${this.stderr}`),
    );
  }

  /** Waits for the exit and returns the exit code, failing after `ms`. */
  async exit(ms = 20_000): Promise<number | null> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`still running after ${ms} ms\nstdout:\n${this.lines.join("\n")}\nstderr:\n${this.stderr}`)), ms);
    });
    try {
      return await Promise.race([this.exited, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill("SIGKILL");
  }
}

const live = new Set<Proc>();

/** Kills every process started by this test file (call in afterAll). */
export function killAll(): void {
  for (const p of live) p.kill();
}

/** Runs a command to completion; rejects with its output when it fails. */
export async function runToEnd(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}, ms = 60_000): Promise<Proc> {
  const p = new Proc(cmd, args, env);
  const code = await p.exit(ms);
  if (code !== 0) throw new Error(`${cmd} ${args.join(" ")} exited ${code}\nstdout:\n${p.lines.join("\n")}\nstderr:\n${p.stderr}`);
  return p;
}

export const pythonEnv: NodeJS.ProcessEnv = { PYTHONPATH: path.join(repo, "clients/python"), PYTHONUNBUFFERED: "1", PYTHONDONTWRITEBYTECODE: "1" };

export function python(args: string[], env: NodeJS.ProcessEnv = {}): Proc {
  return new Proc(PYTHON, args, { ...pythonEnv, ...env });
}

// ---------------------------------------------------------------- Go

/**
 * A GOPATH for the Go client in GOPATH mode: a temporary directory where
 * src/github.com/status-report/sr/clients/go links to this checkout's
 * clients/go and src/sr-crosslang to test/crosslang/go, then Debian's
 * /usr/share/gocode.
 */
export class GoPath {
  readonly dir = mkdtempSync(path.join(tmpdir(), "sr-gopath-"));
  readonly bin = path.join(this.dir, "bin");
  readonly env: NodeJS.ProcessEnv;

  constructor() {
    const client = path.join(this.dir, "src", GO_IMPORT_ROOT, "clients");
    mkdirSync(client, { recursive: true });
    mkdirSync(this.bin);
    symlinkSync(path.join(repo, "clients/go"), path.join(client, "go"));
    symlinkSync(path.join(repo, "test/crosslang/go"), path.join(this.dir, "src", "sr-crosslang"));
    this.env = {
      GO111MODULE: "off",
      GOPATH: `${this.dir}${path.delimiter}${GOCODE}`,
      GOFLAGS: "",
      // Keep the user's build cache (fast re-runs) when there is a home.
      GOCACHE: process.env.GOCACHE ?? path.join(process.env.XDG_CACHE_HOME ?? path.join(homedir() || tmpdir(), ".cache"), "go-build"),
    };
  }

  /**
   * Runs the go command in this GOPATH. Test files run in parallel: go
   * commands take turns (flock), so a cold build cache is filled once
   * instead of every file compiling grpc-go at the same time.
   */
  go(args: string[], ms = 180_000): Promise<Proc> {
    if (!onPath("flock")) return runToEnd("go", args, this.env, ms);
    return runToEnd("flock", [path.join(tmpdir(), "sr-crosslang-go.lock"), "go", ...args], this.env, ms);
  }

  /** Builds packages (import paths) into bin/ with one `go build`. */
  async build(...packages: string[]): Promise<void> {
    await this.go(["build", "-o", this.bin + path.sep, ...packages]);
  }

  exe(name: string): string {
    return path.join(this.bin, name);
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------- proxy

/**
 * A TCP proxy to `target` that can cut every connection and stop listening
 * for a while, as a server that goes away and comes back would.
 */
export class DroppingProxy {
  private readonly sockets = new Set<net.Socket>();
  private server: net.Server | undefined;
  private port = 0;
  address = "";

  private constructor(private readonly target: string) {}

  static async start(target: string): Promise<DroppingProxy> {
    const p = new DroppingProxy(target);
    await p.accept();
    p.address = `127.0.0.1:${p.port}`;
    return p;
  }

  /** Listens again (on the same port after a `drop`). */
  accept(): Promise<void> {
    const [host, port] = splitAddress(this.target);
    const server = net.createServer((client) => {
      const upstream = net.connect(port, host);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on("close", () => this.sockets.delete(s));
        s.on("error", () => {
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream).pipe(client);
    });
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.port, "127.0.0.1", () => {
        this.port = (server.address() as net.AddressInfo).port;
        resolve();
      });
    });
  }

  /** Cuts every open connection and stops listening (connections are refused) until `accept()`. */
  async drop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    const closed = server ? new Promise<void>((resolve) => server.close(() => resolve())) : Promise.resolve();
    for (const s of this.sockets) s.destroy();
    await closed;
  }

  close(): Promise<void> {
    return this.drop();
  }
}

function splitAddress(address: string): [string, number] {
  const i = address.lastIndexOf(":");
  return [address.slice(0, i), Number(address.slice(i + 1))];
}

// ---------------------------------------------------------------- events

export type EventJson = Record<string, unknown>;

function statusJson(s: IdentifierStatus): EventJson {
  return { group: s.group, identifier: s.identifier, status: s.status, details: s.details ?? null };
}

/** A ts-proto watch message in the JSON shape srtest.py and srtest (Go) print. */
export function eventJson(m: WatchStatusResponse): EventJson {
  const revision = Number(m.revision);
  const ev = m.event;
  if (!ev) return { revision, type: null };
  switch (ev.$case) {
    case "snapshot":
      return { revision, type: "snapshot", last: ev.value.last, resync: ev.value.resync, identifiers: ev.value.identifiers.map(statusJson) };
    case "statusChanged": {
      const c = ev.value;
      return {
        revision,
        type: "status_changed",
        group: c.group,
        identifier: c.identifier,
        status: c.status,
        old_status: c.oldStatus,
        details: c.details ?? null,
        ready: c.ready,
      };
    }
    case "reportAdded":
      return {
        revision,
        type: "report_added",
        group: ev.value.group,
        identifier: ev.value.identifier,
        sequence: Number(ev.value.report?.sequence ?? 0n),
        text: ev.value.report?.text ?? "",
      };
    case "registered": {
      const { group, identifier, status, details } = statusJson(ev.value);
      return { revision, type: "registered", group, identifier, status, details };
    }
    case "unregistered":
      return { revision, type: "unregistered", group: ev.value.group, identifier: ev.value.identifier };
    case "progress":
      return { revision, type: "progress" };
  }
}

/** Collects a TS watch stream's messages as EventJson, for awaiting. */
export class Collector {
  readonly events: EventJson[] = [];
  error: unknown = undefined;
  ended = false;
  private readonly arrivals = new Arrivals();

  constructor(stream: AsyncIterable<WatchStatusResponse>) {
    void this.consume(stream);
  }

  private async consume(stream: AsyncIterable<WatchStatusResponse>): Promise<void> {
    try {
      for await (const m of stream) {
        this.events.push(eventJson(m));
        this.arrivals.notify();
      }
    } catch (error) {
      this.error = error;
    }
    this.ended = true;
    this.arrivals.notify();
  }

  /** Waits until `test` holds over the events, failing after `ms` or when the stream ends first. */
  async waitFor(what: string, test: (events: EventJson[]) => boolean, ms = 15_000): Promise<void> {
    await this.arrivals.until(
      () => test(this.events),
      ms,
      () => (this.ended ? `the stream ended (${String(this.error)})` : undefined),
      (reason) => new Error(`${what}: ${reason}; events: ${JSON.stringify(this.events)}`),
    );
  }
}

// ---------------------------------------------------------------- shared suites

/**
 * The resuming watch of a helper (`watch` starts `srtest watch TARGET GROUP`
 * of its language) against the real server through a proxy that drops the
 * connection: it must resume with exactly the missed changes, and fall back
 * to a fresh snapshot once the server's history (3 changes here) no longer
 * reaches its revision.
 */
export function describeResume(language: string, watch: (target: string, group: string) => Proc): void {
  describe(`${language} watch helper, connection dropped`, () => {
    let srv: TestServer | undefined;
    let ts: SrClient | undefined;
    let proxy: DroppingProxy | undefined;

    beforeAll(async () => {
      srv = await startServer((config) => {
        config.watch.history = 3;
      });
      ts = new SrClient(srv.address);
      proxy = await DroppingProxy.start(srv.address);
    });
    afterAll(async () => {
      killAll();
      ts?.close();
      await proxy?.close();
      await srv?.stop();
    });

    async function watchedUntilDropped(group: string): Promise<{ w: Proc; r1: number }> {
      await ts!.registerGroup({ group });
      const w = watch(proxy!.address, group);
      await w.waitFor("the snapshot", (p) => p.json.some((e) => e.type === "snapshot" && e.last === true));
      const r1 = Number((await ts!.setStatus({ group, identifier: "", status: -1, details: "one" })).revision);
      await w.waitFor(`the change at ${r1}`, (p) => p.json.some((e) => e.revision === r1));
      await proxy!.drop();
      await w.waitFor("a reconnection attempt", (p) => p.json.some((e) => "retry" in e));
      return { w, r1 };
    }

    function after(w: Proc, revision: number): EventJson[] {
      const events = w.json;
      return events.slice(events.findIndex((e) => e.revision === revision) + 1).filter((e) => !("retry" in e));
    }

    it("resumes from the last revision received: exactly the missed changes, no snapshot", async () => {
      const group = `resume-${language}`;
      const { w, r1 } = await watchedUntilDropped(group);
      const r2 = Number((await ts!.setStatus({ group, identifier: "", status: -2, details: "two" })).revision);
      const r3 = Number((await ts!.addReport({ group, identifier: "", text: "while away" })).revision);
      await proxy!.accept();
      await w.waitFor("the missed changes", (p) => p.json.some((e) => e.revision === r3), 20_000);
      expect(after(w, r1)).toEqual([
        { revision: r2, type: "status_changed", group, identifier: "main", status: -2, old_status: -1, details: "two", ready: false },
        { revision: r3, type: "report_added", group, identifier: "main", sequence: 1, text: "while away" },
      ]);
      expect(w.json.filter((e) => "retry" in e).map((e) => e.retry)).toContain("UNAVAILABLE");
      w.kill();
    });

    it("falls back to a fresh snapshot when the server's history no longer reaches it", async () => {
      const group = `fallback-${language}`;
      const { w, r1 } = await watchedUntilDropped(group);
      let last = 0;
      for (let i = 2; i <= 6; i++) {
        last = Number((await ts!.setStatus({ group, identifier: "", status: -i, details: `n${i}` })).revision);
      }
      await proxy!.accept();
      await w.waitFor("a fresh snapshot", (p) => p.json.some((e) => e.type === "snapshot" && e.revision === last), 20_000);
      expect(after(w, r1)).toEqual([
        // Marked resync by the helper: it replaces what the watcher knew.
        { revision: last, type: "snapshot", last: true, resync: true, identifiers: [{ group, identifier: "main", status: -6, details: "n6" }] },
      ]);
      w.kill();
    });
  });
}
