/**
 * The hub against a simple model, over random interleavings of writes,
 * watchers opening (with a snapshot or from a start_revision), reading some
 * of their events, stalling, draining and closing. The model keeps the whole
 * change log and says, for every read, exactly which event comes next: a
 * snapshot (a resync once over the budget), the next matching change of the
 * log while catching up, or the queued live changes. Fixed seed and run count.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { SrError } from "../../../src/domain/errors.js";
import { foldName } from "../../../src/domain/names.js";
import type { Change } from "../../../src/domain/registry/registry.js";
import type { Watcher, WatchEvent, WatcherState } from "../../../src/domain/watch/watcher.js";
import { ENDED, IDLE, type Pulled } from "../../../src/domain/watch/source.js";
import { hubOf, request } from "./setup.js";

const HISTORY = 6;
const BUDGET = 3;

const group = fc.constantFrom("a", "A", "b");
const ident = fc.constantFrom("main", "x", "X");
const selection = fc.oneof(
  fc.constant({ group: "", identifier: "" }),
  group.map((g) => ({ group: g, identifier: "" })),
  fc.tuple(group, ident).map(([g, i]) => ({ group: g, identifier: i })),
);

type Command =
  | { op: "registerGroup"; group: string }
  | { op: "unregisterGroup"; group: string }
  | { op: "registerIdentifier"; group: string; identifier: string }
  | { op: "unregisterIdentifier"; group: string; identifier: string }
  | { op: "setStatus"; group: string; identifier: string; status: number; details: string | undefined }
  | { op: "addReport"; group: string; identifier: string }
  | { op: "open"; group: string; identifier: string; full: boolean; back: number | undefined }
  | { op: "read"; watcher: number; count: number }
  | { op: "close"; watcher: number }
  | { op: "drainAll" };

const command: fc.Arbitrary<Command> = fc.oneof(
  { weight: 2, arbitrary: fc.record({ op: fc.constant("registerGroup" as const), group }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("unregisterGroup" as const), group }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant("registerIdentifier" as const), group, identifier: ident }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("unregisterIdentifier" as const), group, identifier: ident }) },
  {
    weight: 8,
    arbitrary: fc.record({
      op: fc.constant("setStatus" as const),
      group,
      identifier: ident,
      status: fc.constantFrom(-1, 1, 2),
      details: fc.constantFrom(undefined, "d"),
    }),
  },
  { weight: 2, arbitrary: fc.record({ op: fc.constant("addReport" as const), group, identifier: ident }) },
  {
    weight: 3,
    arbitrary: fc
      .record({ full: fc.boolean(), back: fc.option(fc.integer({ min: -1, max: HISTORY + 2 }), { nil: undefined }), selection })
      .map(({ full, back, selection }) => ({ op: "open" as const, full, back, ...selection })),
  },
  { weight: 6, arbitrary: fc.record({ op: fc.constant("read" as const), watcher: fc.nat(9), count: fc.integer({ min: 1, max: 4 }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("close" as const), watcher: fc.nat(9) }) },
  { weight: 1, arbitrary: fc.constant({ op: "drainAll" as const }) },
);

interface Keys {
  group: string;
  identifier: string;
  full: boolean;
}

/** Written from docs/watch.md, apart from the hub's own filter. */
function sends(keys: Keys, c: Change): boolean {
  if (keys.group && foldName(keys.group) !== c.groupKey) return false;
  if (keys.identifier && foldName(keys.identifier) !== c.identifierKey && c.identifierKey !== "") return false;
  return c.kind === "status" ? c.statusChanged || keys.full : keys.full;
}

type ModelState =
  | { name: "snapshot"; expected: Extract<WatchEvent, { kind: "snapshot" }> }
  | { name: "catching_up"; cursor: number }
  | { name: "live"; queue: Change[] }
  | { name: "over_budget" }
  | { name: "closed" };

interface ModelWatcher {
  keys: Keys;
  state: ModelState;
  draining: boolean;
  real: Watcher;
  /** Every event read, for the end-to-end check. */
  seen: WatchEvent[];
}

async function run(commands: Command[]): Promise<void> {
  const { registry, hub } = hubOf({ history: HISTORY, budgetMessages: BUDGET, budgetBytes: 1 << 30 });
  const base = registry.revision;
  const log = new Map<number, Change>();
  const watchers: ModelWatcher[] = [];
  const retained = (r: number) => r > Math.max(registry.revision - Math.max(HISTORY, BUDGET), base);

  const snapshotOf = (keys: Keys, resync: boolean): Extract<WatchEvent, { kind: "snapshot" }> => {
    const identifiers = registry.snapshot({ group: keys.group, identifier: keys.identifier });
    const reports = new Map<string, { group: string; identifiers: { identifier: string; capacity: number; reports: unknown[] }[] }>();
    if (keys.full) {
      for (const v of identifiers) {
        const entry = reports.get(v.group) ?? { group: v.group, identifiers: [] };
        reports.set(v.group, entry);
        entry.identifiers.push({ identifier: v.identifier, ...registry.reportsOf(v.group, v.identifier) });
      }
    }
    return { kind: "snapshot", revision: registry.revision, identifiers, reports: [...reports.values()] as never, resync, last: true };
  };

  // The model's half of a write: offer the change to the live watchers that send it.
  let expectedOffers = 0;
  registry.onChange((c) => {
    log.set(c.revision, c);
    expectedOffers += watchers.filter((w) => w.state.name === "live" && (w.keys.group === "" || foldName(w.keys.group) === c.groupKey)).length;
    for (const w of watchers) {
      if (w.state.name !== "live" || !sends(w.keys, c)) continue;
      if (w.state.queue.length + 1 > BUDGET) w.state = { name: "over_budget" };
      else w.state.queue.push(c);
    }
  });

  /** What the model says the next read answers. */
  const modelNext = (w: ModelWatcher): Pulled<WatchEvent> => {
    for (;;) {
      const s = w.state;
      switch (s.name) {
        case "closed":
          return ENDED;
        case "over_budget":
          w.state = { name: "snapshot", expected: snapshotOf(w.keys, true) };
          continue;
        case "snapshot":
          w.state = { name: "catching_up", cursor: s.expected.revision };
          return s.expected;
        case "catching_up": {
          for (let r = s.cursor + 1; r <= registry.revision; r++) {
            if (!retained(r)) {
              w.state = { name: "over_budget" };
              break;
            }
            s.cursor = r;
            const c = log.get(r) as Change;
            if (sends(w.keys, c)) {
              if (r === registry.revision) w.state = { name: "live", queue: [] };
              return { kind: "change", revision: r, change: c };
            }
          }
          if (w.state === s) w.state = { name: "live", queue: [] };
          continue;
        }
        case "live": {
          const c = s.queue.shift();
          if (c) return { kind: "change", revision: c.revision, change: c };
          return w.draining ? ENDED : IDLE;
        }
      }
    }
  };

  const read = (w: ModelWatcher, count: number) => {
    for (let i = 0; i < count; i++) {
      const expected = modelNext(w);
      const actual = w.real.next();
      if (expected === ENDED || expected === IDLE) {
        expect(actual).toBe(expected);
        return;
      }
      if (expected.kind === "change" && actual !== IDLE && actual !== ENDED && actual.kind === "change") {
        expect(actual.change).toBe(expected.change);
      }
      expect(actual).toEqual(expected);
      w.seen.push(expected);
    }
  };

  const pick = (n: number) => {
    const open = watchers.filter((w) => w.state.name !== "closed");
    return open[n % Math.max(1, open.length)];
  };
  // Something to change from the start; these first changes are in the log like any other.
  for (const g of ["a", "b"]) {
    registry.registerGroup({ group: g });
    registry.registerIdentifier({ group: g, identifier: "x" });
  }

  for (const c of commands) {
    const before = hub.offers;
    expectedOffers = 0;
    try {
      switch (c.op) {
        case "open": {
          const keys = { group: c.group, identifier: c.identifier, full: c.full };
          const startRevision = c.back === undefined ? undefined : registry.revision - c.back;
          const oldest = Math.max(base, registry.revision - HISTORY);
          let real: Watcher;
          try {
            real = hub.watch(
              request({ ...keys, startRevision, includeDetails: c.full, includeReports: c.full, includeRegistrations: c.full }),
              "peer",
            );
          } catch (error) {
            const reason = (error as SrError).reason;
            if (startRevision !== undefined && startRevision > registry.revision) expect(reason).toBe("REVISION_AHEAD");
            else if (startRevision !== undefined && startRevision < oldest) expect(reason).toBe("HISTORY_COMPACTED");
            else throw error;
            break;
          }
          expect(startRevision === undefined || (startRevision >= oldest && startRevision <= registry.revision)).toBe(true);
          const state: ModelState =
            startRevision === undefined ? { name: "snapshot", expected: snapshotOf(keys, false) } : { name: "catching_up", cursor: startRevision };
          watchers.push({ keys, state, draining: false, real, seen: [] });
          break;
        }
        case "read": {
          const w = pick(c.watcher);
          if (w) read(w, c.count);
          break;
        }
        case "close": {
          const w = pick(c.watcher);
          if (w) {
            w.real.close();
            w.state = { name: "closed" };
          }
          break;
        }
        case "drainAll":
          hub.drainAll();
          for (const w of watchers) w.draining = true;
          break;
        default:
          write(registry, c);
      }
    } catch (error) {
      if (!(error instanceof SrError)) throw error;
    }
    // A change is offered to the live watchers of its group and of everything, and to no other.
    expect(hub.offers - before).toBe(expectedOffers);
    for (const w of watchers) {
      expect(w.real.state).toBe(w.state.name satisfies WatcherState);
      if (w.state.name === "live") expect(w.real.pending).toBe(w.state.queue.length);
    }
  }

  // Read everything; then, apart from the model: after its last snapshot (or start) each
  // watcher received exactly the matching changes of the log, in order, none twice.
  for (const w of watchers) {
    if (w.state.name === "closed") continue;
    read(w, Number.MAX_SAFE_INTEGER);
    const lastSnapshot = w.seen.findLastIndex((e) => e.kind === "snapshot");
    if (lastSnapshot < 0) continue; // started from a revision: the model alone checks it
    const from = (w.seen[lastSnapshot] as WatchEvent).revision;
    const after = w.seen.slice(lastSnapshot + 1).map((e) => e.revision);
    const expected = [...log.values()].filter((c) => c.revision > from && sends(w.keys, c)).map((c) => c.revision);
    expect(after).toEqual(expected);
  }
  hub.close();
  expect(hub.watcherCount).toBe(0);
}

function write(registry: ReturnType<typeof hubOf>["registry"], c: Exclude<Command, { op: "open" | "read" | "close" | "drainAll" }>): void {
  switch (c.op) {
    case "registerGroup":
      registry.registerGroup({ group: c.group });
      return;
    case "unregisterGroup":
      registry.unregisterGroup(c);
      return;
    case "registerIdentifier":
      registry.registerIdentifier(c);
      return;
    case "unregisterIdentifier":
      registry.unregisterIdentifier(c);
      return;
    case "setStatus":
      registry.setStatus(c);
      return;
    case "addReport":
      registry.addReport({ group: c.group, identifier: c.identifier, text: "r" });
      return;
  }
}

describe("WatchHub against a model", () => {
  it("sends exactly what the model says: snapshots, history, live changes, overflow and resync", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(command, { minLength: 20, maxLength: 100, size: "max" }), (commands) => run(commands)),
      { seed: 20261127, numRuns: 300, endOnFailure: true },
    );
  });
});
