/**
 * What one registry change costs the watch hub: a registry of `--groups`
 * groups, `--watchers` live WatchStatus watchers spread evenly over them (each
 * watching one group, default options), then `--changes` status changes, one
 * group after another. Prints, per round, the watchers the hub touched per
 * change and the microseconds per change (the registry write included), then
 * the medians. No socket: only the hub's fan-out is measured.
 *
 *   npx tsx bench/hub-cost.ts [--groups 100] [--watchers 10000] [--changes 10000] [--rounds 5]
 *                             [--tree DIR]
 *
 * `--tree DIR` measures the hub and registry of another source tree instead of
 * this one (e.g. an older commit: `git archive COMMIT src | tar -x -C DIR`).
 * A hub without an `offers` counter offers every change to every watcher (as
 * the hub before the group index did), so its touched count is its watcher count.
 */
import { performance } from "node:perf_hooks";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";

const { values: args } = parseArgs({
  options: {
    groups: { type: "string", default: "100" },
    watchers: { type: "string", default: "10000" },
    changes: { type: "string", default: "10000" },
    rounds: { type: "string", default: "5" },
    tree: { type: "string" },
  },
  strict: true,
});

/** Option `name` as a positive integer; anything else is a usage error. */
function positive(name: "groups" | "watchers" | "changes" | "rounds"): number {
  const n = Number(args[name]);
  if (Number.isSafeInteger(n) && n > 0) return n;
  process.stderr.write(`bench: --${name} must be a positive integer, not '${args[name]}'\n`);
  process.exit(2);
}

const GROUPS = positive("groups");
const WATCHERS = positive("watchers");
const CHANGES = positive("changes");
const ROUNDS = positive("rounds");
/** Every watcher queues the changes of its group without reading them: keep them within its budget. */
const BUDGET = Math.ceil(CHANGES / GROUPS) + 1;

const tree = path.resolve(args.tree ?? path.join(import.meta.dirname, ".."));
const load = (file: string) => import(pathToFileURL(path.join(tree, file)).href);
const { Registry } = await load("src/domain/registry/registry.ts");
const { WatchHub, DEFAULT_WATCH_OPTIONS } = await load("src/domain/watch/hub.ts");

/** The parts of either hub (and its watchers) the measurement uses. */
interface AnyWatcher {
  next(): unknown;
  wait?(wake: () => void): void;
}
interface AnyHub {
  readonly watcherCount: number;
  readonly offers?: number;
  watch(request: object, owner: string): AnyWatcher;
  close(): void;
}

const groupName = (g: number) => `g${String(g).padStart(4, "0")}`;

/** Reads a watcher's snapshot and leaves it waiting, live: the state every watcher is in when a change comes. */
async function goLive(watcher: AnyWatcher): Promise<void> {
  if (watcher.wait) {
    // A pull source: next() answers at once; a symbol means "nothing now".
    while (typeof watcher.next() !== "symbol");
    watcher.wait(() => {});
  } else {
    await watcher.next(); // the snapshot
    void watcher.next(); // waits, live, for the first change
  }
}

async function round(): Promise<{ touched: number; usPerChange: number }> {
  const registry = new Registry();
  for (let g = 0; g < GROUPS; g++) registry.registerGroup({ group: groupName(g) });
  const hub: AnyHub = new WatchHub(registry, {
    ...DEFAULT_WATCH_OPTIONS,
    budgetMessages: BUDGET,
    maxWatchers: WATCHERS,
    maxWatchersPerConnection: WATCHERS,
  });
  for (let w = 0; w < WATCHERS; w++) {
    const group = groupName(w % GROUPS);
    const request = { group, identifier: "", includeDetails: false, includeReports: false, includeRegistrations: false };
    await goLive(hub.watch(request, "bench"));
  }
  const offersBefore = hub.offers;
  const start = performance.now();
  for (let k = 0; k < CHANGES; k++) {
    // Each group's status flips on each of its turns, so every write is a status change.
    const status = Math.floor(k / GROUPS) % 2 === 0 ? -1 : 1;
    registry.setStatus({ group: groupName(k % GROUPS), identifier: "main", status });
  }
  const elapsed = performance.now() - start;
  const touched = offersBefore === undefined ? hub.watcherCount : ((hub.offers as number) - offersBefore) / CHANGES;
  hub.close();
  return { touched, usPerChange: (elapsed * 1000) / CHANGES };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

process.stdout.write(`hub of ${tree}\n${GROUPS} groups, ${WATCHERS} watchers (${WATCHERS / GROUPS} a group), ${CHANGES} changes a round\n`);
const results: { touched: number; usPerChange: number }[] = [];
for (let r = 0; r < ROUNDS; r++) {
  const result = await round();
  results.push(result);
  process.stdout.write(`round ${r + 1}: ${result.touched.toFixed(1)} watchers touched per change, ${result.usPerChange.toFixed(2)} µs per change\n`);
}
process.stdout.write(
  `median: ${median(results.map((x) => x.touched)).toFixed(1)} watchers touched per change, ${median(results.map((x) => x.usPerChange)).toFixed(2)} µs per change\n`,
);
