/**
 * Child processes of the tests: any command (`Spawned`, `runToEnd`), and the
 * real server as `npm start` runs it (`SrProcess`: `node dist/src/main.js`, the
 * build refreshed first when src/ or gen/ changed; `--no-http` unless the test
 * asks for an HTTP address, so no test takes the default port 8080). Each is
 * spawned in a process group of its own so that whatever is left of it (npm and
 * the node child it runs the server in, `go test` and its test binary) can be
 * killed by that group's id.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { inject } from "vitest";
import type { StorageConfig } from "../../src/app/config.js";
import { Arrivals, WaitTimeout, withTimeout } from "./wait.js";

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const SERVER = path.join(repoRoot, "dist/src/main.js");

let built = false;
/**
 * The compiled server, rebuilt when it is older than src/ or gen/ (as `npm
 * start`'s prestart does). Once per test worker; parallel workers serialise on
 * the build's lock, so only one compiles.
 */
function ensureBuilt(): void {
  if (built) return;
  execFileSync(process.execPath, [path.join(repoRoot, "scripts/build-server.mjs"), "--if-stale"], { cwd: repoRoot, stdio: ["ignore", "ignore", "inherit"] });
  built = true;
}

/** The line the server logs once gRPC listens; group 1 is the address. */
export const LISTENING = /gRPC listening on (\S+)/;

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ProcessOptions {
  /** Environment on top of this one's; an undefined value removes the variable. */
  env?: Record<string, string | undefined>;
  /** Default: the repository's root. */
  cwd?: string;
}

/** A child process whose stdout is read as lines as they come. */
export class Spawned {
  readonly child: ChildProcess;
  /** Every complete stdout line so far. */
  readonly lines: string[] = [];
  readonly exited: Promise<Exit>;
  private stdoutRest = "";
  private stderrText = "";
  private exitValue: Exit | undefined;
  private readonly arrivals = new Arrivals();

  constructor(command: string, args: readonly string[], options: ProcessOptions = {}) {
    const env: NodeJS.ProcessEnv = { ...process.env };
    for (const [name, value] of Object.entries(options.env ?? {})) {
      if (value === undefined) delete env[name];
      else env[name] = value;
    }
    this.child = spawn(command, args, { cwd: options.cwd ?? repoRoot, env, detached: true, stdio: ["ignore", "pipe", "pipe"] });
    live.add(this);
    this.child.stdout?.setEncoding("utf8");
    this.child.stdout?.on("data", (chunk: string) => {
      const parts = (this.stdoutRest + chunk).split("\n");
      this.stdoutRest = parts.pop() ?? "";
      this.lines.push(...parts);
      this.arrivals.notify();
    });
    this.child.stderr?.setEncoding("utf8");
    this.child.stderr?.on("data", (chunk: string) => {
      this.stderrText += chunk;
    });
    this.exited = new Promise<Exit>((resolve) => {
      const ended = (exit: Exit) => {
        if (this.stdoutRest) this.lines.push(this.stdoutRest);
        this.stdoutRest = "";
        this.exitValue = exit;
        live.delete(this);
        this.arrivals.notify();
        resolve(exit);
      };
      this.child.once("error", (error) => {
        this.stderrText += `spawn failed: ${error.message}\n`;
        ended({ code: null, signal: null });
      });
      this.child.once("close", (code, signal) => ended({ code, signal }));
    });
  }

  get pid(): number {
    if (this.child.pid === undefined) throw new Error(`the process did not start:\n${this.describe()}`);
    return this.child.pid;
  }

  /** Undefined while the process runs. */
  get exit(): Exit | undefined {
    return this.exitValue;
  }

  get stdout(): string {
    return this.lines.join("\n") + this.stdoutRest;
  }

  get stderr(): string {
    return this.stderrText;
  }

  /** The stdout lines that are JSON objects, parsed. */
  get json(): Record<string, unknown>[] {
    return this.lines.filter((line) => line.startsWith("{")).map((line) => JSON.parse(line) as Record<string, unknown>);
  }

  /** Sends `signal` to the process itself (under `npm start`, npm relays it to the server). */
  signal(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }

  /** Resolves once `test` holds over the output; fails when the process exits first or on timeout. */
  async waitFor(what: string, test: (proc: this) => boolean, timeoutMs = 15_000): Promise<void> {
    await this.arrivals.until(
      what,
      () => test(this),
      timeoutMs,
      () => (this.exitValue ? `the process exited (${JSON.stringify(this.exitValue)}) first` : undefined),
      () => this.describe(),
    );
  }

  /** The first stdout line matching `pattern`; fails when the process exits first or on timeout. */
  async waitForLine(pattern: RegExp, timeoutMs = 45_000): Promise<RegExpMatchArray> {
    const first = () => this.lines.map((line) => pattern.exec(line)).find((match) => match !== null);
    await this.waitFor(`a line matching ${pattern}`, () => first() !== undefined, timeoutMs);
    return first() as RegExpMatchArray;
  }

  /** The exit, within `timeoutMs`. */
  async waitForExit(timeoutMs = 15_000): Promise<Exit> {
    try {
      return await withTimeout(this.exited, timeoutMs, "waiting for the process to exit");
    } catch (error) {
      if (error instanceof WaitTimeout) throw new WaitTimeout(`${error.message}\n${this.describe()}`);
      throw error;
    }
  }

  /** Ends the whole process group at once (cleanup). */
  async kill(): Promise<void> {
    if (this.exitValue || this.child.pid === undefined) return;
    try {
      process.kill(-this.child.pid, "SIGKILL");
    } catch {
      // already gone
    }
    await withTimeout(this.exited, 5_000, "waiting for the killed process").catch(() => {});
  }

  describe(): string {
    return `--- stdout\n${this.stdout}\n--- stderr\n${this.stderrText}`;
  }
}

const live = new Set<Spawned>();

// Should the test worker end without its afterAll, leave no process behind (nor a data dir of theirs).
process.once("exit", () => {
  for (const proc of live) {
    try {
      process.kill(-proc.pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
  for (const dir of storageDirs) rmSync(dir, { recursive: true, force: true });
});

/** Kills every process these helpers started that is still running (afterAll). */
export async function killAllProcesses(): Promise<void> {
  await Promise.all([...live].map((proc) => proc.kill()));
}

/** Runs a command to its exit; fails with its output unless it exits 0. */
export async function runToEnd(command: string, args: readonly string[], options: ProcessOptions = {}, timeoutMs = 60_000): Promise<Spawned> {
  const proc = new Spawned(command, args, options);
  try {
    const exit = await proc.waitForExit(timeoutMs);
    if (exit.code !== 0) throw new Error(`${command} ${args.join(" ")} exited with ${JSON.stringify(exit)}\n${proc.describe()}`);
    return proc;
  } finally {
    await proc.kill();
  }
}

export interface SpawnOptions {
  /** `--listen` value; null passes no `--listen` at all. Default `127.0.0.1:0`. */
  listen?: string | null;
  /**
   * `--http` value (use port 0); null (the default) passes `--no-http`, so that no test server takes the
   * process's default HTTP port (127.0.0.1:8080) and parallel tests never meet there. Nothing is added
   * when `args` already hold `--http` or `--no-http`, or with `keepHttpDefault` (a test of the default itself).
   */
  http?: string | null;
  /** Pass neither `--http` nor `--no-http`: the server takes its own default (only for a test of that default). */
  keepHttpDefault?: boolean;
  /** More arguments, after `--listen`. */
  args?: string[];
  /** Environment on top of this one's (SR_LISTEN and SR_HTTP are dropped unless given here). */
  env?: Record<string, string | undefined>;
  /** Run it as the README says, through `npm start` (default: node on the compiled server directly). */
  npmStart?: boolean;
}

/** Whether `args` choose the HTTP listener themselves (`--http ADDR`, `--http=ADDR`, `--no-http`). */
export function choosesHttp(args: readonly string[]): boolean {
  return args.some((arg) => arg === "--http" || arg.startsWith("--http=") || arg === "--no-http");
}

/** The HTTP flags a spawned server gets: `--no-http` unless the test asks for an address (port 0) or chose already. */
function httpArgs(options: SpawnOptions): string[] {
  if (options.keepHttpDefault || options.env?.SR_HTTP || choosesHttp(options.args ?? [])) return [];
  return options.http ? ["--http", options.http] : ["--no-http"];
}

// ---- the storage mode of a test run (vitest.config.ts's projects) ----

declare module "vitest" {
  export interface ProvidedContext {
    /** The etcd the `etcd` project's global setup started (test/helpers/etcd-global-setup.ts): its client URLs, or why there is none. */
    srTestEtcd: { endpoints: string[]; missing?: string };
  }
}

/**
 * Where test servers keep their registry: `SR_TEST_STORAGE`, set by the vitest
 * projects `sqlite` and `etcd` (vitest.config.ts); unset (or `memory`) is the
 * in-memory default, as in the default project.
 */
export function testStorage(): "sqlite" | "etcd" | undefined {
  const mode = process.env.SR_TEST_STORAGE;
  if (mode === undefined || mode === "" || mode === "memory") return undefined;
  if (mode === "sqlite" || mode === "etcd") return mode;
  throw new Error(`SR_TEST_STORAGE=${mode}: expected sqlite, etcd or memory`);
}

let prefixes = 0;

/** An etcd key prefix no other server (of this run or another) uses: `/sr-test/<label>-<pid>-<n>-<random>/`. */
export function uniquePrefix(label = "t"): string {
  return `/sr-test/${label}-${process.pid}-${++prefixes}-${Math.random().toString(36).slice(2, 8)}/`;
}

/** One test server's storage under `SR_TEST_STORAGE`: as configuration (in process) and as flags (spawned). */
export interface TestStorage {
  config: StorageConfig;
  args: string[];
  /** Removes what the storage left (the SQLite data dir), once the server is gone. */
  release(): void;
}

/** A fresh storage of the run's mode for one server, or undefined in memory: a new data dir on /dev/shm, or a new etcd prefix. */
export function storageForTest(): TestStorage | undefined {
  const mode = testStorage();
  if (mode === "sqlite") {
    const dir = mkdtempSync(path.join(existsSync("/dev/shm") ? "/dev/shm" : tmpdir(), "sr-test-data-"));
    storageDirs.add(dir);
    return {
      config: { dataDir: dir },
      args: ["--data-dir", dir],
      release: () => {
        rmSync(dir, { recursive: true, force: true });
        storageDirs.delete(dir);
      },
    };
  }
  if (mode === "etcd") {
    const etcd = inject("srTestEtcd");
    if (etcd?.missing) throw new Error(etcd.missing);
    const endpoints = etcd?.endpoints ?? [];
    if (!endpoints.length) throw new Error("SR_TEST_STORAGE=etcd but no etcd was started: run the tests as the vitest project etcd (its globalSetup starts one)");
    const prefix = uniquePrefix("srv");
    return { config: { etcd: { endpoints, prefix } }, args: ["--etcd", endpoints.join(","), "--etcd-prefix", prefix], release: () => {} };
  }
  return undefined;
}

/** Data dirs of servers still running; removed when the test worker exits. */
const storageDirs = new Set<string>();

/** Whether `args` choose a storage mode themselves (`--data-dir`, `--etcd`). */
export function choosesStorage(args: readonly string[]): boolean {
  return args.some((arg) => ["--data-dir", "--etcd"].some((flag) => arg === flag || arg.startsWith(`${flag}=`)));
}

/**
 * The server process. Under `SR_TEST_STORAGE` (testStorage) it keeps its registry in that mode, a
 * storage of its own, unless `args` choose one (`--data-dir`, `--etcd`).
 */
export class SrProcess extends Spawned {
  constructor(options: SpawnOptions = {}) {
    const listen = options.listen === undefined ? "127.0.0.1:0" : options.listen;
    ensureBuilt();
    // After the build, which may fail: a data dir is made only for a process that gets spawned, which releases it.
    const storage = choosesStorage(options.args ?? []) ? undefined : storageForTest();
    const args = [...(listen === null ? [] : ["--listen", listen]), ...httpArgs(options), ...(options.args ?? []), ...(storage?.args ?? [])];
    const [command, commandArgs] = options.npmStart ? ["npm", ["start", "--silent", "--", ...args]] : [process.execPath, [SERVER, ...args]];
    super(command, commandArgs, { env: { SR_LISTEN: undefined, SR_HTTP: undefined, ...options.env } });
    if (storage) void this.exited.then(() => storage.release());
  }
}

/** A started server process and the gRPC address from its listening line. */
export interface Started {
  proc: SrProcess;
  address: string;
}

/** Spawns the server and waits for its listening line; the address is the one that line names. */
export async function startSrProcess(options: SpawnOptions = {}): Promise<Started> {
  const proc = new SrProcess(options);
  const match = await proc.waitForLine(LISTENING);
  return { proc, address: match[1] as string };
}

/** Runs the server to its exit (for configurations it must refuse). */
export async function runSrProcess(options: SpawnOptions = {}, timeoutMs = 45_000): Promise<{ exit: Exit; stdout: string; stderr: string }> {
  const proc = new SrProcess(options);
  try {
    const exit = await proc.waitForExit(timeoutMs);
    return { exit, stdout: proc.stdout, stderr: proc.stderr };
  } finally {
    await proc.kill();
  }
}

/** Kills every server process these helpers started that is still running (afterAll). */
export async function killAllSrProcesses(): Promise<void> {
  await Promise.all([...live].filter((proc) => proc instanceof SrProcess).map((proc) => proc.kill()));
}

/** Temporary YAML files, removed by `removeTempFiles`. */
const tempDirs: string[] = [];

export function writeTempFile(name: string, content: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), "sr-test-"));
  tempDirs.push(dir);
  const file = path.join(dir, name);
  writeFileSync(file, content);
  return file;
}

export function removeTempFiles(): void {
  for (const dir of tempDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}
