/**
 * Scale: what 1,000, 10,000 and 100,000 identifiers cost the server.
 *
 *   npx tsx bench/scale.ts [--smoke] [--rounds 3] [--write | --no-write]
 *
 * For each size the registry is declared in the configuration the benchmark
 * writes (groups of 1,000 identifiers, `main` included), and:
 * - spawn to core running: `node dist/src/main.js --config ...` spawned pinned
 *   to core 0, to its `gRPC listening` line (core goes running in the same turn), with
 *   nothing else loaded into it; 0 identifiers is the bare start;
 * - heap and RSS per identifier: asked of the server after a full GC
 *   (bench/lib/probe.mjs), less the empty server's, over the identifiers;
 * - per call: GetStatus and SetStatus (every call a change) over identifiers
 *   spread through the registry, 16 in flight from a grpc-js client on core 1,
 *   calls/s and server CPU per call (/proc/PID/stat);
 * - a full paged ListStatus (default page size, 1,000): time and server CPU.
 */
import { GetStatusRequest, SetStatusRequest } from "../gen/ts/sr/v1/sr.js";
import { SR } from "./lib/grpc.js";
import { Agent, type Server, startSr } from "./lib/procs.js";
import { type Column, flags, log, publish, table } from "./lib/report.js";
import { median, medianRows } from "./lib/stats.js";

const f = flags(3);
const SIZES = f.smoke ? [100, 2_000] : [1_000, 10_000, 100_000];
const PER_GROUP = 1_000;
const CONCURRENCY = 16;
const DURATION_MS = f.smoke ? 300 : 2_000;
const LISTINGS = f.smoke ? 1 : 3;
const SPAWNS = f.smoke ? 1 : 3;

/** `n` identifiers in groups of PER_GROUP, each group's `main` counted. */
function registry(n: number): { config: Record<string, unknown>; names: [string, string][] } {
  const groups: { name: string; identifiers: { name: string }[] }[] = [];
  const names: [string, string][] = [];
  for (let g = 0; g * PER_GROUP < n; g++) {
    const size = Math.min(PER_GROUP, n - g * PER_GROUP);
    const group = { name: `g${g}`, identifiers: Array.from({ length: size - 1 }, (_, i) => ({ name: `i${i}` })) };
    groups.push(group);
    names.push([group.name, "main"], ...group.identifiers.map((i): [string, string] => [group.name, i.name]));
  }
  return { config: { groups, limits: { max_identifiers: n + PER_GROUP, max_groups: groups.length + 10 } }, names };
}

interface Row extends Record<string, unknown> {
  round: number;
  identifiers: number;
  spawnMs: number;
  heapMiB: number;
  rssMiB: number;
  heapBytesPerIdentifier: number;
  rssBytesPerIdentifier: number;
  getCallsPerS: number;
  getCpuUs: number;
  setCallsPerS: number;
  setCpuUs: number;
  listMs: number;
  listCpuMs: number;
  listPages: number;
}

const agent = new Agent("bench/lib/unary-load.ts", "grpc-js client");
const rows: Row[] = [];
const MiB = 2 ** 20;

/** Spawn to core running, without the probe, median of a few spawns. */
async function spawnMs(config: Record<string, unknown> | "flags"): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < SPAWNS; i++) {
    const server = await startSr(config === "flags" ? { flagsOnly: true, probe: false } : { config, probe: false });
    times.push(server.spawnMs);
    await server.proc.stop();
  }
  return median(times);
}

async function perCall(server: Server, method: string, requests: string[][]): Promise<{ callsPerS: number; cpuUs: number }> {
  await agent.call("calls", { method, requests, concurrency: CONCURRENCY, durationMs: DURATION_MS / 4 });
  const cpu0 = server.proc.cpuSeconds();
  const r = await agent.call<{ calls: number; callsPerS: number }>("calls", { method, requests, concurrency: CONCURRENCY, durationMs: DURATION_MS });
  return { callsPerS: r.callsPerS, cpuUs: ((server.proc.cpuSeconds() - cpu0) * 1e6) / r.calls };
}

async function measure(n: number, round: number, empty: { heapUsed: number; rss: number }): Promise<Row> {
  const { config, names } = registry(n);
  const spawn = await spawnMs(config);
  const server = await startSr({ config });
  try {
    const heap = await server.heap();
    await agent.call("connect", { address: server.address });
    // Identifiers spread evenly through the registry, one per loop.
    const spread = Array.from({ length: CONCURRENCY }, (_, j) => names[Math.floor((j * names.length) / CONCURRENCY)] as [string, string]);
    const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64");
    const get = await perCall(
      server,
      `${SR}/GetStatus`,
      spread.map(([group, identifier]) => [b64(GetStatusRequest.encode(GetStatusRequest.fromPartial({ group, identifier })).finish())]),
    );
    const set = await perCall(
      server,
      `${SR}/SetStatus`,
      spread.map(([group, identifier]) => [-1, 1].map((status) => b64(SetStatusRequest.encode(SetStatusRequest.fromPartial({ group, identifier, status })).finish()))),
    );
    const listings: { ms: number; cpuMs: number; pages: number }[] = [];
    for (let i = 0; i < LISTINGS; i++) {
      const cpu0 = server.proc.cpuSeconds();
      const r = await agent.call<{ ms: number; pages: number; identifiers: number }>("listAll", {});
      if (r.identifiers < n) throw new Error(`ListStatus listed ${r.identifiers} identifiers of ${n}`);
      listings.push({ ms: r.ms, cpuMs: (server.proc.cpuSeconds() - cpu0) * 1000, pages: r.pages });
    }
    return {
      round,
      identifiers: n,
      spawnMs: spawn,
      heapMiB: heap.heapUsed / MiB,
      rssMiB: heap.rss / MiB,
      heapBytesPerIdentifier: (heap.heapUsed - empty.heapUsed) / n,
      rssBytesPerIdentifier: (heap.rss - empty.rss) / n,
      getCallsPerS: get.callsPerS,
      getCpuUs: get.cpuUs,
      setCallsPerS: set.callsPerS,
      setCpuUs: set.cpuUs,
      listMs: median(listings.map((l) => l.ms)),
      listCpuMs: median(listings.map((l) => l.cpuMs)),
      listPages: listings[0]?.pages ?? 0,
    };
  } finally {
    await server.proc.stop();
  }
}

const spawns: { round: number; spawnMs: number; flagsSpawnMs: number }[] = [];
try {
  for (let round = 0; round < f.rounds; round++) {
    const emptyServer = await startSr();
    const empty = await emptyServer.heap();
    await emptyServer.proc.stop();
    spawns.push({ round, flagsSpawnMs: await spawnMs("flags"), spawnMs: await spawnMs({}) });
    log(`scale r${round} empty: spawn to core running ${spawns.at(-1)?.flagsSpawnMs.toFixed(0)} ms from flags, ${spawns.at(-1)?.spawnMs.toFixed(0)} ms with a configuration file, heap ${(empty.heapUsed / MiB).toFixed(1)} MiB`);
    for (const n of SIZES) {
      const r = await measure(n, round, empty);
      rows.push(r);
      log(`scale r${round} ${n}: spawn ${r.spawnMs.toFixed(0)} ms, ${r.heapBytesPerIdentifier.toFixed(0)} B heap/identifier, list ${r.listMs.toFixed(0)} ms`);
    }
  }
} finally {
  await agent.stop();
}

const medians = medianRows(rows, (r) => String(r.identifiers));
const emptySpawn = median(spawns.map((s) => s.spawnMs));
const flagsSpawn = median(spawns.map((s) => s.flagsSpawnMs));
const columns: Column<Row>[] = [
  { title: "identifiers", value: (r) => r.identifiers },
  { title: "spawn to core running ms", value: (r) => r.spawnMs },
  { title: "heap MiB", value: (r) => r.heapMiB },
  { title: "RSS MiB", value: (r) => r.rssMiB },
  { title: "heap B/identifier", value: (r) => r.heapBytesPerIdentifier },
  { title: "RSS B/identifier", value: (r) => r.rssBytesPerIdentifier },
  { title: "GetStatus calls/s", value: (r) => r.getCallsPerS },
  { title: "GetStatus CPU µs/call", value: (r) => r.getCpuUs },
  { title: "SetStatus calls/s", value: (r) => r.setCallsPerS },
  { title: "SetStatus CPU µs/call", value: (r) => r.setCpuUs },
  { title: "full ListStatus ms", value: (r) => r.listMs },
  { title: "its server CPU ms", value: (r) => r.listCpuMs },
  { title: "pages", value: (r) => r.listPages },
];
publish(f, {
  scenario: "scale",
  title: "Scale: 1,000 to 100,000 identifiers",
  data: { medians: { flagsSpawnMs: flagsSpawn, emptySpawnMs: emptySpawn, sizes: medians }, runs: { spawns, sizes: rows } },
  body: [
    `Spawn to core running with no identifiers (\`node dist/src/main.js\`, the \`gRPC listening\` line), median of ${SPAWNS} spawns a round: **${flagsSpawn.toFixed(0)} ms** from flags alone (\`--listen 127.0.0.1:0 --no-http\`), **${emptySpawn.toFixed(0)} ms** with a configuration file (\`--config\`: yaml and zod are loaded, the file read and checked). Target: under 300 ms.`,
    "",
    table(columns, medians),
    "",
    "Per identifier: heap and RSS after a full GC, less the empty server's. The spawn time includes reading and applying the configuration that declares the identifiers. " +
      `Calls: ${CONCURRENCY} in flight from one grpc-js client, each loop on its own identifier spread through the registry.`,
  ].join("\n"),
});
