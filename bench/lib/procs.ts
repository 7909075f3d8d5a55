/**
 * The processes of a benchmark: the server under test (ours, a baseline, etcd)
 * pinned to one core, and the load (agents running `bench/lib/agent.ts`) pinned
 * to the other, so the server's figures are its own and not the clients'.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { now } from "./stats.js";

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const CORES = Number(execFileSync("nproc", { encoding: "utf8" }).trim());
export const SERVER_CORE = 0;
/** On one core only a smoke run goes ahead (checkMachine), with everything on it. */
export const LOAD_CORE = CORES >= 2 ? 1 : 0;
const CLK_TCK = 100; // USER_HZ, fixed at 100 in Linux's ABI for /proc
const PROBE = path.join(repoRoot, "bench/lib/probe.mjs");
const AGENT = path.join(repoRoot, "bench/lib/agent.ts");

const live = new Set<Proc>();
// Whatever ends the benchmark, leave no server or agent behind.
process.once("exit", () => {
  for (const proc of live) proc.kill();
});
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => process.exit(130));
}

/** Checked once: without two cores and taskset the figures would mean something else. */
function checkMachine(): void {
  if (CORES < 2) {
    if (!process.argv.includes("--smoke")) throw new Error(`bench: needs 2 cores (server on one, load on the other); nproc says ${CORES}`);
    process.stderr.write("bench: one core only: server and load share it (smoke run, figures meaningless)\n");
  }
  // Every scenario runs beside its baselines: a missing tool is an error, never a skipped side.
  for (const [tool, flag] of [["taskset", "-V"], ["h2load", "--version"], ["etcd", "--version"]]) {
    try {
      execFileSync(tool as string, [flag as string], { stdio: "ignore" });
    } catch {
      throw new Error(`bench: ${tool} is missing; run \`sudo bash scripts/install-bench-tools.sh\``);
    }
  }
}
let machineChecked = false;

export interface SpawnOpts {
  core: number;
  /** Give the child an IPC channel (agents, the server's probe). */
  ipc?: boolean;
  env?: Record<string, string>;
}

/** A pinned child process with its stdout lines, its CPU and memory as the kernel counts them. */
export class Proc {
  readonly child: ChildProcess;
  readonly started = now();
  readonly lines: string[] = [];
  stderr = "";
  private rest = "";
  private waiters: (() => void)[] = [];
  exited = false;

  constructor(
    readonly name: string,
    command: string,
    args: readonly string[],
    opts: SpawnOpts,
  ) {
    if (!machineChecked) {
      checkMachine();
      machineChecked = true;
    }
    // taskset execs the command, so the pid is the server's own.
    this.child = spawn("taskset", ["-c", String(opts.core), command, ...args], {
      cwd: repoRoot,
      env: { ...process.env, ...opts.env },
      stdio: ["ignore", "pipe", "pipe", ...(opts.ipc ? ["ipc" as const] : [])],
      serialization: "advanced",
    });
    live.add(this);
    this.child.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
      const parts = (this.rest + chunk).split("\n");
      this.rest = parts.pop() ?? "";
      // The server logs a JSON line per change at its default level: past the first lines only the plain ones (`sr: ...`) are kept.
      for (const line of parts) if (this.lines.length < 10_000 || !line.startsWith("{")) this.lines.push(line);
      this.wake();
    });
    this.child.stderr?.setEncoding("utf8").on("data", (chunk: string) => {
      this.stderr += chunk;
      if (this.stderr.length > 100_000) this.stderr = this.stderr.slice(-50_000);
    });
    this.child.once("exit", () => {
      this.exited = true;
      live.delete(this);
      this.wake();
    });
  }

  private wake(): void {
    for (const waiter of this.waiters.splice(0)) waiter();
  }

  get pid(): number {
    if (this.child.pid === undefined) throw new Error(`${this.name} did not start\n${this.stderr}`);
    return this.child.pid;
  }

  /** The first stdout line matching `pattern`, and when it arrived (the monotonic clock). */
  async waitForLine(pattern: RegExp, timeoutMs = 60_000): Promise<{ match: RegExpMatchArray; at: number }> {
    const deadline = now() + timeoutMs;
    let seen = 0;
    for (;;) {
      for (; seen < this.lines.length; seen++) {
        const match = pattern.exec(this.lines[seen] as string);
        if (match) return { match, at: now() };
      }
      if (this.exited) throw new Error(`${this.name} exited before printing ${pattern}\n${this.lines.join("\n")}\n${this.stderr}`);
      if (now() > deadline) throw new Error(`${this.name}: no line matching ${pattern} within ${timeoutMs} ms\n${this.stderr}`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 50);
      });
    }
  }

  /** User + system CPU seconds of the whole process (every thread), from /proc/PID/stat. */
  cpuSeconds(): number {
    const stat = readFileSync(`/proc/${this.pid}/stat`, "utf8");
    // Fields after the command name, which is in parentheses and may hold spaces.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
  }

  /** Resident and peak resident memory in bytes, from /proc/PID/status. */
  memory(): { rss: number; peakRss: number } {
    const status = readFileSync(`/proc/${this.pid}/status`, "utf8");
    const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? Number.NaN) * 1024;
    return { rss: kb("VmRSS"), peakRss: kb("VmHWM") };
  }

  /** Resolves with the exit code once the process ends (a signal counts as -1). */
  exit(): Promise<number> {
    if (this.exited) return Promise.resolve(this.child.exitCode ?? -1);
    return new Promise((resolve) => this.child.once("exit", (code) => resolve(code ?? -1)));
  }

  kill(): void {
    if (this.exited || this.child.pid === undefined) return;
    try {
      this.child.kill("SIGKILL");
    } catch {
      // already gone
    }
  }

  async stop(): Promise<void> {
    if (this.exited) return;
    const gone = new Promise<void>((resolve) => this.child.once("exit", () => resolve()));
    // A profiled run (SR_BENCH_CPU_PROF) stops gracefully first, so that node writes the profile.
    if (process.env.SR_BENCH_CPU_PROF) {
      this.child.kill("SIGTERM");
      await Promise.race([gone, new Promise((resolve) => setTimeout(resolve, 15_000))]);
    }
    this.kill();
    await gone;
  }
}

/** A free TCP port on loopback (for servers that cannot take port 0 and say which they got, such as etcd). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

const tempDirs: string[] = [];
process.once("exit", () => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});
/** A temporary directory, on /dev/shm when there is one (etcd's data: no disk in the figures). */
export function tempDir(prefix: string): string {
  let base = "/dev/shm";
  try {
    execFileSync("test", ["-w", base]);
  } catch {
    base = "/tmp";
  }
  const dir = mkdtempSync(path.join(base, `sr-bench-${prefix}-`));
  tempDirs.push(dir);
  return dir;
}

// ---- the servers ----

let built = false;
/** The compiled server, rebuilt first when src/ or gen/ changed (what `npm start` runs). */
export function ensureBuilt(): void {
  if (built) return;
  execFileSync(process.execPath, [path.join(repoRoot, "scripts/build-server.mjs"), "--if-stale"], { stdio: "inherit" });
  built = true;
}

/** A server under test on SERVER_CORE, with its address and how long it took from spawn to serving. */
export interface Server {
  proc: Proc;
  address: string;
  /** Spawn to the listening line, ms. */
  spawnMs: number;
  /** Heap and RSS after a full GC, asked of the process itself (node servers started with the probe). */
  heap(): Promise<{ heapUsed: number; rss: number }>;
}

function nodeServer(proc: Proc, address: string, at: number): Server {
  return {
    proc,
    address,
    spawnMs: at - proc.started,
    heap: () =>
      new Promise((resolve, reject) => {
        if (!proc.child.send) return reject(new Error(`${proc.name} has no probe`));
        proc.child.once("message", (m) => resolve(m as { heapUsed: number; rss: number }));
        proc.child.send({ probe: "heap" });
      }),
  };
}

export interface SrServerOpts {
  /** The YAML configuration (written as JSON, which YAML reads). */
  config?: Record<string, unknown>;
  /** Load bench/lib/probe.mjs (heap on request; --expose-gc). Off when timing the bare spawn. */
  probe?: boolean;
  /** No configuration file: the server started from flags alone, `--listen 127.0.0.1:0 --no-http` (timing the bare spawn). */
  flagsOnly?: boolean;
}

/** Our server as `npm start` runs it: node on dist/src/main.js, from a configuration the benchmark writes. */
export async function startSr(opts: SrServerOpts = {}): Promise<Server> {
  ensureBuilt();
  const dir = tempDir("sr");
  const file = path.join(dir, "sr.yaml");
  writeFileSync(file, JSON.stringify({ listen: "127.0.0.1:0", ...opts.config }));
  const probe = opts.probe === false ? [] : ["--expose-gc", "--import", PROBE];
  // SR_BENCH_CPU_PROF=DIR: the server writes a CPU profile (node --cpu-prof) there when it stops.
  const profile = process.env.SR_BENCH_CPU_PROF;
  if (profile) probe.unshift("--cpu-prof", `--cpu-prof-dir=${path.resolve(profile)}`);
  // No HTTP listener unless the benchmark configures one: never the default port 8080, which parallel runs would share.
  const http = opts.config && "http" in opts.config ? [] : ["--no-http"];
  // SR_BENCH_SR_MAIN=FILE: another build of ours instead (an A/B against a worktree of an earlier commit).
  const main = process.env.SR_BENCH_SR_MAIN ? path.resolve(process.env.SR_BENCH_SR_MAIN) : path.join(repoRoot, "dist/src/main.js");
  const args = opts.flagsOnly ? ["--listen", "127.0.0.1:0", "--no-http"] : ["--config", file, ...http];
  const proc = new Proc("sr", process.execPath, [...probe, main, ...args], {
    core: SERVER_CORE,
    ipc: opts.probe !== false,
  });
  const { match, at } = await proc.waitForLine(/gRPC listening on (\S+)/);
  return nodeServer(proc, match[1] as string, at);
}

export type BaselineKind = "bare-unary" | "bare-stream" | "health";

/** A baseline grpc-js server (bench/lib/baseline-server.ts) on SERVER_CORE. */
export async function startBaseline(kind: BaselineKind, args: string[] = []): Promise<Server> {
  const proc = new Proc(kind, process.execPath, ["--expose-gc", "--import", PROBE, "--import", "tsx", path.join(repoRoot, "bench/lib/baseline-server.ts"), kind, ...args], {
    core: SERVER_CORE,
    ipc: true,
  });
  const { match, at } = await proc.waitForLine(/listening on (\S+)/);
  return nodeServer(proc, match[1] as string, at);
}

/** etcd (Debian's etcd-server) with its data on /dev/shm, on free ports. */
export async function startEtcd(): Promise<Server> {
  const [client, peer] = [await freePort(), await freePort()];
  const dir = tempDir("etcd");
  const clientUrl = `http://127.0.0.1:${client}`;
  const peerUrl = `http://127.0.0.1:${peer}`;
  const proc = new Proc(
    "etcd",
    "etcd",
    [
      "--name", "bench",
      "--data-dir", dir,
      "--listen-client-urls", clientUrl,
      "--advertise-client-urls", clientUrl,
      "--listen-peer-urls", peerUrl,
      "--initial-advertise-peer-urls", peerUrl,
      "--initial-cluster", `bench=${peerUrl}`,
      "--log-level", "error",
    ],
    { core: SERVER_CORE },
  );
  const address = `127.0.0.1:${client}`;
  // etcd logs its readiness on stderr in a format that changes between versions; ask it instead.
  const deadline = now() + 30_000;
  for (;;) {
    try {
      execFileSync("bash", ["-c", `exec 3<>/dev/tcp/127.0.0.1/${client}`], { stdio: "ignore" });
      break;
    } catch {
      if (proc.exited || now() > deadline) throw new Error(`etcd did not start\n${proc.stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  return {
    proc,
    address,
    spawnMs: now() - proc.started,
    heap: () => Promise.reject(new Error("etcd has no probe")),
  };
}

// ---- the load ----

/** A load process on LOAD_CORE serving the tasks a module exports (bench/lib/agent.ts). */
export class Agent {
  private nextId = 0;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  readonly proc: Proc;

  constructor(module: string, name = path.basename(module, ".ts")) {
    this.proc = new Proc(`agent ${name}`, process.execPath, ["--import", "tsx", AGENT, path.join(repoRoot, module)], { core: LOAD_CORE, ipc: true });
    this.proc.child.on("message", (m: { id: number; result?: unknown; error?: string }) => {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (m.error !== undefined) p.reject(new Error(`${this.proc.name}: ${m.error}`));
      else p.resolve(m.result);
    });
    this.proc.child.once("exit", (code, signal) => {
      for (const p of this.pending.values()) p.reject(new Error(`${this.proc.name} exited (${code ?? signal})\n${this.proc.stderr}`));
      this.pending.clear();
    });
  }

  /** Runs `task(params)` in the agent; resolves with what it returns. */
  call<T>(task: string, params: unknown = {}): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.proc.child.send?.({ id, task, params });
    });
  }

  async stop(): Promise<void> {
    await this.proc.stop();
  }
}

/** The streaming scenarios' load: the watchers in one agent, the writer in another (bench/lib/watch-load.ts). */
export function watchAgents(): { watchAgent: Agent; writeAgent: Agent; stop(): Promise<void> } {
  const watchAgent = new Agent("bench/lib/watch-load.ts", "watchers");
  const writeAgent = new Agent("bench/lib/watch-load.ts", "writer");
  return { watchAgent, writeAgent, stop: async () => void (await Promise.all([watchAgent.stop(), writeAgent.stop()])) };
}
