/**
 * Slow readers: what watchers that stop reading cost the writer and the server.
 *
 *   npx tsx bench/slow-readers.ts [--smoke] [--rounds 3] [--write | --no-write]
 *
 * Our server (`node dist/src/main.js`, default watch budgets) pinned to core 0,
 * watchers and writer in agents on core 1 (bench/lib/watch-load.ts):
 * - live: 1,000 watchers of one group (100 per connection), all reading, then
 *   a fresh server with 10% of them (on connections of their own) no longer
 *   reading once live; the writer's SetStatus calls, one at a time as fast as
 *   it can, for a fixed time. Figures: the writer's changes/s, the readers'
 *   deliveries/s, the server's peak RSS (VmHWM).
 * - snapshot: 20,000 identifiers, the writer alone, then 200 watchers of
 *   everything (each on its own connection), and the writer again; on one
 *   server they all read, on a fresh one they read nothing from the start of
 *   their snapshot (WatchStatus at the HTTP/2 level, stream paused: the window
 *   fills with the first part and flow control holds the server). Figures: the writer's changes/s, and the server's
 *   peak RSS over its RSS before the watchers: what the 200 stalled snapshots
 *   cost in all (the goal: under 50 MB).
 */
import { startSr, watchAgents } from "./lib/procs.js";
import { type Column, flags, log, publish, table } from "./lib/report.js";
import { medianRows, sleep } from "./lib/stats.js";
import { GROUP, IDENTIFIER } from "./lib/watch-load.js";

const f = flags(3);
const LIVE_WATCHERS = f.smoke ? 50 : 1_000;
const LIVE_STALLED = LIVE_WATCHERS / 10;
const SNAPSHOT_IDENTIFIERS = f.smoke ? 2_000 : 20_000;
const SNAPSHOT_WATCHERS = f.smoke ? 10 : 200;
const WRITE_MS = f.smoke ? 500 : 10_000;
const MiB = 2 ** 20;

const writerGroup = { name: GROUP, identifiers: [{ name: IDENTIFIER, status: 1 }] };

interface Row extends Record<string, unknown> {
  round: number;
  scenario: string;
  case: string;
  writerChangesPerS: number;
  readerDeliveriesPerS: number;
  /** Resyncs of reading watchers: the writer is not held back, so readers the load core cannot keep up with resync (the budget at work). */
  readerResyncs: number;
  rssBeforeMiB: number;
  peakRssMiB: number;
  /** Peak RSS over the RSS before the watchers opened. */
  costMiB: number;
}

const agents = watchAgents();
const { watchAgent, writeAgent } = agents;
const rows: Row[] = [];

async function writeFor(from: number): Promise<{ changesPerS: number; written: number }> {
  const r = await writeAgent.call<{ written: number; ms: number }>("write", { from, durationMs: WRITE_MS });
  return { changesPerS: r.written / (r.ms / 1000), written: r.written };
}

async function live(round: number, stalled: number): Promise<Row> {
  const server = await startSr({ config: { groups: [writerGroup] } });
  try {
    const before = server.proc.memory().rss;
    await watchAgent.call("open", {
      side: "sr",
      address: server.address,
      watchers: LIVE_WATCHERS,
      connections: Math.ceil(LIVE_WATCHERS / 100),
      stalled,
      stallWhen: "live",
      stalledConnections: stalled,
      countResyncs: true,
    });
    await writeAgent.call("writerOpen", { side: "sr", address: server.address });
    await watchAgent.call("arm", { from: 0 });
    const w = await writeFor(0);
    const { received, resyncs } = await watchAgent.call<{ received: number; resyncs: number }>("counted");
    const mem = server.proc.memory();
    return {
      round,
      scenario: "live",
      case: stalled ? `${LIVE_WATCHERS.toLocaleString("en-US")} watchers, ${stalled} stopped reading` : `${LIVE_WATCHERS.toLocaleString("en-US")} watchers, all reading`,
      writerChangesPerS: w.changesPerS,
      readerDeliveriesPerS: received / (WRITE_MS / 1000),
      readerResyncs: resyncs,
      rssBeforeMiB: before / MiB,
      peakRssMiB: mem.peakRss / MiB,
      costMiB: (mem.peakRss - before) / MiB,
    };
  } finally {
    await writeAgent.call("writerClose");
    await watchAgent.call("close");
    await server.proc.stop();
  }
}

async function snapshot(round: number, stall: boolean): Promise<Row[]> {
  const groups = [writerGroup];
  for (let g = 0; g * 1_000 < SNAPSHOT_IDENTIFIERS; g++) {
    groups.push({ name: `g${g}`, identifiers: Array.from({ length: 999 }, (_, i) => ({ name: `i${i}`, status: 1 })) });
  }
  const server = await startSr({ config: { groups, limits: { max_identifiers: SNAPSHOT_IDENTIFIERS + 10_000 } } });
  try {
    await writeAgent.call("writerOpen", { side: "sr", address: server.address });
    const alone = await writeFor(0);
    const before = server.proc.memory().rss;
    const name = `${SNAPSHOT_IDENTIFIERS.toLocaleString("en-US")} identifiers`;
    const row = (what: string, changesPerS: number): Row => {
      const mem = server.proc.memory();
      return {
        round,
        scenario: "snapshot",
        case: `${name}, ${what}`,
        writerChangesPerS: changesPerS,
        readerDeliveriesPerS: Number.NaN,
        readerResyncs: 0,
        rssBeforeMiB: before / MiB,
        peakRssMiB: mem.peakRss / MiB,
        costMiB: (mem.peakRss - before) / MiB,
      };
    };
    const base = { ...row("no watcher", alone.changesPerS), costMiB: Number.NaN };
    await watchAgent.call("open", {
      side: "sr",
      address: server.address,
      watchers: SNAPSHOT_WATCHERS,
      group: "",
      // Each watcher on its own connection, as separate clients would be.
      connections: SNAPSHOT_WATCHERS,
      ...(stall ? { stalled: SNAPSHOT_WATCHERS, stallWhen: "snapshot", stalledConnections: SNAPSHOT_WATCHERS } : {}),
    });
    // Let the server fill what flow control lets it send before it waits.
    await sleep(1_000);
    await watchAgent.call("arm", { from: alone.written });
    const watched = await writeFor(alone.written);
    const watching = row(`${SNAPSHOT_WATCHERS} watchers ${stall ? "stalled in their snapshot" : "all reading"}`, watched.changesPerS);
    if (!stall) watching.readerDeliveriesPerS = (await watchAgent.call<{ received: number }>("counted")).received / (WRITE_MS / 1000);
    return [base, watching];
  } finally {
    await writeAgent.call("writerClose");
    await watchAgent.call("close");
    await server.proc.stop();
  }
}

try {
  for (let round = 0; round < f.rounds; round++) {
    for (const stalled of round % 2 ? [LIVE_STALLED, 0] : [0, LIVE_STALLED]) rows.push(await live(round, stalled));
    for (const stall of round % 2 ? [true, false] : [false, true]) rows.push(...(await snapshot(round, stall)));
    for (const r of rows.filter((r) => r.round === round)) {
      log(`slow-readers r${round} ${r.case}: writer ${Math.round(r.writerChangesPerS)} changes/s, peak RSS ${r.peakRssMiB.toFixed(1)} MiB`);
    }
  }
} finally {
  await agents.stop();
}

const medians = medianRows(rows, (r) => r.case);
const columns: Column<Row>[] = [
  { title: "case", value: (r) => r.case, text: true },
  { title: "writer changes/s", value: (r) => r.writerChangesPerS },
  { title: "readers' deliveries/s", value: (r) => r.readerDeliveriesPerS },
  { title: "readers' resyncs", value: (r) => r.readerResyncs },
  { title: "RSS before watchers MiB", value: (r) => r.rssBeforeMiB },
  { title: "peak RSS MiB", value: (r) => r.peakRssMiB },
  { title: "peak over before MiB", value: (r) => r.costMiB },
];
publish(f, {
  scenario: "slow-readers",
  title: "Slow readers: watchers that stop reading",
  data: { medians, runs: rows },
  body: [
    table(columns, medians),
    "",
    `The writer makes one SetStatus call at a time for ${WRITE_MS / 1000} s. The live case's watchers stop reading with grpc-js's \`pause()\` (the client still takes about 16 messages off the stream, then HTTP/2 flow control stops the server's); the snapshot case's read nothing at all (a WatchStatus made at the HTTP/2 level, its stream paused from the start: the window fills with the first part of the snapshot). ` +
      "Default watch budgets (1,000 messages or 4 MiB per watcher). Peak RSS is the server's VmHWM; the snapshot case's goal is under 50 MB over the RSS before the watchers.",
  ].join("\n"),
});
