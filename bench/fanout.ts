/**
 * Fan-out: one writer, N watchers, the server alone on its core.
 *
 *   npx tsx bench/fanout.ts [--smoke] [--rounds 3] [--write | --no-write]
 *     [--watchers 1000 --connections 50 --sides sr,health]   (one corner of the grid)
 *   SR_BENCH_CPU_PROF=tmp/prof npx tsx bench/fanout.ts ...   (the server writes a CPU profile there)
 *
 * For 1, 100, 1,000 and 5,000 watchers over 1 and over 50 connections, four
 * servers, each a fresh process pinned to core 0 (bench/lib/procs.ts):
 * - `sr`: ours (`node dist/src/main.js`), watch limits and budgets raised by
 *   this benchmark's configuration so that no watcher resyncs;
 * - `bare grpc-js`: a server-streaming handler writing one pre-encoded message
 *   to every stream, no backpressure (bench/lib/baseline-server.ts): the stack's limit;
 * - `grpc-health-check`: its `Watch`, written through a SetStatus shim;
 * - `etcd`: Debian's etcd-server, data on /dev/shm, one Watch stream per watcher.
 * The writer and the watchers are two agents pinned to core 1
 * (bench/lib/watch-load.ts). Two runs per server and size: the writer as fast as
 * it can (each call awaited), then at 20 changes/s. Deliveries/s = changes x
 * watchers / (first write -> last delivery); latency is write -> decoded
 * delivery over every (change, watcher); server CPU is the server's own
 * (/proc/PID/stat) over the run, per delivery.
 */
import { type Server, startBaseline, startEtcd, startSr, watchAgents } from "./lib/procs.js";
import { type Column, flags, log, publish, ratio, table } from "./lib/report.js";
import { medianRows, now, rotate } from "./lib/stats.js";
import { GROUP, IDENTIFIER, type Side } from "./lib/watch-load.js";

const f = flags(3, ["watchers", "connections", "sides"]);
/** `--watchers 1000 --connections 50 --sides sr,health`: one corner of the grid (for profiling; the full run writes BENCHMARKS.md). */
const list = (value: string | undefined) => value?.split(",").map((v) => v.trim());
const WATCHERS = list(f.extra.watchers)?.map(Number) ?? (f.smoke ? [1, 20] : [1, 100, 1_000, 5_000]);
const CONNECTIONS = list(f.extra.connections)?.map(Number) ?? (f.smoke ? [1, 4] : [1, 50]);
const SIDES = (list(f.extra.sides) as Side[] | undefined) ?? ["sr", "bare", "health", "etcd"];
const NAMES: Record<Side, string> = { sr: "sr", bare: "bare grpc-js", health: "grpc-health-check", etcd: "etcd" };
/** Deliveries per fast run (so 100 changes at 5,000 watchers), changes at most MAX_CHANGES. */
const MAX_DELIVERIES = f.smoke ? 2_000 : 500_000;
const MAX_CHANGES = f.smoke ? 50 : 2_000;
const RATE_HZ = 20;
const PACED_CHANGES = f.smoke ? 10 : 100; // 5 s at 20/s
const WARMUP_CHANGES = f.smoke ? 5 : 50;

/** Ours with the limits this benchmark needs: 5,000 streams on one connection, queues longer than any run. */
const SR_CONFIG = {
  groups: [{ name: GROUP, identifiers: [{ name: IDENTIFIER, status: 1 }] }],
  limits: { max_watchers: 20_000, max_watchers_per_connection: 10_000, max_concurrent_streams: 20_000 },
  watch: { budget_messages: 100_000, budget_bytes: 256 * 1024 * 1024, history: 100_000 },
};

function startSide(side: Side): Promise<Server> {
  if (side === "sr") return startSr({ config: SR_CONFIG });
  if (side === "etcd") return startEtcd();
  return startBaseline(side === "bare" ? "bare-stream" : "health");
}

interface Row extends Record<string, unknown> {
  round: number;
  watchers: number;
  connections: number;
  side: string;
  mode: string;
  changes: number;
  deliveriesPerS: number;
  p50Ms: number;
  p99Ms: number;
  serverCpuUsPerDelivery: number;
  serverCpuPct: number;
  loadCpuPct: number;
}

const agents = watchAgents();
const { watchAgent, writeAgent } = agents;
const rows: Row[] = [];
let next = 0; // the next change's k: it runs on across the runs of one server

async function measure(server: Server, side: Side, watchers: number, connections: number, round: number, mode: "fast" | "paced"): Promise<Row> {
  const changes = mode === "fast" ? Math.max(1, Math.min(MAX_CHANGES, Math.floor(MAX_DELIVERIES / watchers))) : PACED_CHANGES;
  await watchAgent.call("arm", { from: next, changes });
  const cpu0 = server.proc.cpuSeconds();
  const load0 = watchAgent.proc.cpuSeconds() + writeAgent.proc.cpuSeconds();
  const t0 = now();
  const { writeAt } = await writeAgent.call<{ writeAt: number[] }>("write", { from: next, changes, rateHz: mode === "paced" ? RATE_HZ : undefined });
  const { lastAt } = await watchAgent.call<{ lastAt: number }>("complete");
  const wall = now() - t0;
  const cpu = server.proc.cpuSeconds() - cpu0;
  const loadCpu = watchAgent.proc.cpuSeconds() + writeAgent.proc.cpuSeconds() - load0;
  next += changes;
  const lat = await watchAgent.call<{ p50: number; p99: number }>("latency", { writeAt });
  const deliveries = changes * watchers;
  return {
    round,
    watchers,
    connections,
    side: NAMES[side],
    mode: mode === "fast" ? "as fast as it can" : `${RATE_HZ} changes/s`,
    changes,
    deliveriesPerS: deliveries / ((lastAt - (writeAt[0] as number)) / 1000),
    p50Ms: lat.p50,
    p99Ms: lat.p99,
    serverCpuUsPerDelivery: (cpu * 1e6) / deliveries,
    serverCpuPct: (100 * cpu) / (wall / 1000),
    loadCpuPct: (100 * loadCpu) / (wall / 1000),
  };
}

async function runSide(side: Side, watchers: number, connections: number, round: number): Promise<void> {
  const server = await startSide(side);
  try {
    next = 0;
    await watchAgent.call("open", { side, address: server.address, watchers, connections });
    await writeAgent.call("writerOpen", { side, address: server.address });
    // Warm both ends (JIT, buffers) on changes nobody records.
    await watchAgent.call("arm", { from: next, changes: WARMUP_CHANGES });
    await writeAgent.call("write", { from: next, changes: WARMUP_CHANGES });
    await watchAgent.call("complete");
    next += WARMUP_CHANGES;
    for (const mode of ["fast", "paced"] as const) {
      const row = await measure(server, side, watchers, connections, round, mode);
      rows.push(row);
      log(`fanout r${round} ${watchers}w/${connections}c ${row.side} ${row.mode}: ${Math.round(row.deliveriesPerS)} deliveries/s, p50 ${row.p50Ms.toFixed(2)} ms, p99 ${row.p99Ms.toFixed(2)} ms, ${row.serverCpuUsPerDelivery.toFixed(1)} µs CPU/delivery`);
    }
  } finally {
    await writeAgent.call("writerClose");
    await watchAgent.call("close");
    await server.proc.stop();
  }
}

try {
  for (let round = 0; round < f.rounds; round++) {
    for (const watchers of WATCHERS) {
      for (const connections of CONNECTIONS) {
        if (connections > watchers) continue; // the same as fewer connections
        for (const side of rotate(SIDES, round)) await runSide(side, watchers, connections, round);
      }
    }
  }
} finally {
  await agents.stop();
}

const key = (r: Row) => `${r.mode}|${r.watchers}|${r.connections}|${r.side}`;
const medians = medianRows(rows, key);
const limit = new Map(medians.filter((r) => r.side === NAMES.bare).map((r) => [`${r.mode}|${r.watchers}|${r.connections}`, r]));
const columns: Column<Row>[] = [
  { title: "watchers", value: (r) => r.watchers },
  { title: "connections", value: (r) => r.connections },
  { title: "server", value: (r) => r.side, text: true },
  { title: "deliveries/s", value: (r) => r.deliveriesPerS },
  { title: "of bare grpc-js", value: (r) => ratio(r.deliveriesPerS, limit.get(`${r.mode}|${r.watchers}|${r.connections}`)?.deliveriesPerS) },
  { title: "p50 ms", value: (r) => r.p50Ms },
  { title: "p99 ms", value: (r) => r.p99Ms },
  { title: "server CPU µs/delivery", value: (r) => r.serverCpuUsPerDelivery },
  { title: "server CPU %", value: (r) => r.serverCpuPct },
  { title: "load CPU %", value: (r) => r.loadCpuPct },
];
const byMode = (mode: string) => medians.filter((r) => r.mode === mode);
publish(f, {
  scenario: "fanout",
  title: "Fan-out: one writer to 1 ... 5,000 watchers",
  data: { medians, runs: rows },
  body: [
    "Writer as fast as it can (one SetStatus, or etcd Put, at a time; the p50/p99 include the queue that builds):",
    "",
    table(columns, byMode("as fast as it can")),
    "",
    `Writer at ${RATE_HZ} changes/s (the latency of one change with nothing queued in front of it):`,
    "",
    table(columns, byMode(`${RATE_HZ} changes/s`)),
    "",
    "`server CPU %` near 100 means the server's core was the limit; `load CPU %` near 100 means the load core was (watchers' decoding), and the server had time to spare.",
  ].join("\n"),
});
