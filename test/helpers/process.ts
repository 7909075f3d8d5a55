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
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
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

// Should the test worker end without its afterAll, leave no process behind.
process.once("exit", () => {
  for (const proc of live) {
    try {
      process.kill(-proc.pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
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

/** The server process. */
export class SrProcess extends Spawned {
  constructor(options: SpawnOptions = {}) {
    const listen = options.listen === undefined ? "127.0.0.1:0" : options.listen;
    const args = [...(listen === null ? [] : ["--listen", listen]), ...httpArgs(options), ...(options.args ?? [])];
    ensureBuilt();
    const [command, commandArgs] = options.npmStart ? ["npm", ["start", "--silent", "--", ...args]] : [process.execPath, [SERVER, ...args]];
    super(command, commandArgs, { env: { SR_LISTEN: undefined, SR_HTTP: undefined, ...options.env } });
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
