/**
 * Fan-out benchmark: one writer, N watchers, our WatchStatus side by side with
 * grpc-health-check's Watch, alternately in the same process.
 *
 *   npx tsx bench/fanout.ts [--watchers 1,100,1000] [--changes 2000] [--rounds 5] [--window 100]
 *                           [--max-deliveries 500000] [--latency-changes 200] [--per-channel 100]
 *                           [--warmup-changes 500] [--only rpc,in-process,health] [--json FILE]
 *   npx tsx bench/fanout.ts --report FILE     (the tables of a --json FILE again)
 *
 * Three sides, each on a fresh server per run, all over loopback:
 * - `sr, SetStatus RPC`: our server; the writer calls SetStatus over its own channel.
 * - `sr, in-process`: our server; the writer calls `registry.setStatus` directly.
 * - `grpc-health-check`: its HealthImplementation on a plain grpc-js server; the
 *   writer calls `setStatus(service, ...)` directly (it has no write RPC).
 * Every write is a change (status -1 / 1, NOT_SERVING / SERVING, alternately);
 * our watchers use WatchStatus on the group with default options (status
 * changes), theirs Watch on the service. Watchers are spread over channels of at
 * most `--per-channel` streams, each channel its own TCP connection. Both
 * servers and all clients share this process and its one event loop, so a
 * figure is the cost of the whole loopback path: server fan-out plus client
 * decoding. Every delivery is checked (order, value, no gap, no resync).
 *
 * Two kinds of run, per side, watcher count and round (sides rotate each round):
 * - throughput: changes written back to back (each SetStatus awaited; in-process
 *   writes without yielding) but never more than `--window` ahead of the slowest
 *   watcher, which bounds every queue (ours holds 1,000 pending messages per
 *   watcher before it resyncs). Changes per run: `--changes`, capped at
 *   `--max-deliveries` / watchers. deliveries/s = changes x watchers / (first
 *   write -> the last watcher receiving the last change).
 * - one at a time (`--latency-changes`, 0 skips them): each change is written
 *   once every watcher has the previous one; p50/p99 of write -> delivery, over
 *   every (change, watcher), is then the fan-out time without queueing.
 *
 * Stdout: markdown tables (medians over rounds); progress goes to stderr.
 */
import { performance } from "node:perf_hooks";
import { readFileSync, writeFileSync } from "node:fs";
import { cpus, loadavg, type as osType, release } from "node:os";
import { parseArgs } from "node:util";
import { type ClientReadableStream, Server, ServerCredentials, credentials } from "@grpc/grpc-js";
import { HealthImplementation } from "grpc-health-check";
import { SrClient, type WatchStatusResponse, WatchStatusRequest } from "../clients/ts/index.js";
import {
  HealthCheckResponse_ServingStatus as Serving,
  HealthClient,
  type HealthCheckResponse,
} from "../gen/ts/health/v1/health.js";
import { type TestServer, startServer } from "../test/helpers/server.js";

// ---- options ----

const { values: args } = parseArgs({
  options: {
    watchers: { type: "string", default: "1,100,1000" },
    changes: { type: "string", default: "2000" },
    rounds: { type: "string", default: "5" },
    window: { type: "string", default: "100" },
    "latency-changes": { type: "string" },
    "max-deliveries": { type: "string", default: "500000" },
    "per-channel": { type: "string", default: "100" },
    "warmup-changes": { type: "string", default: "500" },
    only: { type: "string", default: "rpc,in-process,health" },
    json: { type: "string" },
    report: { type: "string" },
    help: { type: "boolean", short: "h", default: false },
  },
  strict: true,
});

if (args.help) {
  process.stdout.write(
    "usage: tsx bench/fanout.ts [--watchers 1,100,1000] [--changes 2000] [--rounds 5] [--window 100]\n" +
      "         [--max-deliveries 500000] [--latency-changes 200] [--per-channel 100] [--warmup-changes 500]\n" +
      "         [--only rpc,in-process,health] [--json FILE]\n" +
      "       tsx bench/fanout.ts --report FILE   (prints the tables of a --json FILE again)\n",
  );
  process.exit(0);
}

function int(name: string, value: string, min: number, max: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) {
    process.stderr.write(`bench: --${name} must be an integer between ${min} and ${max}, not '${value}'\n`);
    process.exit(2);
  }
  return n;
}

const WATCHER_COUNTS = args.watchers.split(",").map((w) => int("watchers", w.trim(), 1, 5_000));
const CHANGES = int("changes", args.changes, 1, 1_000_000);
const ROUNDS = int("rounds", args.rounds, 1, 100);
// Below our per-watcher budget (1,000 pending messages), so no watcher ever resyncs.
const WINDOW = int("window", args.window, 1, 999);
const LATENCY_CHANGES = int("latency-changes", args["latency-changes"] ?? String(Math.min(200, CHANGES)), 0, 1_000_000);
const MAX_DELIVERIES = int("max-deliveries", args["max-deliveries"], 1, 1_000_000_000);
const PER_CHANNEL = int("per-channel", args["per-channel"], 1, 1_000);
const WARMUP_CHANGES = int("warmup-changes", args["warmup-changes"], 0, 1_000_000);

/** A run that makes no progress for this long fails (nothing waits forever). */
const STALL_MS = 30_000;
const GROUP = "bench";
const IDENTIFIER = "writer";
const SERVICE = "bench";
/** Own subchannel pool per channel: each channel is its own TCP connection. */
const CHANNEL_OPTIONS = { "grpc.use_local_subchannel_pool": 1 };

const log = (line: string) => process.stderr.write(`${line}\n`);
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

// ---- sides ----

/** Receives each watcher's deliveries: change `k` (0-based write index), and whether its value was the one written. */
type Deliver = (watcher: number, k: number, valueOk: boolean) => void;

interface Fixture {
  /** Write number `k` (0-based): status -1 for even k, 1 for odd (NOT_SERVING / SERVING). */
  write(k: number): Promise<unknown> | void;
  close(): Promise<void>;
}

interface Side {
  name: string;
  /** Starts a server and `n` watchers; resolves once every watcher got its initial state. */
  open(n: number, deliver: Deliver, fail: (error: Error) => void): Promise<Fixture>;
}

function channels<C>(n: number, make: () => C): C[] {
  return Array.from({ length: Math.ceil(n / PER_CHANNEL) }, make);
}

function allReady(n: number, fail: (error: Error) => void): { ready: () => void; done: Promise<void> } {
  let left = n;
  let resolve!: () => void;
  let timer: NodeJS.Timeout | undefined;
  const done = new Promise<void>((res, rej) => {
    resolve = res;
    timer = setTimeout(() => {
      const error = new Error(`only ${n - left} of ${n} watchers started within ${STALL_MS} ms`);
      fail(error);
      rej(error);
    }, STALL_MS);
  });
  return {
    ready: () => {
      if (--left > 0) return;
      clearTimeout(timer);
      resolve();
    },
    done,
  };
}

function ourSide(writer: "rpc" | "in-process"): Side {
  return {
    name: writer === "rpc" ? "sr, SetStatus RPC" : "sr, in-process",
    async open(n, deliver, fail) {
      const srv: TestServer = await startServer();
      srv.registry.registerGroup({ group: GROUP });
      srv.registry.registerIdentifier({ group: GROUP, identifier: IDENTIFIER, status: 1 });
      const clients = channels(n, () => new SrClient(srv.address, { channelOptions: CHANNEL_OPTIONS }));
      const writerClient = writer === "rpc" ? new SrClient(srv.address, { channelOptions: CHANNEL_OPTIONS }) : undefined;
      const calls: ClientReadableStream<WatchStatusResponse>[] = [];
      let closing = false;
      const { ready, done } = allReady(n, fail);
      for (let w = 0; w < n; w++) {
        const client = clients[Math.floor(w / PER_CHANNEL)] as SrClient;
        const call = client.raw.watchStatus(WatchStatusRequest.fromPartial({ group: GROUP }), client.metadata());
        let base = -1;
        call.on("data", (message: WatchStatusResponse) => {
          const event = message.event;
          if (event?.$case === "statusChanged") {
            const k = Number(message.revision) - base - 1;
            deliver(w, k, event.value.status === (k % 2 === 0 ? -1 : 1));
          } else if (event?.$case === "snapshot") {
            if (event.value.resync) fail(new Error(`watcher ${w} fell behind and resynced`));
            else if (event.value.last) {
              base = Number(message.revision);
              ready();
            }
          }
        });
        call.on("error", (error) => {
          if (!closing) fail(error);
        });
        calls.push(call);
      }
      await done;
      // Connect the writer's channel before the clock starts.
      await writerClient?.getStatus({ group: GROUP, identifier: IDENTIFIER }, { timeoutMs: STALL_MS });
      const write =
        writer === "rpc"
          ? (k: number) => (writerClient as SrClient).setStatus(
              { group: GROUP, identifier: IDENTIFIER, status: k % 2 === 0 ? -1 : 1 },
              { timeoutMs: STALL_MS },
            )
          : (k: number) => {
              srv.registry.setStatus({ group: GROUP, identifier: IDENTIFIER, status: k % 2 === 0 ? -1 : 1 });
            };
      return {
        write,
        async close() {
          closing = true;
          for (const call of calls) call.cancel();
          for (const client of clients) client.close();
          writerClient?.close();
          srv.forceStop();
        },
      };
    },
  };
}

const healthCheckSide: Side = {
  name: "grpc-health-check",
  async open(n, deliver, fail) {
    const health = new HealthImplementation({ [SERVICE]: "SERVING" });
    const server = new Server();
    health.addToServer(server);
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (error, p) => (error ? reject(error) : resolve(p))),
    );
    const address = `127.0.0.1:${port}`;
    const clients = channels(n, () => new HealthClient(address, credentials.createInsecure(), CHANNEL_OPTIONS));
    const calls: ClientReadableStream<HealthCheckResponse>[] = [];
    let closing = false;
    const { ready, done } = allReady(n, fail);
    for (let w = 0; w < n; w++) {
      const client = clients[Math.floor(w / PER_CHANNEL)] as HealthClient;
      const call = client.watch({ service: SERVICE });
      let k = -1; // the first message is the current status
      call.on("data", (message: HealthCheckResponse) => {
        if (k < 0) {
          k = 0;
          ready();
          return;
        }
        deliver(w, k, message.status === (k % 2 === 0 ? Serving.NOT_SERVING : Serving.SERVING));
        k++;
      });
      call.on("error", (error) => {
        if (!closing) fail(error);
      });
      calls.push(call);
    }
    await done;
    return {
      write(k) {
        health.setStatus(SERVICE, k % 2 === 0 ? "NOT_SERVING" : "SERVING");
      },
      async close() {
        closing = true;
        for (const call of calls) call.cancel();
        for (const client of clients) client.close();
        server.forceShutdown();
      },
    };
  },
};

const ALL_SIDES: Record<string, Side> = { rpc: ourSide("rpc"), "in-process": ourSide("in-process"), health: healthCheckSide };
const SIDES: Side[] = args.only.split(",").map((key) => {
  const side = ALL_SIDES[key.trim()];
  if (!side) {
    process.stderr.write(`bench: --only takes ${Object.keys(ALL_SIDES).join(", ")}, not '${key}'\n`);
    process.exit(2);
  }
  return side;
});
const BASELINE = healthCheckSide.name;
/** Changes per throughput run at `n` watchers: --changes, capped at --max-deliveries / n. */
const changesFor = (n: number) => Math.max(1, Math.min(CHANGES, Math.floor(MAX_DELIVERIES / n)));
const gc = (globalThis as { gc?: () => void }).gc;

// ---- one run ----

interface RunResult {
  side: string;
  watchers: number;
  mode: "throughput" | "latency";
  changes: number;
  elapsedMs: number;
  deliveriesPerSec: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Process CPU time (user + system, all threads) per delivery, server and clients together. */
  cpuUsPerDelivery: number;
  /** The machine's 1-minute load average when the run ended (other processes compete for the 2 cores). */
  loadAverage: number;
  /** The round (0-based); -1 for the warm-up. */
  round: number;
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] as number;
}

async function run(side: Side, n: number, changes: number, mode: RunResult["mode"], round: number): Promise<RunResult> {
  const window = mode === "latency" ? 1 : WINDOW;
  const sent = new Float64Array(changes);
  const latencies = new Float64Array(changes * n);
  const got = new Uint32Array(changes);
  const nextOf = new Int32Array(n);
  let samples = 0;
  let complete = 0; // changes 0..complete-1 reached every watcher
  let lastAt = 0;
  let failure: Error | undefined;
  let wake: (() => void) | undefined;

  const fail = (error: Error) => {
    failure ??= error;
    wake?.();
  };
  const deliver: Deliver = (w, k, valueOk) => {
    const now = performance.now();
    if (k !== nextOf[w] || k >= changes || !valueOk) {
      fail(new Error(`${side.name}: watcher ${w} got change ${k} (${valueOk ? "right" : "wrong"} value), expected ${nextOf[w]}`));
      return;
    }
    nextOf[w] = k + 1;
    latencies[samples++] = now - (sent[k] as number);
    // Each watcher receives in order, so all of them having k means all have k-1.
    if (++(got[k] as number) === n) {
      complete = k + 1;
      if (complete === changes) lastAt = now;
      wake?.();
    }
  };
  const progress = () =>
    new Promise<void>((resolve) => {
      wake = () => {
        wake = undefined;
        resolve();
      };
    });

  const fixture = await side.open(n, deliver, fail);
  // One watchdog per run: a run that stops making progress fails instead of hanging.
  let seen = -1;
  const watchdog = setInterval(() => {
    if (complete === seen) {
      fail(new Error(`${side.name}: no progress for ${STALL_MS} ms (${complete}/${changes} changes reached all ${n} watchers)`));
    }
    seen = complete;
  }, STALL_MS);
  try {
    const cpu0 = process.cpuUsage();
    for (let k = 0; k < changes; k++) {
      while (k - complete >= window && !failure) await progress();
      if (failure) throw failure;
      sent[k] = performance.now();
      // An RPC write is awaited; an in-process one returns at once, and the
      // writer goes on until the window is full.
      const pending = fixture.write(k);
      if (pending) await pending;
    }
    while (complete < changes && !failure) await progress();
    if (failure) throw failure;
    const cpu = process.cpuUsage(cpu0);
    const sorted = latencies.subarray(0, samples).sort();
    const elapsedMs = lastAt - (sent[0] as number);
    return {
      side: side.name,
      watchers: n,
      mode,
      changes,
      elapsedMs,
      deliveriesPerSec: (changes * n) / (elapsedMs / 1000),
      p50Ms: percentile(sorted, 50),
      p99Ms: percentile(sorted, 99),
      maxMs: sorted[sorted.length - 1] as number,
      cpuUsPerDelivery: (cpu.user + cpu.system) / (changes * n),
      loadAverage: loadavg()[0] as number,
      round,
    };
  } finally {
    clearInterval(watchdog);
    await fixture.close();
    await sleep(100); // let the closed connections go before the next run
    gc?.();
  }
}

// ---- report ----

/** What the report needs besides the results; also what `--json` writes and `--report` reads. */
interface Context {
  node: string;
  machine: string;
  sides: string[];
  watchers: number[];
  rounds: number;
  window: number;
  perChannel: number;
  maxDeliveries: number;
  seconds: number;
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

const fmtInt = (n: number) => Math.round(n).toLocaleString("en-US");
const fmtMs = (n: number) => (Number.isNaN(n) ? "-" : n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2));
const fmtRatio = (n: number) => (Number.isFinite(n) ? `${n.toFixed(2)}x` : "-");

interface Summary {
  runs: number;
  changes: number;
  deliveriesPerSec: number;
  minDeliveriesPerSec: number;
  maxDeliveriesPerSec: number;
  p50Ms: number;
  p99Ms: number;
  cpuUsPerDelivery: number;
}

function summary(results: RunResult[], mode: RunResult["mode"], n: number, side: string): Summary | undefined {
  const rs = results.filter((r) => r.mode === mode && r.watchers === n && r.side === side);
  if (rs.length === 0) return undefined;
  const rates = rs.map((r) => r.deliveriesPerSec);
  return {
    runs: rs.length,
    changes: (rs[0] as RunResult).changes,
    deliveriesPerSec: median(rates),
    minDeliveriesPerSec: Math.min(...rates),
    maxDeliveriesPerSec: Math.max(...rates),
    p50Ms: median(rs.map((r) => r.p50Ms)),
    p99Ms: median(rs.map((r) => r.p99Ms)),
    cpuUsPerDelivery: median(rs.map((r) => r.cpuUsPerDelivery)),
  };
}

/**
 * Ours / theirs for one metric: the median over rounds of the ratio within each
 * round (both sides ran back to back, so drift of the machine between rounds cancels).
 */
function pairedRatio(results: RunResult[], mode: RunResult["mode"], n: number, side: string, metric: (r: RunResult) => number): number {
  const ratios: number[] = [];
  for (const r of results) {
    if (r.mode !== mode || r.watchers !== n || r.side !== side) continue;
    const base = results.find((b) => b.mode === mode && b.watchers === n && b.side === BASELINE && b.round === r.round);
    if (base) ratios.push(metric(r) / metric(base));
  }
  return ratios.length ? median(ratios) : NaN;
}

/** Markdown: the headline table (throughput runs' rate, latency runs' p50/p99, ratios), then the details. */
function report(results: RunResult[], ctx: Context): string {
  const loads = results.map((r) => r.loadAverage);
  const hasLatency = results.some((r) => r.mode === "latency");
  const changesAt = (mode: RunResult["mode"]) =>
    ctx.watchers
      .map((n) => {
        const r = results.find((x) => x.mode === mode && x.watchers === n);
        return r ? `${fmtInt(r.changes)} at ${fmtInt(n)}` : undefined;
      })
      .filter(Boolean)
      .join(", ");

  const head = [
    "| watchers | server, writer | deliveries/s | changes/s | p50 ms | p99 ms | " +
      "deliveries/s vs grpc-health-check | p50 vs grpc-health-check | p99 vs grpc-health-check |",
    "|---:|---|---:|---:|---:|---:|---:|---:|---:|",
  ];
  const details = [
    "| watchers | server, writer | deliveries/s min-max | CPU µs/delivery | p50 / p99 ms under load | " +
      "one-at-a-time changes/s | one-at-a-time CPU µs/delivery |",
    "|---:|---|---:|---:|---:|---:|---:|",
  ];
  for (const n of ctx.watchers) {
    for (const side of ctx.sides) {
      const t = summary(results, "throughput", n, side);
      const l = summary(results, "latency", n, side);
      const isBase = side === BASELINE;
      const ratio = (mode: RunResult["mode"], metric: (r: RunResult) => number) =>
        isBase ? "(baseline)" : fmtRatio(pairedRatio(results, mode, n, side, metric));
      head.push(
        `| ${fmtInt(n)} | ${side} | ${t ? fmtInt(t.deliveriesPerSec) : "-"} | ${t ? fmtInt(t.deliveriesPerSec / n) : "-"} | ` +
          `${l ? fmtMs(l.p50Ms) : "-"} | ${l ? fmtMs(l.p99Ms) : "-"} | ` +
          `${ratio("throughput", (r) => r.deliveriesPerSec)} | ${ratio("latency", (r) => r.p50Ms)} | ${ratio("latency", (r) => r.p99Ms)} |`,
      );
      details.push(
        `| ${fmtInt(n)} | ${side} | ${t ? `${fmtInt(t.minDeliveriesPerSec)}-${fmtInt(t.maxDeliveriesPerSec)}` : "-"} | ` +
          `${t ? t.cpuUsPerDelivery.toFixed(1) : "-"} | ${t ? `${fmtMs(t.p50Ms)} / ${fmtMs(t.p99Ms)}` : "-"} | ` +
          `${l ? fmtInt(l.deliveriesPerSec / n) : "-"} | ${l ? l.cpuUsPerDelivery.toFixed(1) : "-"} |`,
      );
    }
  }
  return [
    `Fan-out, 1 writer to ${ctx.watchers.map(fmtInt).join(" / ")} watchers: medians over ${ctx.rounds} round(s); ` +
      `${ctx.node}, ${ctx.machine}; ` +
      `servers and clients in one process over loopback, at most ${ctx.perChannel} watch streams per connection; ` +
      `1-min load average ${Math.min(...loads).toFixed(1)}-${Math.max(...loads).toFixed(1)} during the runs; ` +
      `${ctx.seconds.toFixed(0)} s in all.`,
    "",
    `deliveries/s: throughput runs (${changesAt("throughput")} watchers; at most ${fmtInt(ctx.maxDeliveries)} deliveries a run), ` +
      `changes written back to back, at most ${ctx.window} ahead of the slowest watcher. ` +
      (hasLatency
        ? `p50/p99: write to delivery, one-at-a-time runs (${changesAt("latency")} watchers), ` +
          "each change written once every watcher has the previous one."
        : "p50/p99: not measured (--latency-changes 0).") +
      " Ratios are ours / grpc-health-check: the median over rounds of the ratio within each round.",
    "",
    ...head,
    "",
    "Details (p50 / p99 under load include the queueing that the window allows):",
    "",
    ...details,
    "",
  ].join("\n");
}

// ---- main ----

async function main(): Promise<void> {
  if (args.report) {
    const saved = JSON.parse(readFileSync(args.report, "utf8")) as { context: Context; results: RunResult[] };
    process.stdout.write(report(saved.results, saved.context));
    return;
  }
  const started = performance.now();
  const results: RunResult[] = [];
  const describe = (r: RunResult) =>
    `${r.mode} ${r.watchers} x ${r.changes} ${r.side}: ${fmtInt(r.deliveriesPerSec)} deliveries/s, ` +
    `p50 ${fmtMs(r.p50Ms)} ms, p99 ${fmtMs(r.p99Ms)} ms, ` +
    `${r.cpuUsPerDelivery.toFixed(1)} CPU µs/delivery, load ${r.loadAverage.toFixed(1)}`;

  if (WARMUP_CHANGES > 0) {
    const n = Math.min(10, Math.max(...WATCHER_COUNTS));
    for (const side of SIDES) await run(side, n, Math.min(WARMUP_CHANGES, CHANGES), "throughput", -1);
    log(`warm-up done (${n} watchers, ${Math.min(WARMUP_CHANGES, CHANGES)} changes per side)`);
  }
  for (const n of WATCHER_COUNTS) {
    for (let round = 0; round < ROUNDS; round++) {
      // Rotate the order each round so no side always runs right after another.
      const order = SIDES.map((_, i) => SIDES[(i + round) % SIDES.length] as Side);
      for (const side of order) {
        const r = await run(side, n, changesFor(n), "throughput", round);
        results.push(r);
        log(`round ${round + 1}/${ROUNDS} ${describe(r)}`);
      }
      if (LATENCY_CHANGES > 0) {
        for (const side of order) {
          const r = await run(side, n, LATENCY_CHANGES, "latency", round);
          results.push(r);
          log(`round ${round + 1}/${ROUNDS} ${describe(r)}`);
        }
      }
    }
  }
  const context: Context = {
    node: `Node ${process.version}`,
    machine: `${cpus().length} CPU(s) ${cpus()[0]?.model ?? "?"}, ${osType()} ${release()}`,
    sides: SIDES.map((s) => s.name),
    watchers: WATCHER_COUNTS,
    rounds: ROUNDS,
    window: WINDOW,
    perChannel: PER_CHANNEL,
    maxDeliveries: MAX_DELIVERIES,
    seconds: (performance.now() - started) / 1000,
  };
  process.stdout.write(report(results, context));
  if (args.json) writeFileSync(args.json, `${JSON.stringify({ context, options: args, results }, null, 2)}\n`);
}

// Everything is closed at the end; if something still holds the loop open, say so rather than hang.
main().then(
  () => {
    setTimeout(() => {
      log("bench: something still holds the event loop 5 s after the end; exiting");
      process.exit(1);
    }, 5_000).unref();
  },
  (error: unknown) => {
    log(`bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exitCode = 1;
    setTimeout(() => process.exit(1), 5_000).unref();
  },
);
