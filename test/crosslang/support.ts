// What only the cross-language tests need: toolchain detection (skip locally,
// fail in CI), running the Python and Go probes, the watch-event shape all
// three languages print, and the resume suite both helpers pass. Processes,
// proxies and waiting come from test/helpers.
import { execFile } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SrClient } from "../../clients/ts/index.js";
import { Spawned, killAllProcesses, repoRoot, runToEnd } from "../helpers/process.js";
import { type Proxy, startProxy } from "../helpers/proxy.js";
import { type TestServer, startServer } from "../helpers/server.js";
import type { EventJson } from "./shapes.js";

const run = promisify(execFile);

export const PYTHON = "/usr/bin/python3";
export const GO_IMPORT_ROOT = "github.com/status-report/sr";
const GOCODE = "/usr/share/gocode";

/** CI=true (any value but "", "0", "false"): a missing toolchain fails instead of skipping. */
export const inCI = !["", "0", "false"].includes((process.env.CI ?? "").toLowerCase());

function onPath(cmd: string): boolean {
  return (process.env.PATH ?? "").split(path.delimiter).some((dir) => dir !== "" && existsSync(path.join(dir, cmd)));
}

/** The Debian packages of `modules` ([module, package]) that /usr/bin/python3 cannot import. */
async function missingModules(modules: readonly (readonly [string, string])[]): Promise<string[]> {
  const missing: string[] = [];
  for (const [module, pkg] of modules) {
    try {
      await run(PYTHON, ["-c", `import ${module}`]);
    } catch {
      missing.push(pkg);
    }
  }
  return missing;
}

/** Debian packages missing for the Python client (empty: ready). */
export async function missingPython(): Promise<string[]> {
  if (!existsSync(PYTHON)) return ["python3"];
  return missingModules([
    ["grpc", "python3-grpcio"],
    ["google.protobuf", "python3-protobuf"],
  ]);
}

/** Debian packages missing to build, install and type-check the Python client's wheel (empty: ready). */
export async function missingPythonPackaging(): Promise<string[]> {
  const missing = await missingPython();
  if (missing.includes("python3")) return missing;
  return [
    ...missing,
    ...(await missingModules([
      ["build", "python3-build"],
      ["setuptools", "python3-setuptools"],
      ["ensurepip", "python3-venv"], // what `python3 -m venv` needs on Debian
      ["mypy", "mypy"],
    ])),
  ];
}

/** Debian packages missing for the Go client (empty: ready). */
export function missingGo(): string[] {
  const missing: string[] = [];
  if (!onPath("go")) missing.push("golang-go");
  if (!existsSync(path.join(GOCODE, "src/google.golang.org/grpc/health/grpc_health_v1"))) missing.push("golang-google-grpc-dev");
  if (!existsSync(path.join(GOCODE, "src/google.golang.org/genproto/googleapis/rpc/errdetails"))) missing.push("golang-google-genproto-dev");
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

// ---------------------------------------------------------------- Python

export const pythonEnv = { PYTHONPATH: path.join(repoRoot, "clients/python"), PYTHONUNBUFFERED: "1", PYTHONDONTWRITEBYTECODE: "1" };

/** Starts /usr/bin/python3 with the Python client on its path. */
export function python(args: string[], env: Record<string, string> = {}): Spawned {
  return new Spawned(PYTHON, args, { env: { ...pythonEnv, ...env } });
}

/** Runs /usr/bin/python3 with the Python client on its path to a successful exit. */
export function runPython(args: string[]): Promise<Spawned> {
  return runToEnd(PYTHON, args, { env: pythonEnv });
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
  readonly env: Record<string, string>;

  constructor() {
    const client = path.join(this.dir, "src", GO_IMPORT_ROOT, "clients");
    mkdirSync(client, { recursive: true });
    mkdirSync(this.bin);
    symlinkSync(path.join(repoRoot, "clients/go"), path.join(client, "go"));
    symlinkSync(path.join(repoRoot, "test/crosslang/go"), path.join(this.dir, "src", "sr-crosslang"));
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
  go(args: string[], timeoutMs = 180_000): Promise<Spawned> {
    return this.goIn(repoRoot, this.env, args, timeoutMs);
  }

  /**
   * Runs the go command in module mode in `dir` (a module of the checkout),
   * offline as clients/go/README.md documents it: no proxy, so every module
   * must come from a `replace` directive.
   */
  goModule(dir: string, args: string[], timeoutMs = 180_000): Promise<Spawned> {
    const env = { ...this.env, GO111MODULE: "on", GOPROXY: "off", GOFLAGS: "-mod=readonly", GOPATH: this.dir };
    return this.goIn(path.join(repoRoot, dir), env, args, timeoutMs);
  }

  private goIn(cwd: string, env: Record<string, string>, args: string[], timeoutMs: number): Promise<Spawned> {
    const [command, commandArgs] = onPath("flock") ? ["flock", [path.join(tmpdir(), "sr-crosslang-go.lock"), "go", ...args]] : ["go", args];
    return runToEnd(command, commandArgs, { env, cwd }, timeoutMs);
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

// ---------------------------------------------------------------- events

export { type EventJson, eventJson } from "./shapes.js";

// ---------------------------------------------------------------- shared suites

/**
 * The resuming watch of a helper (`watch` starts `srtest watch TARGET GROUP`
 * of its language) against the real server through a proxy that drops the
 * connection: it must resume with exactly the missed changes, and fall back
 * to a fresh snapshot once the server's history (3 changes here) no longer
 * reaches its revision.
 */
export function describeResume(language: string, watch: (target: string, group: string) => Spawned): void {
  describe(`${language} watch helper, connection dropped`, () => {
    let srv: TestServer | undefined;
    let ts: SrClient | undefined;
    let proxy: Proxy | undefined;

    beforeAll(async () => {
      srv = await startServer((config) => {
        config.watch.history = 3;
      });
      ts = new SrClient(srv.address);
      proxy = await startProxy(srv.address);
    });
    afterAll(async () => {
      await killAllProcesses();
      ts?.close();
      await proxy?.close();
      await srv?.stop();
    });

    async function watchedUntilDropped(group: string): Promise<{ w: Spawned; r1: number }> {
      await ts!.registerGroup({ group });
      const w = watch(proxy!.address, group);
      await w.waitFor("the snapshot", (p) => p.json.some((e) => e.type === "snapshot" && e.last === true));
      const r1 = Number((await ts!.setStatus({ group, identifier: "", status: -1, details: "one" })).revision);
      await w.waitFor(`the change at ${r1}`, (p) => p.json.some((e) => e.revision === r1));
      await proxy!.drop();
      await w.waitFor("a reconnection attempt", (p) => p.json.some((e) => "retry" in e));
      return { w, r1 };
    }

    function after(w: Spawned, revision: number): EventJson[] {
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
      await w.kill();
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
      await w.kill();
    });
  });
}
