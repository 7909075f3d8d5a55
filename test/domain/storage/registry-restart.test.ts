/**
 * The registry over a durable storage, restarted in process: one set of rules
 * whatever keeps the changes. Every field comes back (groups, identifiers,
 * statuses, details, reports, leases, the revision, the registry id), leases
 * are re-armed for their full ttl on an injected clock, the watch history lets
 * a watcher resume across the restart, and `core` starts over with revisions
 * after the kept ones. Real SQLite files on /dev/shm, nothing mocked.
 */
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { CORE_GROUP, coreInitializing, coreRunning, coreShuttingDown, createCore } from "../../../src/domain/core.js";
import { type Change, Registry } from "../../../src/domain/registry/registry.js";
import { IN_MEMORY, type Storage } from "../../../src/domain/storage/storage.js";
import { DEFAULT_WATCH_OPTIONS, WatchHub } from "../../../src/domain/watch/hub.js";
import { openSqliteStorage } from "../../../src/storage/sqlite/sqlite-storage.js";
import { thrown } from "../../helpers/errors.js";
import { dataDir, removeDataDirs } from "../../storage/dirs.js";
import { FakeClock } from "../watch/fake-clock.js";
import { drainNow, request } from "../watch/setup.js";

const SECOND = 1_000;
const WALL_START = 1_700_000_000_000;
const open: Storage[] = [];

afterEach(() => {
  for (const storage of open.splice(0)) storage.close();
});
afterAll(removeDataDirs);

/** One run of the server's registry on `dir`: a fresh clock (the process starts over), a hub, core through its start. */
async function run(dir: string, options: { history?: number; core?: boolean } = {}) {
  const history = options.history ?? DEFAULT_WATCH_OPTIONS.history;
  const storage = await openSqliteStorage(dir, { history });
  open.push(storage);
  const clock = new FakeClock();
  const start = clock.now();
  const wall = () => WALL_START + 10_000_000 * open.length + (clock.now() - start);
  const registry = new Registry(undefined, wall, { clock, storage });
  const hub = new WatchHub(registry, { ...DEFAULT_WATCH_OPTIONS, history, budgetMessages: Math.min(history, 1_000) }, clock);
  const changes: Change[] = [];
  registry.onChange((change) => changes.push(change));
  if (options.core !== false) {
    createCore(registry);
    coreInitializing(registry);
    coreRunning(registry);
  }
  const stop = () => {
    registry.close();
    hub.close();
    storage.close();
  };
  return { storage, registry, hub, clock, wall, changes, stop };
}

/** What a reader sees of everything but the lease deadlines (which a restart re-arms). */
function everything(registry: Registry) {
  return {
    statuses: registry.snapshot({}).map(({ lease, ...view }) => ({ ...view, leaseTtlMs: lease?.ttlMs })),
    reports: registry.groupsInOrder().flatMap((g) => registry.identifiersInOrder(g).map((i) => [g.name, i.name, i.reports.capacity, registry.reportsOf(g.name, i.name).reports])),
    internal: registry.groupsInOrder().map((g) => [g.name, g.internal, g.revision, g.createTime]),
  };
}

describe("a restart restores every field", () => {
  it("groups, identifiers, statuses, details (none and empty apart), reports and their rings, removals, the revision and the registry id", async () => {
    const dir = dataDir();
    const first = await run(dir);
    const r = first.registry;
    r.registerGroup({ group: "Billing", status: -3, details: "starting", reportCapacity: 3 });
    r.registerIdentifier({ group: "billing", identifier: "DB", status: 2, reportCapacity: 2 });
    r.registerIdentifier({ group: "billing", identifier: "cache", details: "" });
    r.registerIdentifier({ group: "billing", identifier: "gone" });
    r.registerGroup({ group: "removed" });
    r.registerGroup({ group: "quiet", reportCapacity: 0 });
    for (let i = 1; i <= 5; i++) r.addReport({ group: "billing", identifier: "db", text: `report ${i}` });
    r.addReport({ group: "billing", identifier: "", text: "main's only report" });
    r.setStatus({ group: "billing", identifier: "cache", status: -7, details: "" });
    r.setStatus({ group: "billing", identifier: "main", status: 4 });
    r.unregisterIdentifier({ group: "billing", identifier: "gone" });
    r.unregisterGroup({ group: "removed" });
    const before = everything(r);
    const { revision, id } = r;
    first.stop();

    const second = await run(dir, { core: false });
    expect(second.registry.id).toBe(id);
    expect(second.registry.revision).toBe(revision);
    const after = everything(second.registry);
    expect(after).toEqual(before);
    // Spot checks of what a user would notice.
    expect(second.registry.getStatus({ group: "BILLING", identifier: "cache" }).status).toMatchObject({ status: -7, details: "" });
    expect(second.registry.getStatus({ group: "billing", identifier: "" }).status).toMatchObject({ status: 4, details: undefined });
    expect(second.registry.reportsOf("billing", "db").reports.map((x) => [x.sequence, x.text])).toEqual([
      [4, "report 4"],
      [5, "report 5"],
    ]);
    expect(thrown(() => second.registry.getStatus({ group: "removed", identifier: "" })).reason).toBe("GROUP_NOT_FOUND");
    expect(thrown(() => second.registry.getStatus({ group: "billing", identifier: "gone" })).reason).toBe("IDENTIFIER_NOT_FOUND");
    // Names are shown as first registered and still compare without case.
    expect(second.registry.groupsInOrder().map((g) => g.name)).toEqual(["Billing", "core", "quiet"]);

    // The rings go on where they were: sequences keep growing, capacity holds, capacity 0 still refuses.
    expect(second.registry.addReport({ group: "billing", identifier: "db", text: "report 6" })).toEqual({ sequence: 6, revision: revision + 1 });
    expect(second.registry.reportsOf("billing", "db").reports.map((x) => x.sequence)).toEqual([5, 6]);
    expect(thrown(() => second.registry.addReport({ group: "quiet", identifier: "", text: "x" })).reason).toBe("REPORTS_DISABLED");
    // Re-registration stays idempotent against the kept state.
    expect(second.registry.registerIdentifier({ group: "billing", identifier: "db", reportCapacity: 2 }).created).toBe(false);
    expect(thrown(() => second.registry.registerIdentifier({ group: "billing", identifier: "db", reportCapacity: 9 })).reason).toBe("CAPACITY_MISMATCH");
  });

  it("the in-memory default keeps nothing: a new registry starts empty with a new id", () => {
    const a = new Registry(undefined, Date.now, { storage: IN_MEMORY });
    a.registerGroup({ group: "x" });
    const b = new Registry(undefined, Date.now, { storage: IN_MEMORY });
    expect(b.revision).toBe(0);
    expect(b.groupsInOrder()).toEqual([]);
    expect(b.id).not.toBe(a.id);
  });
});

describe("core starts over with the process", () => {
  it("its kept state goes back to -100, then -1 and 1, each a change after the kept revisions, its reports kept", async () => {
    const dir = dataDir();
    const first = await run(dir);
    first.registry.registerGroup({ group: "app" });
    coreShuttingDown(first.registry);
    const kept = first.registry.revision;
    const coreReports = first.registry.reportsOf(CORE_GROUP, "main").reports.length;
    first.stop();

    const second = await run(dir);
    const coreChanges = second.changes.filter((c) => c.group === CORE_GROUP);
    expect(coreChanges.map((c) => [c.kind, c.kind === "status" ? c.status : c.kind === "report" ? c.report.text : ""])).toEqual([
      ["status", -100],
      ["status", -1],
      ["report", "initializing"],
      ["status", 1],
      ["report", "initialization completed, ready now"],
    ]);
    expect(coreChanges.map((c) => c.revision)).toEqual([kept + 1, kept + 2, kept + 3, kept + 4, kept + 5]);
    expect(second.registry.getStatus({ group: CORE_GROUP, identifier: "" }).status).toMatchObject({ status: 1, details: "running" });
    expect(second.registry.reportsOf(CORE_GROUP, "main").reports.length).toBe(Math.min(10, coreReports + 2));
    expect(second.registry.isInternal(CORE_GROUP)).toBe(true);
  });
});

describe("leases come back re-armed for their full ttl", () => {
  it("an armed lease runs out a full ttl after the restart (not earlier), with its remove_after; a refreshed ttl is the one kept", async () => {
    const dir = dataDir();
    const first = await run(dir);
    const r = first.registry;
    r.registerGroup({ group: "svc" });
    r.registerIdentifier({ group: "svc", identifier: "worker", ttlMs: 60 * SECOND, removeAfterMs: 30 * SECOND });
    r.registerIdentifier({ group: "svc", identifier: "refreshed", ttlMs: 60 * SECOND });
    // A new ttl without a change (no revision): kept all the same.
    const revision = r.revision;
    r.refreshLease({ group: "svc", identifier: "refreshed", ttlMs: 20 * SECOND });
    r.setStatus({ group: "svc", identifier: "worker", status: 1, ttlMs: 40 * SECOND });
    expect(r.revision).toBe(revision);
    first.clock.advance(19 * SECOND); // nearly run out before the crash: the restart re-arms in full
    first.stop();

    const second = await run(dir);
    const { registry, clock, wall } = second;
    expect(registry.scheduledLeases).toBe(2);
    expect(registry.getStatus({ group: "svc", identifier: "worker" }).status.lease).toEqual({ ttlMs: 40 * SECOND, expireTime: wall() + 40 * SECOND });
    expect(registry.getStatus({ group: "svc", identifier: "refreshed" }).status.lease?.ttlMs).toBe(20 * SECOND);

    clock.advance(20 * SECOND - 1);
    expect(registry.getStatus({ group: "svc", identifier: "refreshed" }).status.status).toBe(1);
    clock.advance(1);
    expect(registry.getStatus({ group: "svc", identifier: "refreshed" }).status).toMatchObject({ status: -1, details: "lease expired" });
    clock.advance(20 * SECOND - 1);
    expect(registry.getStatus({ group: "svc", identifier: "worker" }).status.status).toBe(1);
    clock.advance(1);
    expect(registry.getStatus({ group: "svc", identifier: "worker" }).status).toMatchObject({ status: -1, details: "lease expired" });
    // Its removal is still due remove_after later.
    clock.advance(30 * SECOND);
    expect(thrown(() => registry.getStatus({ group: "svc", identifier: "worker" })).reason).toBe("IDENTIFIER_NOT_FOUND");
  });

  it("a lease that ran out stays run out; its removal waits a full remove_after from the restart; a disarmed lease stays disarmed", async () => {
    const dir = dataDir();
    const first = await run(dir);
    const r = first.registry;
    r.registerGroup({ group: "svc" });
    r.registerIdentifier({ group: "svc", identifier: "dead", ttlMs: 10 * SECOND, removeAfterMs: 60 * SECOND });
    r.registerIdentifier({ group: "svc", identifier: "disarmed", ttlMs: 10 * SECOND });
    r.setStatus({ group: "svc", identifier: "disarmed", status: 1, ttlMs: 0 });
    first.clock.advance(10 * SECOND);
    expect(r.getStatus({ group: "svc", identifier: "dead" }).status.status).toBe(-1);
    first.clock.advance(50 * SECOND); // 10 s before its removal
    first.stop();

    const second = await run(dir);
    const { registry, clock } = second;
    expect(registry.getStatus({ group: "svc", identifier: "dead" }).status).toMatchObject({ status: -1, details: "lease expired" });
    expect(registry.getStatus({ group: "svc", identifier: "dead" }).status.lease).toBeUndefined();
    expect(registry.getStatus({ group: "svc", identifier: "disarmed" }).status.lease).toBeUndefined();
    expect(registry.scheduledLeases).toBe(1);
    clock.advance(60 * SECOND - 1);
    expect(registry.getStatus({ group: "svc", identifier: "dead" }).status.status).toBe(-1);
    clock.advance(1);
    expect(thrown(() => registry.getStatus({ group: "svc", identifier: "dead" })).reason).toBe("IDENTIFIER_NOT_FOUND");
    expect(registry.getStatus({ group: "svc", identifier: "disarmed" }).status.status).toBe(1);
  });
});

describe("the watch history survives the restart", () => {
  it("a watcher resumes from a revision of the last run: every change after it, in order, with no gap and no resync", async () => {
    const dir = dataDir();
    const first = await run(dir);
    first.registry.registerGroup({ group: "app" });
    const resumeFrom = first.registry.revision;
    for (let i = 0; i < 5; i++) first.registry.setStatus({ group: "app", identifier: "", status: i % 2 ? 1 : -1, details: `step ${i}` });
    first.registry.addReport({ group: "app", identifier: "", text: "before the crash" });
    const lastRun = first.changes.filter((c) => c.revision > resumeFrom).map((c) => c.revision);
    first.stop();

    const second = await run(dir);
    second.registry.setStatus({ group: "app", identifier: "", status: 9 });
    const watcher = second.hub.watch(request({ startRevision: resumeFrom, includeDetails: true, includeReports: true, includeRegistrations: true }), "peer");
    const events = drainNow(watcher).events;
    const revisions = events.map((e) => (e as { revision: number }).revision);
    expect(events.every((e) => (e as { kind: string }).kind === "change")).toBe(true);
    const expected = [...lastRun, ...second.changes.map((c) => c.revision)];
    expect(revisions).toEqual(expected);
    expect(revisions).toEqual(Array.from({ length: revisions.length }, (_, i) => resumeFrom + 1 + i));
  });

  it("resuming from before the kept history is HISTORY_COMPACTED naming the oldest revision kept", async () => {
    const dir = dataDir();
    const first = await run(dir, { history: 20 });
    first.registry.registerGroup({ group: "app" });
    for (let i = 0; i < 40; i++) first.registry.setStatus({ group: "app", identifier: "", status: i % 2 ? 1 : -1 });
    const head = first.registry.revision;
    first.stop();

    const second = await run(dir, { history: 20, core: false });
    expect(second.hub.oldestResumable).toBe(head - 20);
    const error = thrown(() => second.hub.watch(request({ startRevision: head - 21 }), "peer"));
    expect(error.reason).toBe("HISTORY_COMPACTED");
    expect(error.facts.oldestRevision).toBe(head - 20);
    const watcher = second.hub.watch(request({ startRevision: head - 20 }), "peer");
    expect(drainNow(watcher).events.length).toBe(20);
  });
});

describe("a failed commit", () => {
  it("is never acknowledged or seen by a watcher, and the registry then refuses writes with STORAGE_UNAVAILABLE", async () => {
    const dir = dataDir();
    const { registry, storage, changes } = await run(dir);
    registry.registerGroup({ group: "app" });
    const heard = changes.length;
    storage.close(); // the engine gone under the registry
    expect(thrown(() => registry.setStatus({ group: "app", identifier: "", status: -1 })).reason).toBe("STORAGE_UNAVAILABLE");
    expect(changes.length).toBe(heard);
    expect(thrown(() => registry.registerGroup({ group: "other" })).reason).toBe("STORAGE_UNAVAILABLE");
    expect(thrown(() => registry.getStatus({ group: "other", identifier: "" })).reason).toBe("GROUP_NOT_FOUND");
    expect(changes.length).toBe(heard);
  });
});
