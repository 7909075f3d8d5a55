/**
 * The real server process, as `npm start` runs it: `tsx src/main.ts`, spawned
 * in a process group of its own so that whatever is left of it (tsx and the
 * node child it runs the server in) can be killed by that group's id.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { WaitTimeout, withTimeout } from "./wait.js";

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const TSX = path.join(repoRoot, "node_modules/.bin/tsx");

/** The line the server logs once gRPC listens; group 1 is the address. */
export const LISTENING = /gRPC listening on (\S+)/;

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface SpawnOptions {
  /** `--listen` value; null passes no `--listen` at all. Default `127.0.0.1:0`. */
  listen?: string | null;
  /** More arguments, after `--listen`. */
  args?: string[];
  /** Environment on top of this one's (SR_LISTEN is dropped unless given here). */
  env?: Record<string, string | undefined>;
  /** Run it as the README says, through `npm start` (default: tsx directly). */
  npmStart?: boolean;
}

export class SrProcess {
  readonly child: ChildProcess;
  /** Every complete stdout line so far. */
  readonly lines: string[] = [];
  private stdoutRest = "";
  private stderrText = "";
  private readonly lineWaiters = new Set<() => void>();
  readonly exited: Promise<Exit>;
  private exitValue: Exit | undefined;

  constructor(options: SpawnOptions = {}) {
    const listen = options.listen === undefined ? "127.0.0.1:0" : options.listen;
    const args = [...(listen === null ? [] : ["--listen", listen]), ...(options.args ?? [])];
    const env: NodeJS.ProcessEnv = { ...process.env };
    delete env.SR_LISTEN;
    Object.assign(env, options.env);
    const [command, commandArgs] = options.npmStart ? ["npm", ["start", "--silent", "--", ...args]] : [TSX, ["src/main.ts", ...args]];
    this.child = spawn(command, commandArgs, {
      cwd: repoRoot,
      env,
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
    });
    live.add(this);
    this.child.stdout?.setEncoding("utf8");
    this.child.stdout?.on("data", (chunk: string) => {
      const parts = (this.stdoutRest + chunk).split("\n");
      this.stdoutRest = parts.pop() ?? "";
      this.lines.push(...parts);
      this.notify();
    });
    this.child.stderr?.setEncoding("utf8");
    this.child.stderr?.on("data", (chunk: string) => {
      this.stderrText += chunk;
    });
    this.exited = new Promise<Exit>((resolve) => {
      this.child.once("error", (error) => {
        this.stderrText += `spawn failed: ${error.message}\n`;
        this.exitValue = { code: null, signal: null };
        resolve(this.exitValue);
      });
      this.child.once("close", (code, signal) => {
        if (this.stdoutRest) this.lines.push(this.stdoutRest);
        this.stdoutRest = "";
        this.exitValue = { code, signal };
        live.delete(this);
        this.notify();
        resolve(this.exitValue);
      });
    });
  }

  get pid(): number {
    if (this.child.pid === undefined) throw new Error("the server process did not start");
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

  /** Sends `signal` to the server process itself (tsx relays it to the node process it runs). */
  signal(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }

  /** The first stdout line matching `pattern`; fails when the process exits first or on timeout. */
  async waitForLine(pattern: RegExp, timeoutMs = 45_000): Promise<RegExpMatchArray> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      for (const line of this.lines) {
        const match = pattern.exec(line);
        if (match) return match;
      }
      if (this.exitValue) {
        throw new Error(`the server exited (${JSON.stringify(this.exitValue)}) before logging ${pattern}:\n${this.describe()}`);
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new WaitTimeout(`no line matching ${pattern} after ${timeoutMs} ms:\n${this.describe()}`);
      await withTimeout(new Promise<void>((resolve) => this.lineWaiters.add(resolve)), left, `waiting for ${pattern}`).catch(
        (error: unknown) => {
          if (!(error instanceof WaitTimeout)) throw error;
        },
      );
    }
  }

  /** The exit, within `timeoutMs`. */
  async waitForExit(timeoutMs = 15_000): Promise<Exit> {
    try {
      return await withTimeout(this.exited, timeoutMs, "waiting for the server process to exit");
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
    await withTimeout(this.exited, 5_000, "waiting for the killed server process").catch(() => {});
  }

  describe(): string {
    return `--- stdout\n${this.stdout}\n--- stderr\n${this.stderrText}`;
  }

  private notify(): void {
    const waiters = [...this.lineWaiters];
    this.lineWaiters.clear();
    for (const wake of waiters) wake();
  }
}

const live = new Set<SrProcess>();

// Should the test worker end without its afterAll, leave no server behind.
process.once("exit", () => {
  for (const proc of live) {
    try {
      process.kill(-proc.pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
});

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
  await Promise.all([...live].map((proc) => proc.kill()));
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
