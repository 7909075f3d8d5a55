import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { SrClient, type WatchStatusResponse } from "../../../clients/ts/index.js";
import { SrError } from "../../../src/domain/errors.js";
import { foldName } from "../../../src/domain/names.js";
import type { Change } from "../../../src/domain/registry/registry.js";
import { type TestServer, startServer } from "../../helpers/server.js";
import { waitFor } from "../../helpers/wait.js";

/**
 * Random interleavings of writes with watchers of every filter connecting,
 * disconnecting and resuming. A watcher with every include_* option must
 * rebuild exactly the registry's state for its filter; a default watcher must
 * receive exactly the status-value changes matching its filter; all in
 * revision order, none twice. Fixed seed and run count: repeatable in CI.
 */

const GROUPS = ["a", "B", "c"];
const IDS = ["main", "x", "Y"];
const group = fc.constantFrom(...GROUPS, "A", "b");
const ident = fc.constantFrom(...IDS, "X", "MAIN");
const statusValue = fc.constantFrom(-2, -1, 1, 2);
const details = fc.constantFrom(undefined, "", "d1", "d2");

interface Filter {
  group: string;
  identifier: string;
}
const filter: fc.Arbitrary<Filter> = fc.oneof(
  fc.constant({ group: "", identifier: "" }),
  group.map((g) => ({ group: g, identifier: "" })),
  fc.tuple(group, ident).map(([g, i]) => ({ group: g, identifier: i })),
);

type Command =
  | { op: "registerGroup"; group: string; status: number; details: string | undefined; capacity: number }
  | { op: "unregisterGroup"; group: string }
  | { op: "registerIdentifier"; group: string; identifier: string; capacity: number }
  | { op: "unregisterIdentifier"; group: string; identifier: string }
  | { op: "setStatus"; group: string; identifier: string; status: number; details: string | undefined }
  | { op: "addReport"; group: string; identifier: string; text: string }
  | { op: "watch"; full: boolean; filter: Filter }
  | { op: "disconnect"; watcher: number }
  | { op: "resume"; watcher: number }
  | { op: "resumeAt"; watcher: number; back: number }
  | { op: "pause" };

const command: fc.Arbitrary<Command> = fc.oneof(
  { weight: 2, arbitrary: fc.record({ op: fc.constant("registerGroup" as const), group, status: statusValue, details, capacity: fc.constantFrom(0, 2, 5) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("unregisterGroup" as const), group }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant("registerIdentifier" as const), group, identifier: ident, capacity: fc.constantFrom(0, 2, 5) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("unregisterIdentifier" as const), group, identifier: ident }) },
  { weight: 6, arbitrary: fc.record({ op: fc.constant("setStatus" as const), group, identifier: ident, status: statusValue, details }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant("addReport" as const), group, identifier: ident, text: fc.constantFrom("r1", "r2", "") }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant("watch" as const), full: fc.boolean(), filter }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("disconnect" as const), watcher: fc.nat(7) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("resume" as const), watcher: fc.nat(7) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("resumeAt" as const), watcher: fc.nat(7), back: fc.nat(30) }) },
  { weight: 2, arbitrary: fc.constant({ op: "pause" as const }) },
);

function matches(f: Filter, full: boolean, c: Change): boolean {
  if (f.group && foldName(f.group) !== c.groupKey) return false;
  if (f.identifier && foldName(f.identifier) !== c.identifierKey && c.identifierKey !== "") return false;
  if (c.kind === "status") return c.statusChanged || full;
  return full;
}

/** One watcher across its sessions (a disconnect and a resume continue it). */
interface Watcher {
  filter: Filter;
  full: boolean;
  events: WatchStatusResponse[];
  /** Revision of the initial snapshot (when it started with one). */
  from: number;
  /** For a default watcher resumed at a random revision: where it restarted. */
  restartedAt?: number;
  session?: { stop: AbortController; done: Promise<void> };
  failure?: unknown;
}

function lastRevision(w: Watcher): number {
  const last = w.events[w.events.length - 1];
  return last ? Number(last.revision) : w.from;
}

function connect(client: SrClient, w: Watcher, startRevision?: number): void {
  const stop = new AbortController();
  const request = {
    ...w.filter,
    startRevision,
    includeDetails: w.full,
    includeReports: w.full,
    includeRegistrations: w.full,
  };
  const done = (async () => {
    try {
      for await (const e of client.watch(request, { signal: stop.signal, resume: false })) w.events.push(e);
    } catch (error) {
      w.failure = error;
    }
  })();
  w.session = { stop, done };
}

async function disconnect(w: Watcher): Promise<void> {
  if (!w.session) return;
  w.session.stop.abort();
  await w.session.done;
  w.session = undefined;
}

interface Model {
  identifiers: Map<string, { group: string; identifier: string; status: number; details: string | undefined; reports: string[] }>;
}

/** Rebuilds the watched state from a full watcher's snapshot and events. */
function rebuild(w: Watcher, capacityOf: (g: string, i: string) => number): Model {
  const model: Model = { identifiers: new Map() };
  const key = (g: string, i: string) => `${foldName(g)}/${foldName(i)}`;
  for (const e of w.events) {
    const ev = e.event;
    if (!ev) continue;
    switch (ev.$case) {
      case "snapshot":
        for (const s of ev.value.identifiers) {
          model.identifiers.set(key(s.group, s.identifier), { group: s.group, identifier: s.identifier, status: s.status, details: s.details, reports: [] });
        }
        for (const g of ev.value.reports) {
          for (const i of g.identifiers) {
            model.identifiers.get(key(g.group, i.identifier))?.reports.push(...i.reports.map((r) => r.text));
          }
        }
        break;
      case "registered":
        model.identifiers.set(key(ev.value.group, ev.value.identifier), {
          group: ev.value.group,
          identifier: ev.value.identifier,
          status: ev.value.status,
          details: ev.value.details,
          reports: [],
        });
        break;
      case "unregistered":
        for (const k of [...model.identifiers.keys()]) {
          const [g, i] = k.split("/");
          if (g === foldName(ev.value.group) && (ev.value.identifier === "" || i === foldName(ev.value.identifier))) model.identifiers.delete(k);
        }
        break;
      case "statusChanged": {
        const m = model.identifiers.get(key(ev.value.group, ev.value.identifier));
        if (!m) throw new Error(`status change for an identifier never seen: ${ev.value.group}/${ev.value.identifier}`);
        m.status = ev.value.status;
        m.details = ev.value.details;
        break;
      }
      case "reportAdded": {
        const m = model.identifiers.get(key(ev.value.group, ev.value.identifier));
        if (!m) throw new Error(`report for an identifier never seen: ${ev.value.group}/${ev.value.identifier}`);
        m.reports.push(ev.value.report?.text ?? "");
        const capacity = capacityOf(ev.value.group, ev.value.identifier);
        if (m.reports.length > capacity) m.reports.splice(0, m.reports.length - capacity);
        break;
      }
      case "progress":
        break;
    }
  }
  return model;
}

async function run(commands: Command[]): Promise<void> {
  const srv: TestServer = await startServer();
  const client = new SrClient(srv.address);
  const log: Change[] = [];
  const unsubscribe = srv.registry.onChange((c) => log.push(c));
  const watchers: Watcher[] = [];
  try {
    for (const c of commands) {
      try {
        switch (c.op) {
          case "registerGroup":
            srv.registry.registerGroup({ group: c.group, status: c.status, details: c.details, reportCapacity: c.capacity });
            break;
          case "unregisterGroup":
            srv.registry.unregisterGroup(c);
            break;
          case "registerIdentifier":
            srv.registry.registerIdentifier({ group: c.group, identifier: c.identifier, reportCapacity: c.capacity });
            break;
          case "unregisterIdentifier":
            srv.registry.unregisterIdentifier(c);
            break;
          case "setStatus":
            srv.registry.setStatus(c);
            break;
          case "addReport":
            srv.registry.addReport(c);
            break;
          case "watch": {
            const w: Watcher = { filter: c.filter, full: c.full, events: [], from: 0 };
            connect(client, w);
            await waitFor(
              () => w.events.some((e) => e.event?.$case === "snapshot" && e.event.value.last) || w.failure !== undefined,
              10_000,
              "the snapshot",
            );
            w.from = Number(w.events[0]?.revision);
            watchers.push(w);
            break;
          }
          case "disconnect": {
            const w = watchers[c.watcher % Math.max(watchers.length, 1)];
            if (w) await disconnect(w);
            break;
          }
          case "resume": {
            const w = watchers[c.watcher % Math.max(watchers.length, 1)];
            if (w && !w.session) connect(client, w, lastRevision(w));
            break;
          }
          case "resumeAt": {
            // Default watchers only: restart from an earlier revision and expect exactly what follows it.
            const w = watchers[c.watcher % Math.max(watchers.length, 1)];
            if (!w || w.full) break;
            await disconnect(w);
            const at = Math.max(w.from, lastRevision(w) - c.back);
            w.events = w.events.filter((e) => Number(e.revision) <= at);
            w.restartedAt = at;
            connect(client, w, at);
            break;
          }
          case "pause":
            await new Promise((r) => setImmediate(r));
            break;
        }
      } catch (error) {
        if (!(error instanceof SrError)) throw error;
      }
    }
    const head = srv.registry.revision;
    for (const w of watchers) {
      if (!w.session) connect(client, w, lastRevision(w));
      const expected = log.filter((c) => c.revision > w.from && matches(w.filter, w.full, c));
      const target = expected.length ? (expected[expected.length - 1] as Change).revision : w.from;
      await waitFor(
        () => lastRevision(w) >= target || w.failure !== undefined,
        10_000,
        () => `watcher ${JSON.stringify(w.filter)} full=${w.full} at ${lastRevision(w)} of ${target} (head ${head})`,
      );
      await disconnect(w);
      expect(w.failure).toBeUndefined();

      const changes = w.events.filter((e) => e.event?.$case !== "snapshot" && e.event?.$case !== "progress");
      const revisions = changes.map((e) => Number(e.revision));
      // Revision order, none twice.
      expect(revisions).toEqual([...new Set(revisions)].sort((a, b) => a - b));
      // Exactly the matching changes after the snapshot, no more, no fewer.
      expect(revisions).toEqual(expected.map((c) => c.revision));
      if (!w.full) {
        expect(changes.map((e) => (e.event?.$case === "statusChanged" ? e.event.value.status : "not a status change"))).toEqual(
          expected.map((c) => (c.kind === "status" ? c.status : "?")),
        );
      } else {
        const model = rebuild(w, (g, i) => srv.registry.reportsOf(g, i).capacity);
        const truth = srv.registry.snapshot({ group: w.filter.group, identifier: w.filter.identifier });
        expect(
          [...model.identifiers.values()].map((m) => [m.group, m.identifier, m.status, m.details, m.reports]).sort(),
        ).toEqual(
          truth.map((v) => [v.group, v.identifier, v.status, v.details, srv.registry.reportsOf(v.group, v.identifier).reports.map((r) => r.text)]).sort(),
        );
      }
    }
    // Every cancelled stream freed its watcher on the server.
    await waitFor(() => srv.hub.watcherCount === 0, 10_000, () => `${srv.hub.watcherCount} watchers still open`);
  } finally {
    unsubscribe();
    for (const w of watchers) await disconnect(w);
    client.close();
    await srv.stop();
  }
}

describe("WatchStatus under random interleavings", () => {
  it("rebuilds the registry exactly and delivers exactly the matching status changes", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(command, { minLength: 10, maxLength: 80 }), (commands) => run(commands)),
      { seed: 20261126, numRuns: 100, endOnFailure: true },
    );
  }, 120_000);
});
