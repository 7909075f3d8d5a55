/**
 * Fan-out by storage mode: one writer, 1,000 watchers over 50 connections, to
 * the in-memory default, to etcd mode with 1 replica and with 3 replicas
 * sharing one registry (watchers spread over the replicas), side by side.
 *
 *   npx tsx bench/replicas.ts [--smoke] [--rounds 3] [--write | --no-write]
 *
 * Built on bench/fanout.ts's machinery (bench/lib/watch-load.ts), unchanged:
 * the watchers run in three watch agents, one per replica (all three on the
 * one server when there is one), with a third of the watchers and of the
 * connections each (334 + 333 + 333 over 17 + 17 + 16); every watcher must get
 * every change once and in its place, or the run fails. The writer, a fourth
 * agent, writes to replica 0 one SetStatus at a time, as fast as it can, then
 * at 20 changes/s; in etcd mode each write is answered once etcd committed it
 * and replica 0 applied it, and the other replicas apply it from etcd's watch.
 * The servers and etcd (one member, data on /dev/shm, bench/lib/etcd-mode.ts)
 * run on core 0, the agents on core 1.
 * Deliveries/s = changes x watchers / (first write -> last delivery, any agent);
 * latency is write -> decoded delivery; each agent computes its p50 and p99 over
 * its own (change, watcher) pairs, and the table gives the median of the three
 * p50s and the highest of the three p99s (each agent holds a third of the
 * watchers, so the p50 of all is within the agents' p50s, and the p99 of all
 * at most the highest p99). Server CPU is the servers' own (all replicas
 * summed) per delivery, etcd's apart.
 */
import { type Setup, busy, startOne, startReplicas } from "./lib/etcd-mode.js";
import { Agent } from "./lib/procs.js";
import { type Column, flags, log, publish, ratio, table } from "./lib/report.js";
import { median, medianRows, now, rotate, sleep } from "./lib/stats.js";
import { GROUP, IDENTIFIER } from "./lib/watch-load.js";

const f = flags(3);
const WATCHERS = f.smoke ? 30 : 1_000;
const CONNECTIONS = f.smoke ? 6 : 50;
const FAST_CHANGES = f.smoke ? 20 : 500;
const RATE_HZ = 20;
const PACED_CHANGES = f.smoke ? 10 : 100; // 5 s at 20/s
const WARMUP_CHANGES = f.smoke ? 5 : 50;
const WATCH_AGENTS = 3;

type Mode = "in-memory" | "etcd, 1 replica" | "etcd, 3 replicas";
const MODES: Mode[] = ["in-memory", "etcd, 1 replica", "etcd, 3 replicas"];

/** bench/fanout.ts's configuration of ours: limits raised, queues longer than any run. */
const CONFIG = {
  http: false,
  groups: [{ name: GROUP, identifiers: [{ name: IDENTIFIER, status: 1 }] }],
  limits: { max_watchers: 20_000, max_watchers_per_connection: 10_000, max_concurrent_streams: 20_000 },
  watch: { budget_messages: 100_000, budget_bytes: 256 * 1024 * 1024, history: 100_000 },
};

function startMode(mode: Mode): Promise<Setup> {
  if (mode === "in-memory") return startOne(CONFIG);
  return startReplicas(mode === "etcd, 1 replica" ? 1 : 3, CONFIG);
}

/** `total` split in `parts` nearly equal, largest first. */
const split = (total: number, parts: number) => Array.from({ length: parts }, (_, i) => Math.floor(total / parts) + (i < total % parts ? 1 : 0));

interface Row extends Record<string, unknown> {
  round: number;
  mode: Mode;
  replicas: number;
  pace: string;
  changes: number;
  deliveriesPerS: number;
  writesPerS: number;
  p50Ms: number;
  p99Ms: number;
  /** Each watch agent's p50 (agent 0 watches the writer's replica). */
  p50Agent0: number;
  p50Agent1: number;
  p50Agent2: number;
  serverCpuUsPerDelivery: number;
  serverCpuPct: number;
  etcdCpuUsPerDelivery: number;
  etcdCpuPct: number;
  loadCpuPct: number;
}

const watchAgents = Array.from({ length: WATCH_AGENTS }, (_, i) => new Agent("bench/lib/watch-load.ts", `watchers ${i}`));
const writeAgent = new Agent("bench/lib/watch-load.ts", "writer");
const loadCpu = () => [...watchAgents, writeAgent].reduce((sum, a) => sum + a.proc.cpuSeconds(), 0);
const rows: Row[] = [];
const problems: string[] = [];
let next = 0; // the next change's k: it runs on across the runs of one setup

async function measure(setup: Setup, mode: Mode, round: number, pace: "fast" | "paced"): Promise<Row> {
  const changes = pace === "fast" ? FAST_CHANGES : PACED_CHANGES;
  await Promise.all(watchAgents.map((a) => a.call("arm", { from: next, changes })));
  const cpu0 = setup.cpuSeconds();
  const etcd0 = setup.etcdCpuSeconds();
  const load0 = loadCpu();
  const t0 = now();
  const { writeAt, ms } = await writeAgent.call<{ writeAt: number[]; ms: number }>("write", { from: next, changes, rateHz: pace === "paced" ? RATE_HZ : undefined });
  const done = await Promise.all(watchAgents.map((a) => a.call<{ lastAt: number }>("complete")));
  const wall = now() - t0;
  const cpu = setup.cpuSeconds() - cpu0;
  const etcdCpu = setup.etcdCpuSeconds() - etcd0;
  const load = loadCpu() - load0;
  next += changes;
  const lat = await Promise.all(watchAgents.map((a) => a.call<{ p50: number; p99: number }>("latency", { writeAt })));
  const lastAt = Math.max(...done.map((d) => d.lastAt));
  const deliveries = changes * WATCHERS;
  return {
    round,
    mode,
    replicas: setup.servers.length,
    pace: pace === "fast" ? "as fast as it can" : `${RATE_HZ} changes/s`,
    changes,
    deliveriesPerS: deliveries / ((lastAt - (writeAt[0] as number)) / 1000),
    writesPerS: changes / (ms / 1000),
    p50Ms: median(lat.map((l) => l.p50)),
    p99Ms: Math.max(...lat.map((l) => l.p99)),
    p50Agent0: lat[0]?.p50 ?? Number.NaN,
    p50Agent1: lat[1]?.p50 ?? Number.NaN,
    p50Agent2: lat[2]?.p50 ?? Number.NaN,
    serverCpuUsPerDelivery: (cpu * 1e6) / deliveries,
    serverCpuPct: (100 * cpu) / (wall / 1000),
    etcdCpuUsPerDelivery: setup.etcd ? (etcdCpu * 1e6) / deliveries : Number.NaN,
    etcdCpuPct: setup.etcd ? (100 * etcdCpu) / (wall / 1000) : Number.NaN,
    loadCpuPct: (100 * load) / (wall / 1000),
  };
}

async function runMode(mode: Mode, round: number): Promise<void> {
  const setup = await startMode(mode);
  try {
    next = 0;
    const watchers = split(WATCHERS, WATCH_AGENTS);
    const connections = split(CONNECTIONS, WATCH_AGENTS);
    // Let every replica apply what the others committed at their start, so all watchers start from the same revision.
    if (setup.servers.length > 1) await sleep(500);
    await Promise.all(
      watchAgents.map((a, i) =>
        a.call("open", { side: "sr", address: setup.servers[i % setup.servers.length]?.address, watchers: watchers[i], connections: connections[i] }),
      ),
    );
    await writeAgent.call("writerOpen", { side: "sr", address: setup.servers[0]?.address });
    // Warm every end (JIT, buffers) on changes nobody records.
    await Promise.all(watchAgents.map((a) => a.call("arm", { from: next, changes: WARMUP_CHANGES })));
    await writeAgent.call("write", { from: next, changes: WARMUP_CHANGES });
    await Promise.all(watchAgents.map((a) => a.call("complete")));
    next += WARMUP_CHANGES;
    for (const pace of ["fast", "paced"] as const) {
      const row = await measure(setup, mode, round, pace);
      rows.push(row);
      log(
        `replicas r${round} ${mode} ${row.pace}: ${Math.round(row.deliveriesPerS)} deliveries/s, ${Math.round(row.writesPerS)} writes/s, p50 ${row.p50Ms.toFixed(2)} ms ` +
          `(agents ${[row.p50Agent0, row.p50Agent1, row.p50Agent2].map((p) => p.toFixed(2)).join(" / ")}), p99 ${row.p99Ms.toFixed(2)} ms, ` +
          `${row.serverCpuUsPerDelivery.toFixed(1)} µs server CPU/delivery, ${row.etcdCpuUsPerDelivery.toFixed(1)} µs etcd CPU/delivery`,
      );
    }
  } catch (error) {
    // A lost, doubled or misplaced delivery, a stall, a failed write: reported, and the next case goes on.
    const message = (error as Error).message.split("\n").slice(0, 6).join(" ");
    log(`replicas r${round} ${mode}: FAILED: ${message}`);
    problems.push(`round ${round}, ${mode}: the run failed: ${message}`);
  } finally {
    await writeAgent.call("writerClose").catch(() => {});
    await Promise.all(watchAgents.map((a) => a.call("close").catch(() => {})));
    const seen = setup.problems();
    for (const p of seen) log(`replicas r${round} ${mode}: ${p}`);
    problems.push(...seen.map((p) => `round ${round}, ${mode}: ${p}`));
    await setup.stop();
  }
}

try {
  for (let round = 0; round < f.rounds; round++) {
    for (const mode of rotate(MODES, round)) await runMode(mode, round);
  }
} finally {
  await Promise.all([...watchAgents, writeAgent].map((a) => a.stop()));
}

const medians = medianRows(rows, (r) => `${r.pace}|${r.mode}`);
const memoryOf = new Map(medians.filter((r) => r.mode === "in-memory").map((r) => [r.pace, r]));
const columns: Column<Row>[] = [
  { title: "mode", value: (r) => r.mode, text: true },
  { title: "deliveries/s", value: (r) => r.deliveriesPerS },
  { title: "of in-memory", value: (r) => ratio(r.deliveriesPerS, memoryOf.get(r.pace)?.deliveriesPerS) },
  { title: "writes/s", value: (r) => r.writesPerS },
  { title: "p50 ms", value: (r) => r.p50Ms },
  { title: "p99 ms", value: (r) => r.p99Ms },
  { title: "p50 ms on the writer's replica / the others", value: (r) => (r.replicas > 1 ? `${r.p50Agent0.toFixed(2)} / ${r.p50Agent1.toFixed(2)}, ${r.p50Agent2.toFixed(2)}` : undefined), text: true },
  { title: "server CPU µs/delivery", value: (r) => r.serverCpuUsPerDelivery },
  { title: "server CPU %", value: (r) => r.serverCpuPct },
  { title: "etcd CPU µs/delivery", value: (r) => r.etcdCpuUsPerDelivery },
  { title: "etcd CPU %", value: (r) => r.etcdCpuPct },
  { title: "load CPU %", value: (r) => r.loadCpuPct },
];
const byPace = (pace: string) => medians.filter((r) => r.pace === pace);
const failed = problems.filter((p) => p.includes("the run failed"));
// Saved in bench/results/replicas.json beside the medians and the rounds.
const data = { medians, problems, runs: rows };
publish(f, {
  scenario: "replicas",
  title: `Fan-out by storage mode: one writer to ${WATCHERS.toLocaleString("en-US")} watchers, in memory and with --etcd (1 and 3 replicas)`,
  data,
  body: [
    `${WATCHERS.toLocaleString("en-US")} watchers over ${CONNECTIONS} connections, in three watch agents (a third of the watchers and connections each), ` +
      "each on one replica with 3 replicas, all on the one server otherwise; the writer on replica 0. " +
      "etcd is one member started by the benchmark, data on /dev/shm, on core 0 with the server(s): on this 2-core machine etcd shares the servers' core. " +
      "`server CPU` sums the replicas. p50 is the median of the three agents' p50s, p99 the highest of their p99s (an upper bound of the p99 over all watchers).",
    "",
    "Writer as fast as it can (one SetStatus at a time, each awaited: in etcd mode a write waits for etcd's commit and its replica's apply, so `writes/s` bounds the deliveries):",
    "",
    table(columns, byPace("as fast as it can")),
    "",
    `Writer at ${RATE_HZ} changes/s (the latency of one change with nothing queued in front of it):`,
    "",
    table(columns, byPace(`${RATE_HZ} changes/s`)),
    "",
    "What this does not measure: bench/fanout.ts's sizes (1 to 5,000 watchers, 1 connection) and its baselines, which it measures for the in-memory server only; " +
      "several writers (bench/storage.ts measures writes on every replica at once); a real etcd cluster (members on other machines, fsync on a disk).",
    "",
    busy(f.startedLoad),
    "",
    problems.length
      ? `${failed.length ? `${failed.length} run(s) failed and are missing from the medians. ` : ""}Logged or seen during the run (${problems.length}):\n\n${problems.map((p) => `- ${p.replace(/\n/g, " ")}`).join("\n")}`
      : "Every watcher got every change once and in order in every run; no server or etcd logged a warning or an error, and none wrote to stderr.",
  ].join("\n"),
});
