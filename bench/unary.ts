/**
 * Unary calls: the server alone on its core, the load on the other.
 *
 *   npx tsx bench/unary.ts [--smoke] [--rounds 3] [--write | --no-write]
 *
 * SetStatus, GetStatus, CheckStatus and AddReport at concurrency 1, 16 and 64
 * (calls in flight over one connection), each by two load generators:
 * - `h2load` (nghttp2, C): the same encoded request on every call;
 * - `grpc-js`: a grpc-js client (bench/lib/unary-load.ts) with requests encoded
 *   once, each loop on its own identifier, SetStatus alternating -1 / 1 so
 *   that every call is a change;
 * against two servers, each pinned to core 0:
 * - `sr`: ours (`node dist/src/main.js`);
 * - `bare grpc-js`: a grpc-js server answering each method with the bytes ours
 *   answered (captured first), without decoding anything: the stack's cost.
 * h2load cannot vary the body, so its SetStatus repeats one value: only its
 * first call is a change (the rows say so). Server CPU is the server's own
 * (/proc/PID/stat) over the measured run, per call.
 */
import { writeFileSync } from "node:fs";
import path from "node:path";
import {
  AddReportRequest,
  CheckStatusRequest,
  GetStatusRequest,
  SetStatusRequest,
} from "../gen/ts/sr/v1/sr.js";
import { connect, grpcFrame, SR, unary } from "./lib/grpc.js";
import { h2load } from "./lib/h2load.js";
import { Agent, type Server, startBaseline, startSr, tempDir } from "./lib/procs.js";
import { type Column, flags, log, publish, ratio, table } from "./lib/report.js";
import { medianRows, now, rotate } from "./lib/stats.js";

const f = flags(3);
const CONCURRENCY = [1, 16, 64];
const DURATION_MS = f.smoke ? 300 : 3_000;
const WARMUP_MS = f.smoke ? 100 : 1_000;
const GROUP = "bench";
const LOOPS = Math.max(...CONCURRENCY);
const id = (j: number) => `w${j}`;

type Encoded = Uint8Array;
interface Method {
  name: string;
  /** The requests loop j sends in turn. */
  requests(j: number): Encoded[];
}
const METHODS: Method[] = [
  {
    name: "SetStatus",
    requests: (j) => [-1, 1].map((status) => SetStatusRequest.encode(SetStatusRequest.fromPartial({ group: GROUP, identifier: id(j), status })).finish()),
  },
  { name: "GetStatus", requests: (j) => [GetStatusRequest.encode(GetStatusRequest.fromPartial({ group: GROUP, identifier: id(j) })).finish()] },
  { name: "CheckStatus", requests: (j) => [CheckStatusRequest.encode(CheckStatusRequest.fromPartial({ group: GROUP, identifier: id(j) })).finish()] },
  {
    name: "AddReport",
    requests: (j) => [AddReportRequest.encode(AddReportRequest.fromPartial({ group: GROUP, identifier: id(j), text: "bench: a report of ordinary length" })).finish()],
  },
];
// HTTP on (so /metrics is served) and logging at its default level: every change is a log line, every call counted.
const SR_CONFIG = {
  http: "127.0.0.1:0",
  groups: [{ name: GROUP, identifiers: Array.from({ length: LOOPS }, (_, j) => ({ name: id(j), status: 1 })) }],
};

interface Row extends Record<string, unknown> {
  round: number;
  method: string;
  concurrency: number;
  client: string;
  server: string;
  callsPerS: number;
  /** grpc-js: median; h2load: mean (it reports no percentiles). */
  latencyMs: number;
  p99Ms: number;
  serverCpuUsPerCall: number;
  serverCpuPct: number;
  loadCpuPct: number;
}

const dir = tempDir("unary");
const agent = new Agent("bench/lib/unary-load.ts", "grpc-js client");
const rows: Row[] = [];

async function measure(server: Server, serverName: string, method: Method, concurrency: number, client: "h2load" | "grpc-js", round: number): Promise<Row> {
  let run: () => Promise<{ calls: number; callsPerS: number; latencyMs: number; p99Ms: number }>;
  if (client === "h2load") {
    const body = path.join(dir, `${method.name}.bin`);
    const opts = ["-c", "1", "-m", String(concurrency)];
    // Its own warm-up run: h2load's --warm-up-time would leave its CPU in the server's figure.
    // By time, like the grpc-js client's: a fresh server is still compiling its hot paths after 200 calls.
    await h2load(server.address, method.name, body, [...opts, "-D", `${WARMUP_MS}ms`]);
    run = async () => {
      const r = await h2load(server.address, method.name, body, [...opts, "-D", `${DURATION_MS}ms`]);
      return { calls: r.calls, callsPerS: r.callsPerS, latencyMs: r.meanMs, p99Ms: Number.NaN };
    };
  } else {
    const params = {
      method: `${SR}/${method.name}`,
      requests: Array.from({ length: concurrency }, (_, j) => method.requests(j).map((r) => Buffer.from(r).toString("base64"))),
      concurrency,
    };
    await agent.call("connect", { address: server.address });
    await agent.call("calls", { ...params, durationMs: WARMUP_MS });
    run = async () => {
      const r = await agent.call<{ calls: number; callsPerS: number; p50Ms: number; p99Ms: number }>("calls", { ...params, durationMs: DURATION_MS });
      return { ...r, latencyMs: r.p50Ms };
    };
  }
  const cpu0 = server.proc.cpuSeconds();
  const load0 = agent.proc.cpuSeconds();
  const start = now();
  const r = await run();
  const wall = (now() - start) / 1000;
  const cpu = server.proc.cpuSeconds() - cpu0;
  return {
    round,
    method: client === "h2load" && method.name === "SetStatus" ? "SetStatus (same value)" : method.name,
    concurrency,
    client,
    server: serverName,
    callsPerS: r.callsPerS,
    latencyMs: r.latencyMs,
    p99Ms: r.p99Ms,
    serverCpuUsPerCall: (cpu * 1e6) / r.calls,
    serverCpuPct: (100 * cpu) / wall,
    // h2load's own CPU is not sampled: it is C and far from its limit here.
    loadCpuPct: client === "grpc-js" ? (100 * (agent.proc.cpuSeconds() - load0)) / wall : Number.NaN,
  };
}

/** What ours answers to each method, captured once: the bare server answers the same bytes. */
async function captureAnswers(address: string): Promise<string> {
  const client = connect(address);
  const answers: Record<string, string> = {};
  for (const method of METHODS) {
    const request = method.requests(0)[0] as Encoded;
    writeFileSync(path.join(dir, `${method.name}.bin`), grpcFrame(request));
    answers[`${SR}/${method.name}`] = (await unary(client, `${SR}/${method.name}`, Buffer.from(request))).toString("base64");
  }
  client.close();
  const file = path.join(dir, "answers.json");
  writeFileSync(file, JSON.stringify(answers));
  return file;
}

try {
  for (let round = 0; round < f.rounds; round++) {
    const sr = await startSr({ config: SR_CONFIG });
    const bare = await startBaseline("bare-unary", [await captureAnswers(sr.address)]);
    const servers: [string, Server][] = [
      ["sr", sr],
      ["bare grpc-js", bare],
    ];
    try {
      for (const method of METHODS) {
        for (const concurrency of CONCURRENCY) {
          for (const client of ["h2load", "grpc-js"] as const) {
            for (const [name, server] of rotate(servers, round)) {
              const r = await measure(server, name, method, concurrency, client, round);
              rows.push(r);
              log(`unary r${round} ${r.method} c${concurrency} ${client} -> ${name}: ${Math.round(r.callsPerS)} calls/s, ${r.serverCpuUsPerCall.toFixed(1)} µs CPU/call`);
            }
          }
        }
      }
    } finally {
      await sr.proc.stop();
      await bare.proc.stop();
    }
  }
} finally {
  await agent.stop();
}

const medians = medianRows(rows, (r) => `${r.method}|${r.concurrency}|${r.client}|${r.server}`);
const bareOf = new Map(medians.filter((r) => r.server === "bare grpc-js").map((r) => [`${r.method}|${r.concurrency}|${r.client}`, r]));
const columns: Column<Row>[] = [
  { title: "method", value: (r) => r.method, text: true },
  { title: "concurrency", value: (r) => r.concurrency },
  { title: "client", value: (r) => r.client, text: true },
  { title: "server", value: (r) => r.server, text: true },
  { title: "calls/s", value: (r) => r.callsPerS },
  { title: "of bare grpc-js", value: (r) => ratio(r.callsPerS, bareOf.get(`${r.method}|${r.concurrency}|${r.client}`)?.callsPerS) },
  { title: "latency ms (h2load mean, grpc-js p50)", value: (r) => r.latencyMs },
  { title: "p99 ms", value: (r) => r.p99Ms },
  { title: "server CPU µs/call", value: (r) => r.serverCpuUsPerCall },
  { title: "server CPU %", value: (r) => r.serverCpuPct },
  { title: "load CPU %", value: (r) => r.loadCpuPct },
];
publish(f, {
  scenario: "unary",
  title: "Unary calls: SetStatus, GetStatus, CheckStatus, AddReport",
  data: { medians, runs: rows },
  body: [
    table(columns, medians),
    "",
    "`of bare grpc-js`: ours over a grpc-js server that answers the same bytes without any work, same client and concurrency. " +
      "h2load's SetStatus repeats one request, so after its first call nothing changes (a no-op write); the grpc-js client's SetStatus changes the status on every call. " +
      "`load CPU %` is the grpc-js client's (h2load's is not sampled); near 100 the client, not the server, was the limit.",
  ].join("\n"),
});
