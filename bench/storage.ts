/**
 * Write throughput by storage mode: the in-memory default beside `--data-dir`
 * (SQLite, WAL, synchronous=NORMAL, one transaction per change), the data dir
 * on /dev/shm (no disk) and on the repository's disk (tmp/), side by side.
 *
 *   npx tsx bench/storage.ts [--smoke] [--rounds 3] [--write | --no-write]
 *
 * Every call is a change, so every call is a commit in the durable modes:
 * - SetStatus by the grpc-js client (bench/lib/unary-load.ts), each loop on its
 *   own identifier alternating -1 / 1;
 * - AddReport by h2load (the same request each call, and each adds a report):
 *   far less client CPU than grpc-js, so the server is the limit.
 * The server runs alone on core 0 (taskset), the load on core 1; server CPU is
 * the server process's own (/proc/PID/stat) over the measured run, per call.
 * `of in-memory` is the write throughput against the in-memory server, same
 * method, client and concurrency: the issue asks for at least 0.5x.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { AddReportRequest, SetStatusRequest } from "../gen/ts/sr/v1/sr.js";
import { SR } from "./lib/grpc.js";
import { h2load } from "./lib/h2load.js";
import { Agent, type Server, repoRoot, startSr, tempDir } from "./lib/procs.js";
import { type Column, flags, log, publish, ratio, table } from "./lib/report.js";
import { medianRows, now, rotate } from "./lib/stats.js";

const f = flags(3);
const CONCURRENCY = f.smoke ? [16] : [1, 16, 64];
const DURATION_MS = f.smoke ? 300 : 3_000;
const WARMUP_MS = f.smoke ? 100 : 1_000;
const GROUP = "bench";
const LOOPS = Math.max(...CONCURRENCY);
const id = (j: number) => `w${j}`;

type Mode = "in-memory" | "data dir on /dev/shm" | "data dir on disk";
const MODES: Mode[] = ["in-memory", "data dir on /dev/shm", "data dir on disk"];

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
}

const dir = tempDir("storage");
const diskBase = path.join(repoRoot, "tmp");
mkdirSync(diskBase, { recursive: true });
const diskDirs: string[] = [];
process.once("exit", () => {
  for (const d of diskDirs) rmSync(d, { recursive: true, force: true });
});
const agent = new Agent("bench/lib/unary-load.ts", "grpc-js client");
const rows: Row[] = [];

const setStatus = (j: number) => [-1, 1].map((status) => Buffer.from(SetStatusRequest.encode(SetStatusRequest.fromPartial({ group: GROUP, identifier: id(j), status })).finish()).toString("base64"));
const addReportBody = path.join(dir, "AddReport.bin");
{
  const message = AddReportRequest.encode(AddReportRequest.fromPartial({ group: GROUP, identifier: id(0), text: "bench: a report of ordinary length" })).finish();
  const framed = Buffer.alloc(5 + message.length);
  framed.writeUInt32BE(message.length, 1);
  Buffer.from(message).copy(framed, 5);
  writeFileSync(addReportBody, framed);
}

function startMode(mode: Mode): Promise<Server> {
  const identifiers = Array.from({ length: LOOPS }, (_, j) => ({ name: id(j), status: 1 }));
  const storage =
    mode === "in-memory"
      ? {}
      : { storage: { data_dir: mode === "data dir on disk" ? (diskDirs.push(mkdtempSync(path.join(diskBase, "bench-storage-"))), diskDirs.at(-1)) : tempDir("data") } };
  return startSr({ config: { http: false, groups: [{ name: GROUP, identifiers }], ...storage } });
}

async function measure(server: Server, mode: Mode, method: "SetStatus" | "AddReport", concurrency: number, round: number): Promise<Row> {
  let run: () => Promise<{ calls: number; callsPerS: number; latencyMs: number; p99Ms: number }>;
  if (method === "AddReport") {
    const opts = ["-c", "1", "-m", String(concurrency)];
    await h2load(server.address, "AddReport", addReportBody, [...opts, "-n", String(Math.max(concurrency, 200))]);
    run = async () => {
      const r = await h2load(server.address, "AddReport", addReportBody, [...opts, "-D", `${DURATION_MS}ms`]);
      return { calls: r.calls, callsPerS: r.callsPerS, latencyMs: r.meanMs, p99Ms: Number.NaN };
    };
  } else {
    const params = { method: `${SR}/SetStatus`, requests: Array.from({ length: concurrency }, (_, j) => setStatus(j)), concurrency };
    await agent.call("connect", { address: server.address });
    await agent.call("calls", { ...params, durationMs: WARMUP_MS });
    run = async () => {
      const r = await agent.call<{ calls: number; callsPerS: number; p50Ms: number; p99Ms: number }>("calls", { ...params, durationMs: DURATION_MS });
      return { ...r, latencyMs: r.p50Ms };
    };
  }
  const cpu0 = server.proc.cpuSeconds();
  const start = now();
  const r = await run();
  const wall = (now() - start) / 1000;
  const cpu = server.proc.cpuSeconds() - cpu0;
  return {
    round,
    method,
    concurrency,
    client: method === "AddReport" ? "h2load" : "grpc-js",
    mode,
    callsPerS: r.callsPerS,
    latencyMs: r.latencyMs,
    p99Ms: r.p99Ms,
    serverCpuUsPerCall: (cpu * 1e6) / r.calls,
    serverCpuPct: (100 * cpu) / wall,
  };
}

try {
  for (let round = 0; round < f.rounds; round++) {
    for (const mode of rotate(MODES, round)) {
      const server = await startMode(mode);
      try {
        for (const method of ["SetStatus", "AddReport"] as const) {
          for (const concurrency of CONCURRENCY) {
            const r = await measure(server, mode, method, concurrency, round);
            rows.push(r);
            log(`storage r${round} ${method} c${concurrency} ${mode}: ${Math.round(r.callsPerS)} calls/s, ${r.serverCpuUsPerCall.toFixed(1)} µs CPU/call`);
          }
        }
      } finally {
        await server.proc.stop();
      }
    }
  }
} finally {
  await agent.stop();
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
];
const worst = Math.min(...medians.filter((r) => r.mode !== "in-memory").map((r) => r.callsPerS / (memoryOf.get(`${r.method}|${r.concurrency}`)?.callsPerS ?? Number.NaN)));
log(`storage: the durable modes keep at worst ${worst.toFixed(2)}x of the in-memory write throughput`);
publish(f, {
  scenario: "storage",
  title: "Storage modes: write throughput in memory and with --data-dir",
  data: { medians, runs: rows },
  body: [
    table(columns, medians),
    "",
    `Every call is a change, so in a durable mode every call is a SQLite commit (WAL, synchronous=NORMAL) made before the answer. ` +
      `At worst a durable mode kept ${worst.toFixed(2)}x of the in-memory throughput here. ` +
      "`data dir on disk` is under the repository's tmp/ (whatever disk holds it); with synchronous=NORMAL a commit does not wait for the disk, only checkpoints do. " +
      "SetStatus is driven by grpc-js clients (near their own CPU limit at high concurrency), AddReport by h2load, so the server is the limit there.",
  ].join("\n"),
});
