/**
 * The servers of a storage-mode case (bench/storage.ts, bench/replicas.ts):
 * one server as before, or etcd mode's replicas (`storage.etcd`) sharing one
 * registry in a fresh single-member etcd (data on /dev/shm, procs.ts
 * startEtcd). etcd and every replica run on the server core (core 0): on a
 * 2-core machine etcd shares the servers' core. What the servers log at warn
 * or error, and what they or etcd write on stderr, is kept to be reported.
 */
import { type Server, startEtcd, startSr } from "./procs.js";
import { load1 } from "./report.js";

export interface Setup {
  servers: Server[];
  /** etcd mode: the etcd member the replicas share. */
  etcd?: Server;
  /** User + system CPU seconds of every server process (not etcd). */
  cpuSeconds(): number;
  /** etcd's, or 0 without etcd. */
  etcdCpuSeconds(): number;
  /** Warn and error log lines of the servers, and non-empty stderr of the servers and etcd, so far. */
  problems(): string[];
  stop(): Promise<void>;
}

const KEPT = 20;

/** etcd 3.4 writes raft's INFO lines and a deprecation notice on stderr whatever --log-level says: the rest is kept. */
const etcdNoise = /^raft\S* \S+ INFO: |^\[WARNING\] Deprecated '--logger=capnslog'/;
const etcdStderr = (stderr: string) =>
  stderr
    .split("\n")
    .filter((line) => line.trim() && !etcdNoise.test(line))
    .join("\n");

/** Counts the server's log lines at warn or error (pino, `"level":"warn"`), keeping the first few. */
function watchLog(server: Server, name: string): () => string[] {
  const kept: string[] = [];
  let count = 0;
  let rest = "";
  server.proc.child.stdout?.on("data", (chunk: string | Buffer) => {
    const parts = (rest + chunk.toString()).split("\n");
    rest = parts.pop() ?? "";
    for (const line of parts) {
      if (!/"level":"(warn|error|fatal)"/.test(line)) continue;
      count++;
      if (kept.length < KEPT) kept.push(`${name}: ${line.slice(0, 600)}`);
    }
  });
  return () => [...kept, ...(count > kept.length ? [`${name}: ${count - kept.length} more warn/error lines`] : [])];
}

function setupOf(servers: Server[], etcd?: Server): Setup {
  const logs = servers.map((s, i) => watchLog(s, servers.length > 1 ? `replica ${i}` : "server"));
  return {
    servers,
    etcd,
    cpuSeconds: () => servers.reduce((sum, s) => sum + s.proc.cpuSeconds(), 0),
    etcdCpuSeconds: () => etcd?.proc.cpuSeconds() ?? 0,
    problems: () => [
      ...logs.flatMap((l) => l()),
      ...servers.flatMap((s, i) => (s.proc.stderr.trim() ? [`${servers.length > 1 ? `replica ${i}` : "server"} stderr: ${s.proc.stderr.trim().slice(0, 2_000)}`] : [])),
      ...(etcd && etcdStderr(etcd.proc.stderr) ? [`etcd stderr: ${etcdStderr(etcd.proc.stderr).slice(0, 2_000)}`] : []),
      ...[...servers, ...(etcd ? [etcd] : [])].flatMap((s) => (s.proc.exited ? [`${s.proc.name} exited (${s.proc.child.exitCode ?? s.proc.child.signalCode})`] : [])),
    ],
    stop: async () => {
      await Promise.all(servers.map((s) => s.proc.stop()));
      await etcd?.proc.stop();
    },
  };
}

/** One server from `config` (in memory, or whatever storage it names). */
export async function startOne(config: Record<string, unknown>): Promise<Setup> {
  return setupOf([await startSr({ config })]);
}

/** The etcd key prefix of the benchmark's registry. */
export const PREFIX = "/sr-bench/";

/**
 * A fresh etcd and `replicas` servers in etcd mode on it, all from `config`
 * (the same groups: the first replica registers them, the others find them
 * there), started one after the other.
 */
export async function startReplicas(replicas: number, config: Record<string, unknown>): Promise<Setup> {
  const etcd = await startEtcd();
  const servers: Server[] = [];
  try {
    for (let i = 0; i < replicas; i++) {
      servers.push(await startSr({ config: { ...config, storage: { etcd: { endpoints: [`http://${etcd.address}`], prefix: PREFIX } } } }));
    }
  } catch (error) {
    await Promise.all(servers.map((s) => s.proc.stop()));
    await etcd.proc.stop();
    throw error;
  }
  return setupOf(servers, etcd);
}

/** A fresh etcd alone (the bare etcd baseline). */
export async function startBareEtcd(): Promise<Setup> {
  return setupOf([], await startEtcd());
}

/** Said in the section when other work shared the machine: taskset pins our processes, it does not keep others off those cores. */
export function busy(startLoad: number): string {
  const highest = Math.max(startLoad, load1());
  if (highest < 1.5) return "The machine was otherwise quiet (1-minute load average below 1.5).";
  return (
    `Other work shared the machine (1-minute load average up to ${highest} on 2 cores): taskset pins our processes but keeps nothing else off their cores, ` +
    "so each of our processes had a share of its core, and a setup of several processes (etcd and 3 replicas) got more of core 0 than one server alone: " +
    "`server CPU %` well under 100 with nothing else limiting means the server was waiting for its core. Read the ratios as indicative."
  );
}
