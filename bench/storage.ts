/**
 * Write throughput by storage mode: the in-memory default beside `--data-dir`
 * (SQLite, WAL, synchronous=NORMAL, one transaction per change), the data dir
 * on /dev/shm (no disk) and on the repository's disk (tmp/), and `--etcd`
 * (storage.etcd) with 1 and with 3 replicas sharing one registry in a
 * single-member etcd (data on /dev/shm), beside bare etcd Puts and
 * transactions from the same client machine, all in one invocation.
 *
 *   npx tsx bench/storage.ts [--smoke] [--rounds 3] [--write | --no-write]
 *
 * Every call is a change, so every call is a commit in the durable and
 * replicated modes:
 * - SetStatus by the grpc-js client (bench/lib/unary-load.ts), each loop on its
 *   own identifier alternating -1 / 1; with 3 replicas loop j sends its i-th
 *   call to replica (j + i) mod 3 (bench/lib/etcd.ts `replicasCalls`, the
 *   same loop over one connection to each replica);
 * - AddReport by h2load (the same request each call, and each adds a report):
 *   far less client CPU than grpc-js, so the server is the limit. With 3
 *   replicas, one h2load per replica at the same time, the streams split
 *   between them (16 = 6 + 5 + 5; concurrency 1 can only go to replica 0);
 * - bare etcd: Put and Txn (the shape of one SetStatus commit in etcd mode:
 *   conditional on a mod revision, four puts of the same sizes) through etcd3,
 *   the client etcd mode uses (bench/lib/etcd.ts `etcdCalls`).
 * The server(s) and etcd run on core 0 (taskset), the load on core 1; server
 * CPU is the server processes' own (/proc/PID/stat, all replicas summed) over
 * the measured run, per call, and etcd's apart. `of in-memory` is the write
 * throughput against the in-memory server, same method, client and
 * concurrency: the issue asks for at least 0.5x from the data dir.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { AddReportRequest, SetStatusRequest } from "../gen/ts/sr/v1/sr.js";
import { type Setup, busy, startBareEtcd, startOne, startReplicas } from "./lib/etcd-mode.js";
import { grpcFrame, SR } from "./lib/grpc.js";
import { h2load } from "./lib/h2load.js";
import { Agent, repoRoot, tempDir } from "./lib/procs.js";
import { type Column, flags, log, publish, ratio, table } from "./lib/report.js";
import { medianRows, now, rotate, sleep } from "./lib/stats.js";

const f = flags(3);
const CONCURRENCY = f.smoke ? [16] : [1, 16, 64];
/** The bare etcd baseline's concurrencies. */
const BARE_CONCURRENCY = f.smoke ? [16] : [1, 16, 64];
const DURATION_MS = f.smoke ? 300 : 2_000;
const WARMUP_MS = f.smoke ? 100 : 500;
const GROUP = "bench";
const LOOPS = Math.max(...CONCURRENCY);
const id = (j: number) => `w${j}`;

type Mode = "in-memory" | "data dir on /dev/shm" | "data dir on disk" | "etcd, 1 replica" | "etcd, 3 replicas" | "bare etcd";
const MODES: Mode[] = ["in-memory", "data dir on /dev/shm", "data dir on disk", "etcd, 1 replica", "etcd, 3 replicas", "bare etcd"];
const ETCD_MODES: Mode[] = ["etcd, 1 replica", "etcd, 3 replicas"];

interface Row extends Record<string, unknown> {
  round: number;
  method: string;
  concurrency: number;
  client: string;
  mode: Mode;
  callsPerS: number;
  latencyMs: number;
  p99Ms: number;
  serverCpuUsPerCall: number;
  serverCpuPct: number;
  etcdCpuUsPerCall: number;
  etcdCpuPct: number;
}

const dir = tempDir("storage");
const diskBase = path.join(repoRoot, "tmp");
mkdirSync(diskBase, { recursive: true });
const diskDirs: string[] = [];
process.once("exit", () => {
  for (const d of diskDirs) rmSync(d, { recursive: true, force: true });
});
const agent = new Agent("bench/lib/unary-load.ts", "grpc-js client");
const etcdAgent = new Agent("bench/lib/etcd.ts", "etcd-mode client");
const rows: Row[] = [];
const problems: string[] = [];

const setStatus = (j: number) => [-1, 1].map((status) => Buffer.from(SetStatusRequest.encode(SetStatusRequest.fromPartial({ group: GROUP, identifier: id(j), status })).finish()).toString("base64"));
const addReportBody = path.join(dir, "AddReport.bin");
{
  const message = AddReportRequest.encode(AddReportRequest.fromPartial({ group: GROUP, identifier: id(0), text: "bench: a report of ordinary length" })).finish();
  writeFileSync(addReportBody, grpcFrame(message));
}

function startMode(mode: Mode): Promise<Setup> {
  const identifiers = Array.from({ length: LOOPS }, (_, j) => ({ name: id(j), status: 1 }));
  const config = { http: false, groups: [{ name: GROUP, identifiers }] };
  if (mode === "bare etcd") return startBareEtcd();
  if (mode === "etcd, 1 replica") return startReplicas(1, config);
  if (mode === "etcd, 3 replicas") return startReplicas(3, config);
  if (mode === "in-memory") return startOne(config);
  const dataDir = mode === "data dir on disk" ? (diskDirs.push(mkdtempSync(path.join(diskBase, "bench-storage-"))), diskDirs.at(-1)) : tempDir("data");
  return startOne({ ...config, storage: { data_dir: dataDir } });
}

/** `total` streams split over `parts` h2load processes, largest first; none empty. */
const split = (total: number, parts: number) => Array.from({ length: Math.min(parts, total) }, (_, i) => Math.floor(total / parts) + (i < total % parts ? 1 : 0));

type Measured = { calls: number; callsPerS: number; latencyMs: number; p99Ms: number };

async function measure(setup: Setup, mode: Mode, method: "SetStatus" | "AddReport" | "Put" | "Txn", concurrency: number, round: number): Promise<Row> {
  let run: () => Promise<Measured>;
  const servers = setup.servers;
  if (method === "Put" || method === "Txn") {
    const params = { op: method === "Put" ? "put" : "txn", concurrency, prefix: `/bare/c${concurrency}/${method}/` };
    await etcdAgent.call("etcdConnect", { address: setup.etcd?.address });
    await etcdAgent.call("etcdCalls", { ...params, durationMs: WARMUP_MS });
    run = async () => {
      const r = await etcdAgent.call<{ calls: number; callsPerS: number; p50Ms: number; p99Ms: number }>("etcdCalls", { ...params, durationMs: DURATION_MS });
      return { ...r, latencyMs: r.p50Ms };
    };
  } else if (method === "AddReport") {
    // One h2load per replica, at once; streams split between them.
    const parts = split(concurrency, servers.length).map((streams, i) => ({ address: (servers[i] as Setup["servers"][number]).address, opts: ["-c", "1", "-m", String(streams)] }));
    await Promise.all(parts.map((p) => h2load(p.address, "AddReport", addReportBody, [...p.opts, "-n", String(Math.max(concurrency, 200))])));
    run = async () => {
      const rs = await Promise.all(parts.map((p) => h2load(p.address, "AddReport", addReportBody, [...p.opts, "-D", `${DURATION_MS}ms`])));
      const calls = rs.reduce((s, r) => s + r.calls, 0);
      return { calls, callsPerS: rs.reduce((s, r) => s + r.callsPerS, 0), latencyMs: rs.reduce((s, r) => s + r.meanMs * r.calls, 0) / calls, p99Ms: Number.NaN };
    };
  } else {
    const params = { method: `${SR}/SetStatus`, requests: Array.from({ length: concurrency }, (_, j) => setStatus(j)), concurrency };
    const [one] = servers;
    const [client, connect, calls] = servers.length === 1 ? [agent, "connect", "calls"] : [etcdAgent, "replicasConnect", "replicasCalls"];
    await client.call(connect, servers.length === 1 ? { address: one?.address } : { addresses: servers.map((s) => s.address) });
    await client.call(calls, { ...params, durationMs: WARMUP_MS });
    run = async () => {
      const r = await client.call<{ calls: number; callsPerS: number; p50Ms: number; p99Ms: number }>(calls, { ...params, durationMs: DURATION_MS });
      return { ...r, latencyMs: r.p50Ms };
    };
  }
  const cpu0 = setup.cpuSeconds();
  const etcd0 = setup.etcdCpuSeconds();
  const start = now();
  const r = await run();
  const wall = (now() - start) / 1000;
  const cpu = setup.cpuSeconds() - cpu0;
  const etcdCpu = setup.etcdCpuSeconds() - etcd0;
  const bare = mode === "bare etcd";
  return {
    round,
    method,
    concurrency,
    client: bare ? "etcd3" : method === "AddReport" ? "h2load" : "grpc-js",
    mode,
    callsPerS: r.callsPerS,
    latencyMs: r.latencyMs,
    p99Ms: r.p99Ms,
    serverCpuUsPerCall: bare ? Number.NaN : (cpu * 1e6) / r.calls,
    serverCpuPct: bare ? Number.NaN : (100 * cpu) / wall,
    etcdCpuUsPerCall: setup.etcd ? (etcdCpu * 1e6) / r.calls : Number.NaN,
    etcdCpuPct: setup.etcd ? (100 * etcdCpu) / wall : Number.NaN,
  };
}

try {
  for (let round = 0; round < f.rounds; round++) {
    for (const mode of rotate(MODES, round)) {
      const setup = await startMode(mode);
      try {
        const cases: ["SetStatus" | "AddReport" | "Put" | "Txn", number[]][] =
          mode === "bare etcd" ? [["Put", BARE_CONCURRENCY], ["Txn", BARE_CONCURRENCY]] : [["SetStatus", CONCURRENCY], ["AddReport", CONCURRENCY]];
        for (const [method, concurrencies] of cases) {
          for (const concurrency of concurrencies) {
            let r: Row;
            try {
              r = await measure(setup, mode, method, concurrency, round);
            } catch (error) {
              // A write refused or failed: reported, and the next case goes on once the loops still running have ended.
              const message = (error as Error).message.split("\n").slice(0, 6).join(" ");
              log(`storage r${round} ${method} c${concurrency} ${mode}: FAILED: ${message}`);
              problems.push(`round ${round}, ${mode}, ${method} at concurrency ${concurrency}: the run failed: ${message}`);
              await sleep(DURATION_MS + 500);
              continue;
            }
            rows.push(r);
            log(`storage r${round} ${method} c${concurrency} ${mode}: ${Math.round(r.callsPerS)} calls/s, p50 ${r.latencyMs.toFixed(2)} ms, p99 ${r.p99Ms.toFixed(2)} ms, ${r.serverCpuUsPerCall.toFixed(1)} µs server CPU/call, ${r.etcdCpuUsPerCall.toFixed(1)} µs etcd CPU/call`);
          }
        }
      } finally {
        const seen = setup.problems();
        for (const p of seen) log(`storage r${round} ${mode}: ${p}`);
        problems.push(...seen.map((p) => `round ${round}, ${mode}: ${p}`));
        await setup.stop();
      }
    }
  }
} finally {
  await Promise.all([agent.stop(), etcdAgent.stop()]);
}

const medians = medianRows(rows, (r) => `${r.method}|${r.concurrency}|${r.mode}`);
const memoryOf = new Map(medians.filter((r) => r.mode === "in-memory").map((r) => [`${r.method}|${r.concurrency}`, r]));
const columns: Column<Row>[] = [
  { title: "method", value: (r) => r.method, text: true },
  { title: "client", value: (r) => r.client, text: true },
  { title: "concurrency", value: (r) => r.concurrency },
  { title: "mode", value: (r) => r.mode, text: true },
  { title: "writes/s", value: (r) => r.callsPerS },
  { title: "of in-memory", value: (r) => ratio(r.callsPerS, memoryOf.get(`${r.method}|${r.concurrency}`)?.callsPerS) },
  { title: "latency ms (h2load mean, grpc-js p50)", value: (r) => r.latencyMs },
  { title: "p99 ms", value: (r) => r.p99Ms },
  { title: "server CPU µs/call", value: (r) => r.serverCpuUsPerCall },
  { title: "server CPU %", value: (r) => r.serverCpuPct },
  { title: "etcd CPU µs/call", value: (r) => r.etcdCpuUsPerCall },
  { title: "etcd CPU %", value: (r) => r.etcdCpuPct },
];
const served = medians.filter((r) => r.mode !== "bare etcd");
const durable = served.filter((r) => r.mode.startsWith("data dir"));
const ratioTo = (r: Row) => r.callsPerS / (memoryOf.get(`${r.method}|${r.concurrency}`)?.callsPerS ?? Number.NaN);
const worst = Math.min(...durable.map(ratioTo));
log(`storage: the data dir keeps at worst ${worst.toFixed(2)}x of the in-memory write throughput`);

// etcd mode's write against a bare etcd write, same client machine, same run.
const find = (method: string, concurrency: number, mode: Mode) => medians.find((r) => r.method === method && r.concurrency === concurrency && r.mode === mode);
interface Versus extends Record<string, unknown> {
  concurrency: number;
  what: string;
  callsPerS: number;
  p50Ms: number;
  p99Ms: number;
  ofPut?: number;
  ofTxn?: number;
}
const versus: Versus[] = [];
for (const concurrency of BARE_CONCURRENCY) {
  const put = find("Put", concurrency, "bare etcd");
  const txn = find("Txn", concurrency, "bare etcd");
  const entries: [string, Row | undefined][] = [
    ["bare etcd Put (etcd3)", put],
    ["bare etcd Txn, one commit's shape (etcd3)", txn],
    ...ETCD_MODES.map((mode): [string, Row | undefined] => [`SetStatus, ${mode} (grpc-js)`, find("SetStatus", concurrency, mode)]),
    [`SetStatus, in-memory (grpc-js)`, find("SetStatus", concurrency, "in-memory")],
  ];
  for (const [what, r] of entries) {
    if (!r) continue;
    versus.push({ concurrency, what, callsPerS: r.callsPerS, p50Ms: r.latencyMs, p99Ms: r.p99Ms, ofPut: put && r.latencyMs / put.latencyMs, ofTxn: txn && r.latencyMs / txn.latencyMs });
  }
}
const versusColumns: Column<Versus>[] = [
  { title: "concurrency", value: (r) => r.concurrency },
  { title: "write", value: (r) => r.what, text: true },
  { title: "writes/s", value: (r) => r.callsPerS },
  { title: "p50 ms", value: (r) => r.p50Ms },
  { title: "p99 ms", value: (r) => r.p99Ms },
  { title: "p50 of bare Put's", value: (r) => (r.ofPut === undefined ? undefined : `${r.ofPut.toFixed(2)}x`) },
  { title: "p50 of bare Txn's", value: (r) => (r.ofTxn === undefined ? undefined : `${r.ofTxn.toFixed(2)}x`) },
];
const etcdRange = (mode: Mode) => {
  const rs = served.filter((r) => r.mode === mode).map(ratioTo);
  return `${Math.min(...rs).toFixed(2)}x to ${Math.max(...rs).toFixed(2)}x`;
};

// Saved in bench/results/storage.json beside the medians and the rounds.
const data = { medians, versus, problems, runs: rows };
publish(f, {
  scenario: "storage",
  title: "Storage modes: write throughput in memory, with --data-dir and with --etcd (1 and 3 replicas)",
  data,
  body: [
    table(columns, medians),
    "",
    `Every call is a change, so in a durable mode every call is a SQLite commit (WAL, synchronous=NORMAL) made before the answer. ` +
      `At worst the data dir kept ${worst.toFixed(2)}x of the in-memory throughput here. ` +
      "`data dir on disk` is under the repository's tmp/ (whatever disk holds it); with synchronous=NORMAL a commit does not wait for the disk, only checkpoints do. " +
      "SetStatus is driven by grpc-js clients (near their own CPU limit at high concurrency), AddReport by h2load, so the server is the limit there.",
    "",
    "etcd mode (`storage.etcd`): a write is answered once committed in etcd (one transaction, conditional on the revision the replica applied last, " +
      "with the writes queued meanwhile, up to 16 a transaction) and applied by the replica that took it. etcd is one member started by the benchmark, " +
      "its data on /dev/shm (an fsync costs nothing there: a real cluster adds its disk's fsync and the network round trips between members), " +
      "and it runs on core 0 with the server(s): on this 2-core machine etcd shares the servers' core, so `server CPU %` plus `etcd CPU %` is what that core gave. " +
      "With 3 replicas `server CPU` is the three processes' sum; SetStatus goes round-robin over the replicas call by call (loop j's i-th call to replica (j + i) mod 3), " +
      "so consecutive writes of one loop land on different replicas; AddReport runs one h2load per replica at once with the streams split (1 stream: replica 0 only, the other two only follow). " +
      `Against in-memory: etcd with 1 replica kept ${etcdRange("etcd, 1 replica")}, with 3 replicas ${etcdRange("etcd, 3 replicas")} of its write throughput.`,
    "",
    "etcd mode's SetStatus against bare etcd writes made by the etcd3 client (the one etcd mode uses) from the same load core to the same kind of fresh etcd, in the same run: " +
      "`Put` is one 96-byte Put; `Txn` is the transaction one SetStatus commits, in shape (conditional on a key's mod revision, four puts of 96, 170 and 502 bytes and a counter), each loop on its own keys so none conflicts:",
    "",
    table(versusColumns, versus),
    "",
    busy(f.startedLoad),
    "",
    problems.length
      ? `${problems.some((p) => p.includes("the run failed")) ? "Runs that failed are missing from the medians. " : ""}Logged by the servers at warn or error, or on stderr, or failed, during the run (${problems.length}):\n\n${problems.map((p) => `- ${p.replace(/\n/g, " ")}`).join("\n")}`
      : "No server or etcd logged a warning or an error, and none wrote to stderr, during the run.",
  ].join("\n"),
});
