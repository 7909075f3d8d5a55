/**
 * Soak: publishers holding leases and watchers following them for a while,
 * then half the publishers killed; and what armed leases cost other calls.
 *
 *   npx tsx bench/soak.ts [--smoke] [--duration 60] [--publishers 1000] [--watchers 1000] [--rate 50] [--leases 100000]
 *                         [--rounds 1] [--write | --no-write]
 *
 * The soak. Our server (`node dist/src/main.js`, pinned to core 0) from a
 * configuration that declares the publishers' identifiers (groups of 100),
 * raises the watcher limits and sends `progress` after 1 s of quiet. On core 1:
 * - publisher processes (bench/lib/soak-publishers.ts), each hosting many
 *   publishers: the TS client's `sr.publish` with a short ttl (3 s; 2 s with --smoke), refreshed
 *   every third of it, and published again when lost (a refresh starved for a
 *   ttl: counted); besides, each process changes its identifiers' details at a
 *   steady rate (`--rate`, changes/s over all, each write with the ttl), so
 *   there is something to follow;
 * - watcher processes (bench/lib/soak-watchers.ts): the TS client's resuming
 *   watch with details and registrations, one group each (one in fifty
 *   watches everything), each keeping its state from the snapshot and changes.
 * After `--duration` seconds, the processes holding half the publishers get
 * SIGKILL. The registry is read (ListStatus, bench/lib/soak-registry.ts) until
 * a ttl + 1 s after the kill; then the surviving publishers stop changing,
 * every watcher catches up with the registry's revision, and compares its state
 * with a fresh ListStatus:
 * - changes lost: identifiers where a watcher's state differs from the
 *   registry's (missing, extra, another status or details); must be 0;
 * - leases expired: identifiers whose status is the expired status (-1 "lease
 *   expired"); must equal the publishers killed, and be exactly them;
 * - the server's peak RSS (VmHWM, /proc/PID/status) and its CPU over the soak.
 *
 * Lease cost. Two fresh servers per round, each loaded by the same bulk
 * registration (RegisterIdentifier, 32 in flight, groups of 1,000): without a
 * ttl (0 armed leases) and with a 1 h ttl (`--leases` armed, default 100,000).
 * Then GetStatus and SetStatus (every call a change, on armed identifiers: each
 * restarts its lease) from one grpc-js client, 8 in flight: calls/s, p50 and
 * p99 latency, server CPU per call, and the heap after a full GC.
 *
 * Exits 1 when a change was lost or the leases expired are not the publishers killed.
 */
import { GetStatusRequest, SetStatusRequest } from "../gen/ts/sr/v1/sr.js";
import { SR } from "./lib/grpc.js";
import { Agent, type Server, startSr } from "./lib/procs.js";
import { type Column, flags, log, publish, table } from "./lib/report.js";
import type { Listed } from "./lib/soak-watchers.js";
import { medianRows, now, rotate, sleep } from "./lib/stats.js";

const f = flags(1, ["duration", "publishers", "watchers", "rate", "leases"]);
const int = (name: string, full: number, smoke: number): number => {
  const given = f.extra[name];
  const value = given === undefined ? (f.smoke ? smoke : full) : Number(given);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`--${name} must be a positive number, not '${given}'`);
  return value;
};
const DURATION_S = int("duration", 60, 5);
const PUBLISHERS = int("publishers", 1_000, 20);
const WATCHERS = int("watchers", 1_000, 10);
const RATE = int("rate", 50, 20);
const LEASES = int("leases", 100_000, 1_000);
const TTL_MS = f.smoke ? 2_000 : 3_000;
const PER_GROUP = f.smoke ? 10 : 100;
const GROUPS = Math.ceil(PUBLISHERS / PER_GROUP);
const PUBLISHER_PROCESSES = f.smoke ? 2 : 10;
const WATCHER_PROCESSES = f.smoke ? 1 : 4;
const WATCHERS_PER_CONNECTION = f.smoke ? 5 : 50;
/** One watcher in this many watches everything; the others one group each, in turn. */
const ALL_EVERY = f.smoke ? 3 : 50;
const EXPIRED_STATUS = -1;
const EXPIRED_DETAILS = "lease expired";
const LEASE_GROUP = f.smoke ? 100 : 1_000;
const CALL_MS = f.smoke ? 300 : 3_000;
const CONCURRENCY = 8;
const MiB = 2 ** 20;
const at = () => `${((now() - f.startedAt) / 1000).toFixed(1)} s`;

const group = (g: number) => `soak-g${g}`;
/** Publisher i: its group and identifier, and the process hosting it. */
const publisherOf = (i: number): [string, string] => [group(Math.floor(i / PER_GROUP)), `p${i % PER_GROUP}`];
const processOf = (i: number) => i % PUBLISHER_PROCESSES;

// ---- the soak ----

function mergeCounts(all: Record<string, number>[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const counts of all) for (const [k, n] of Object.entries(counts)) out[k] = (out[k] ?? 0) + n;
  return out;
}

interface Soak extends Record<string, unknown> {
  publishers: number;
  watchers: number;
  durationS: number;
  ttlMs: number;
  changesPerS: number;
  publishMs: number;
  watchOpenMs: number;
  changesMade: number;
  changeErrors: number;
  deliveries: number;
  resyncs: number;
  watchErrors: number;
  leasesLostWhilePublishing: number;
  lostReasons: Record<string, number>;
  leasesLostByLivePublishers: number;
  killed: number;
  expired: number;
  expiredNotKilled: number;
  killedNotExpired: number;
  allExpiredAfterMs: number;
  expiredByGuarantee: number;
  watchersBehind: number;
  settleMs: number;
  watchersCompared: number;
  watchersMismatched: number;
  changesLost: number;
  registryStable: boolean;
  compareAttempts: number;
  serverCpuPercent: number;
  loadCpuPercent: number;
  serverRssMiB: number;
  serverPeakRssMiB: number;
  examples: string[];
}

async function soak(onLive: () => void): Promise<Soak> {
  const groups = Array.from({ length: GROUPS }, (_, g) => ({
    name: group(g),
    identifiers: Array.from({ length: Math.min(PER_GROUP, PUBLISHERS - g * PER_GROUP) }, (_, i) => ({ name: `p${i}` })),
  }));
  // The load processes start (importing on core 1) while the server does on core 0.
  const registry = new Agent("bench/lib/soak-registry.ts", "soak registry");
  const watcherAgents = Array.from({ length: WATCHER_PROCESSES }, (_, j) => new Agent("bench/lib/soak-watchers.ts", `soak watchers ${j}`));
  const publisherAgents = Array.from({ length: PUBLISHER_PROCESSES }, (_, j) => new Agent("bench/lib/soak-publishers.ts", `soak publishers ${j}`));
  const server = await startSr({
    config: {
      groups,
      limits: { max_watchers: WATCHERS + 1_000, max_identifiers: PUBLISHERS + GROUPS + 1_000, max_groups: GROUPS + 100 },
      watch: { progress_interval: "1s" },
    },
  });
  try {
    await registry.call("connect", { address: server.address });
    const watchGroups = Array.from({ length: WATCHERS }, (_, w) => (w % ALL_EVERY === ALL_EVERY - 1 ? "" : group(w % GROUPS)));
    const chunk = Math.ceil(WATCHERS / WATCHER_PROCESSES);
    const opened = await Promise.all(
      watcherAgents.map((a, j) =>
        a.call<{ openMs: number }>("open", { address: server.address, groups: watchGroups.slice(j * chunk, (j + 1) * chunk), perConnection: WATCHERS_PER_CONNECTION }),
      ),
    );
    log(`soak [${at()}]: ${WATCHERS} watchers live in ${Math.max(...opened.map((o) => o.openMs)).toFixed(0)} ms`);
    const started = await Promise.all(
      publisherAgents.map((a, j) =>
        a.call<{ publishMs: number }>("start", {
          address: server.address,
          targets: Array.from({ length: PUBLISHERS }, (_, i) => i).filter((i) => processOf(i) === j).map(publisherOf),
          ttlMs: TTL_MS,
        }),
      ),
    );
    log(`soak [${at()}]: ${PUBLISHERS} publishers holding leases (ttl ${TTL_MS} ms) in ${Math.max(...started.map((s) => s.publishMs)).toFixed(0)} ms`);

    await Promise.all(publisherAgents.map((a) => a.call("churn", { perS: RATE / PUBLISHER_PROCESSES })));
    onLive();
    const loadAgents = [...watcherAgents, ...publisherAgents];
    const cpu0 = server.proc.cpuSeconds();
    const loadCpu0 = loadAgents.map((a) => a.proc.cpuSeconds());
    const t0 = now();
    for (let s = 1; now() - t0 < DURATION_S * 1000; s++) {
      await sleep(Math.min(1000, DURATION_S * 1000 - (now() - t0)));
      if (s % 10 === 0) log(`soak [${at()}]: ${s} s, server RSS ${(server.proc.memory().rss / MiB).toFixed(0)} MiB`);
    }
    const soakS = (now() - t0) / 1000;
    const serverCpuPercent = ((server.proc.cpuSeconds() - cpu0) / soakS) * 100;
    const loadCpuPercent = (loadAgents.reduce((acc, a, j) => acc + a.proc.cpuSeconds() - (loadCpu0[j] as number), 0) / soakS) * 100;
    type Counts = { changes: number; errors: number; lost: number; lostWhilePublishing: number; reasons: Record<string, number> };
    const before = await Promise.all(publisherAgents.map((a) => a.call<Counts>("stats")));

    // Half the publisher processes, SIGKILL: their publishers stop refreshing mid-flight.
    const victims = publisherAgents.filter((_, j) => j < PUBLISHER_PROCESSES / 2);
    const survivors = publisherAgents.filter((_, j) => j >= PUBLISHER_PROCESSES / 2);
    const killedIds = new Set(
      Array.from({ length: PUBLISHERS }, (_, i) => i)
        .filter((i) => processOf(i) < PUBLISHER_PROCESSES / 2)
        .map((i) => publisherOf(i).join("/")),
    );
    const killedAt = now();
    for (const a of victims) a.proc.kill();
    log(`soak [${at()}]: killed ${victims.length} publisher processes (${killedIds.size} publishers)`);
    const listArgs = { expiredStatus: EXPIRED_STATUS, expiredDetails: EXPIRED_DETAILS };
    let allExpiredAfterMs = Number.NaN;
    let expiredByGuarantee = Number.NaN;
    let expired: string[] = [];
    // The guarantee: a lease runs out a ttl after its last refresh, at most 1 s late. A server
    // behind on its work applies the last refreshes late too, so keep reading (up to 30 s more)
    // until every killed publisher's lease has run out.
    const guaranteeAt = killedAt + TTL_MS + 1_000;
    while (now() < guaranteeAt + 30_000) {
      await sleep(250);
      ({ expired } = await registry.call<{ expired: string[] }>("list", listArgs));
      if (Number.isNaN(expiredByGuarantee) && now() >= guaranteeAt) expiredByGuarantee = expired.length;
      if (Number.isNaN(allExpiredAfterMs) && expired.length >= killedIds.size) allExpiredAfterMs = now() - killedAt;
      if (!Number.isNaN(expiredByGuarantee) && !Number.isNaN(allExpiredAfterMs)) break;
    }
    log(`soak [${at()}]: ${expired.length} leases expired ${(now() - killedAt).toFixed(0)} ms after the kill (${expiredByGuarantee} by a ttl + 1 s)`);

    const quiet = await Promise.all(survivors.map((a) => a.call<Counts>("quiet")));
    // Compare with a registry that holds still: list, let every watcher catch up, compare, list
    // again; when the revision moved in between (a late write), once more.
    type Compared = { watchers: number; mismatched: number; entries: number; examples: string[] };
    let final: { listed: Listed[]; revision: string; expired: string[] };
    let settled: { behind: number; ms: number }[];
    let compared: Compared[];
    let registryStable = false;
    let attempts = 0;
    do {
      attempts++;
      final = await registry.call<{ listed: Listed[]; revision: string; expired: string[] }>("list", listArgs);
      settled = await Promise.all(watcherAgents.map((a) => a.call<{ behind: number; ms: number }>("settle", { revision: final.revision, timeoutMs: 30_000 })));
      compared = await Promise.all(watcherAgents.map((a) => a.call<Compared>("compare", { listed: final.listed })));
      const again = await registry.call<{ revision: string }>("list", listArgs);
      registryStable = again.revision === final.revision;
      if (!registryStable) await sleep(1_000);
    } while (!registryStable && attempts < 5);
    const watchStats = await Promise.all(watcherAgents.map((a) => a.call<{ messages: number; changes: number; resyncs: number; errors: number }>("stats")));
    const memory = server.proc.memory();
    const sum = <T>(xs: T[], k: (x: T) => number) => xs.reduce((acc, x) => acc + k(x), 0);
    // Changes made: the survivors' counts to the end, the victims' to the kill (as they last reported).
    const victimChanges = sum(before.slice(0, victims.length), (x) => x.changes);
    const expiredSet = new Set(final.expired);
    return {
      publishers: PUBLISHERS,
      watchers: WATCHERS,
      durationS: DURATION_S,
      ttlMs: TTL_MS,
      changesPerS: RATE,
      publishMs: Math.max(...started.map((s) => s.publishMs)),
      watchOpenMs: Math.max(...opened.map((o) => o.openMs)),
      changesMade: sum(quiet, (q) => q.changes) + victimChanges,
      changeErrors: sum(quiet, (q) => q.errors),
      deliveries: sum(watchStats, (w) => w.changes),
      resyncs: sum(watchStats, (w) => w.resyncs),
      watchErrors: sum(watchStats, (w) => w.errors),
      // The victims until the kill, the survivors to the end.
      leasesLostWhilePublishing: sum(before, (b) => b.lostWhilePublishing),
      lostReasons: mergeCounts([...before.slice(0, victims.length), ...quiet].map((c) => c.reasons)),
      leasesLostByLivePublishers: sum([...before.slice(0, victims.length), ...quiet], (c) => c.lost - c.lostWhilePublishing),
      killed: killedIds.size,
      expired: final.expired.length,
      expiredNotKilled: final.expired.filter((id) => !killedIds.has(id)).length,
      killedNotExpired: [...killedIds].filter((id) => !expiredSet.has(id)).length,
      allExpiredAfterMs,
      expiredByGuarantee,
      watchersBehind: sum(settled, (s) => s.behind),
      settleMs: Math.max(...settled.map((s) => s.ms)),
      watchersCompared: sum(compared, (c) => c.watchers),
      watchersMismatched: sum(compared, (c) => c.mismatched),
      changesLost: sum(compared, (c) => c.entries),
      registryStable,
      compareAttempts: attempts,
      serverCpuPercent,
      loadCpuPercent,
      serverRssMiB: memory.rss / MiB,
      serverPeakRssMiB: memory.peakRss / MiB,
      examples: compared.flatMap((c) => c.examples).slice(0, 5),
    };
  } finally {
    await Promise.all([registry, ...watcherAgents, ...publisherAgents].map((a) => a.stop()));
    await server.proc.stop();
  }
}

// ---- what armed leases cost other calls ----

interface LeaseRow extends Record<string, unknown> {
  round: number;
  leases: number;
  identifiers: number;
  registerCallsPerS: number;
  heapMiB: number;
  rssMiB: number;
  idleCpuPercent: number;
  getCallsPerS: number;
  getP50Ms: number;
  getP99Ms: number;
  getCpuUs: number;
  setCallsPerS: number;
  setP50Ms: number;
  setP99Ms: number;
  setCpuUs: number;
}

type CallResult = { calls: number; callsPerS: number; p50Ms: number; p99Ms: number };

async function measureCalls(server: Server, load: Agent, method: string, requests: string[][]): Promise<CallResult & { cpuUs: number }> {
  await load.call("calls", { method, requests, concurrency: CONCURRENCY, durationMs: CALL_MS / 4 });
  const cpu0 = server.proc.cpuSeconds();
  const r = await load.call<CallResult>("calls", { method, requests, concurrency: CONCURRENCY, durationMs: CALL_MS });
  return { ...r, cpuUs: ((server.proc.cpuSeconds() - cpu0) * 1e6) / r.calls };
}

async function leaseCost(round: number, leases: number, registry: Agent, load: Agent): Promise<LeaseRow> {
  const groups = Math.ceil(LEASES / LEASE_GROUP);
  const server = await startSr({ config: { limits: { max_identifiers: LEASES + groups + 1_000, max_groups: groups + 100 } } });
  try {
    await registry.call("connect", { address: server.address });
    const reg = await registry.call<{ ms: number; callsPerS: number }>("register", {
      prefix: "lease-g",
      groups,
      perGroup: LEASE_GROUP,
      ttlMs: leases > 0 ? 3_600_000 : 0,
      concurrency: 32,
    });
    const heap = await server.heap();
    // Idle: what the server spends with nothing asked of it (a lease sweep would show here).
    const idle0 = server.proc.cpuSeconds();
    const idleStart = now();
    await sleep(f.smoke ? 300 : 2_000);
    const idleCpuPercent = ((server.proc.cpuSeconds() - idle0) / ((now() - idleStart) / 1000)) * 100;
    await load.call("connect", { address: server.address });
    // One identifier per loop, spread through the registry.
    const spread = Array.from({ length: CONCURRENCY }, (_, j) => {
      const k = Math.floor((j * LEASES) / CONCURRENCY);
      return [`lease-g${Math.floor(k / LEASE_GROUP)}`, `i${k % LEASE_GROUP}`] as const;
    });
    const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64");
    const get = await measureCalls(
      server,
      load,
      `${SR}/GetStatus`,
      spread.map(([group, identifier]) => [b64(GetStatusRequest.encode(GetStatusRequest.fromPartial({ group, identifier })).finish())]),
    );
    const set = await measureCalls(
      server,
      load,
      `${SR}/SetStatus`,
      spread.map(([group, identifier]) => [-1, 1].map((status) => b64(SetStatusRequest.encode(SetStatusRequest.fromPartial({ group, identifier, status })).finish()))),
    );
    await load.call("close");
    return {
      round,
      leases,
      identifiers: groups * LEASE_GROUP,
      registerCallsPerS: reg.callsPerS,
      heapMiB: heap.heapUsed / MiB,
      rssMiB: heap.rss / MiB,
      idleCpuPercent,
      getCallsPerS: get.callsPerS,
      getP50Ms: get.p50Ms,
      getP99Ms: get.p99Ms,
      getCpuUs: get.cpuUs,
      setCallsPerS: set.callsPerS,
      setP50Ms: set.p50Ms,
      setP99Ms: set.p99Ms,
      setCpuUs: set.cpuUs,
    };
  } finally {
    await server.proc.stop();
  }
}

// ---- run, report ----

// The lease part's load processes start during the soak, once its own have started.
let leaseAgents: [Agent, Agent] | undefined;
const startLeaseAgents = () => (leaseAgents ??= [new Agent("bench/lib/soak-registry.ts", "lease loader"), new Agent("bench/lib/unary-load.ts", "grpc-js client")]);
const result = await soak(startLeaseAgents);
const [leaseLoader, leaseLoad] = startLeaseAgents();
log(`soak [${at()}]: changes lost ${result.changesLost}, expired ${result.expired} of ${result.killed} killed, peak RSS ${result.serverPeakRssMiB.toFixed(0)} MiB`);
const rows: LeaseRow[] = [];
{
  try {
    for (let round = 0; round < f.rounds; round++) {
      for (const leases of rotate([0, LEASES], round)) {
        const r = await leaseCost(round, leases, leaseLoader, leaseLoad);
        rows.push(r);
        log(`soak [${at()}] r${round} ${leases} armed leases: GetStatus p99 ${r.getP99Ms.toFixed(2)} ms, SetStatus p99 ${r.setP99Ms.toFixed(2)} ms`);
      }
    }
  } finally {
    await Promise.all([leaseLoader.stop(), leaseLoad.stop()]);
  }
}
const medians = medianRows(rows, (r) => String(r.leases)).sort((a, b) => a.leases - b.leases);

const ok = result.changesLost === 0 && result.watchersMismatched === 0 && result.expired === result.killed && result.expiredNotKilled === 0;
type Figure = { figure: string; value: string | number; must?: string };
const figures: Figure[] = [
  { figure: "publishers (processes)", value: `${result.publishers} (${PUBLISHER_PROCESSES})` },
  { figure: "watchers (processes, per connection)", value: `${result.watchers} (${WATCHER_PROCESSES}, ${WATCHERS_PER_CONNECTION})` },
  { figure: "soak s, lease ttl ms", value: `${result.durationS}, ${result.ttlMs}` },
  { figure: "changes made (target /s)", value: `${result.changesMade.toLocaleString("en-US")} (${result.changesPerS})` },
  { figure: "changes delivered to watchers", value: result.deliveries },
  { figure: "resyncs, watch errors", value: `${result.resyncs}, ${result.watchErrors}` },
  { figure: "leases lost by live publishers while publishing, then during the soak (each published again)", value: `${result.leasesLostWhilePublishing}, ${result.leasesLostByLivePublishers}` },
  {
    figure: "why they were lost",
    value: Object.entries(result.lostReasons).map(([why, n]) => `${why}: ${n}`).join("; ") || "-",
  },
  { figure: "**changes lost** (identifiers where a watcher differs from ListStatus)", value: result.changesLost, must: "0" },
  { figure: "watchers differing / compared", value: `${result.watchersMismatched} / ${result.watchersCompared}`, must: "0" },
  { figure: "publishers killed (SIGKILL)", value: result.killed },
  { figure: "**leases expired**", value: result.expired, must: `${result.killed}` },
  { figure: "expired but not killed, killed but not expired", value: `${result.expiredNotKilled}, ${result.killedNotExpired}`, must: "0, 0" },
  { figure: "leases expired a ttl + 1 s after the kill", value: result.expiredByGuarantee },
  { figure: "kill to every killed lease expired ms (ListStatus every 250 ms)", value: result.allExpiredAfterMs },
  { figure: "watchers behind the registry after settling", value: result.watchersBehind },
  { figure: "registry still between the two reads (attempts)", value: `${result.registryStable ? "yes" : "no"} (${result.compareAttempts})` },
  { figure: "server CPU % during the soak (core 0)", value: result.serverCpuPercent },
  { figure: "load CPU % during the soak (core 1: publishers and watchers)", value: result.loadCpuPercent },
  { figure: "server RSS at the end MiB", value: result.serverRssMiB },
  { figure: "**server peak RSS MiB** (VmHWM)", value: result.serverPeakRssMiB },
];
const soakColumns: Column<Figure>[] = [
  { title: "soak", value: (r) => r.figure, text: true },
  { title: "value", value: (r) => r.value },
  { title: "must be", value: (r) => r.must ?? "", text: true },
];
const leaseColumns: Column<LeaseRow>[] = [
  { title: "armed leases", value: (r) => r.leases },
  { title: "identifiers", value: (r) => r.identifiers },
  { title: "registration calls/s", value: (r) => r.registerCallsPerS },
  { title: "heap MiB", value: (r) => r.heapMiB },
  { title: "RSS MiB", value: (r) => r.rssMiB },
  { title: "idle server CPU %", value: (r) => r.idleCpuPercent },
  { title: "GetStatus calls/s", value: (r) => r.getCallsPerS },
  { title: "GetStatus p50 ms", value: (r) => r.getP50Ms },
  { title: "GetStatus p99 ms", value: (r) => r.getP99Ms },
  { title: "GetStatus CPU µs/call", value: (r) => r.getCpuUs },
  { title: "SetStatus calls/s", value: (r) => r.setCallsPerS },
  { title: "SetStatus p50 ms", value: (r) => r.setP50Ms },
  { title: "SetStatus p99 ms", value: (r) => r.setP99Ms },
  { title: "SetStatus CPU µs/call", value: (r) => r.setCpuUs },
];
publish(f, {
  scenario: "soak",
  title: "Soak: leases, watchers, half the publishers killed",
  data: { medians: { soak: result, leases: medians }, runs: { soak: result, leases: rows } },
  body: [
    `${result.publishers.toLocaleString("en-US")} publishers (the TS client's \`sr.publish\`, ttl ${result.ttlMs} ms, refreshed every third of it) in ${PUBLISHER_PROCESSES} processes, ` +
      `changing their details ${result.changesPerS} times a second in all (each write with the ttl; a lost lease is published again); ${result.watchers.toLocaleString("en-US")} watchers (the TS client's resuming watch, details and registrations; ` +
      `one group of ${PER_GROUP} each, one in ${ALL_EVERY} everything) in ${WATCHER_PROCESSES} process${WATCHER_PROCESSES === 1 ? "" : "es"}; all on core 1, the server alone on core 0. ` +
      `After ${result.durationS} s the processes holding half the publishers got SIGKILL; a ttl + 1 s later every watcher's state was compared with ListStatus.`,
    "",
    table(soakColumns, figures),
    "",
    "Leases lost by live publishers are the publishers' own count (each then publishes again): code 4 is DEADLINE_EXCEEDED, a refresh unanswered within its timeout (a third of the ttl) and its retry too, LEASE_NOT_ARMED a refresh that came after the lease had run out; both mean a refresh stalled for about a ttl somewhere between the publisher's event loop and the server's, so read them beside the CPU figures and the load average. The expiry figures count only the publishers killed, whose every write carried the ttl.",
    "",
    result.examples.length ? `First differences: ${result.examples.map((e) => `\`${e}\``).join("; ")}.\n` : "",
    `What ${LEASES.toLocaleString("en-US")} armed leases cost other calls: two fresh servers loaded by the same bulk registration ` +
      `(RegisterIdentifier, 32 in flight), one without a ttl and one with a 1 h ttl; then ${CONCURRENCY} calls in flight from one grpc-js client ` +
      `on core 1, each loop on its own identifier spread through the registry (SetStatus: every call a change, restarting that identifier's lease). ` +
      `Heap and RSS after a full GC.`,
    "",
    table(leaseColumns, medians),
  ].join("\n"),
});
if (!ok) {
  log(`soak [${at()}]: FAILED: changes lost ${result.changesLost} (watchers differing ${result.watchersMismatched}), leases expired ${result.expired} of ${result.killed} killed (${result.expiredNotKilled} not killed)`);
  process.exitCode = 1;
}
