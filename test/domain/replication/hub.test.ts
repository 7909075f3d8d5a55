/**
 * The watch hub of a replica (docs/watch.md): a resume above this replica's
 * revision waits for it (REVISION_AHEAD when the cluster is not there either,
 * REPLICA_BEHIND after 5 s), and the replica's own `core` reaches its live
 * watchers but never the history a resume replays.
 */
import { describe, expect, it } from "vitest";
import { CORE_GROUP, coreInitializing, coreRunning, coreStorageLost, createCore } from "../../../src/domain/core.js";
import { SrError } from "../../../src/domain/errors.js";
import { DEFAULT_WATCH_OPTIONS, REPLICA_BEHIND_MS, WatchHub } from "../../../src/domain/watch/hub.js";
import type { WatchEvent } from "../../../src/domain/watch/watcher.js";
import { rejection } from "../../helpers/errors.js";
import { type Node, replicatedCluster, settle, until } from "../../helpers/memory-log.js";
import { drainNow, request } from "../watch/setup.js";

function withHubs(count: number) {
  const fixture = replicatedCluster(count);
  const hubs = fixture.nodes.map((node) => new WatchHub(node.registry, DEFAULT_WATCH_OPTIONS, fixture.clock, node.replica));
  return { ...fixture, hubs };
}

const changesIn = (events: WatchEvent[]) =>
  events.flatMap((e) => (e.kind === "change" ? [[e.change.group, e.change.kind, e.revision, e.change.local ?? false]] : []));

describe("a resume from a revision this replica has not applied", () => {
  it("waits for it, and the watch then resumes from it", async () => {
    const { nodes, hubs } = withHubs(2);
    const [a, b] = nodes as [Node, Node];
    const hubB = hubs[1] as WatchHub;
    b.replica.hold();
    await a.writes.registerGroup({ group: "g" });
    await a.writes.setStatus({ group: "g", identifier: "main", status: -1 });
    expect([b.registry.revision, hubB.needsWait(2), hubB.needsWait(0), hubB.needsWait(undefined)]).toEqual([0, true, false, false]);

    let resolved = false;
    const wait = hubB.awaitStart(1).then(() => (resolved = true));
    await settle();
    expect(resolved).toBe(false);
    b.replica.release();
    await wait;
    const watcher = hubB.watch(request({ startRevision: 1 }), "peer");
    expect(changesIn(drainNow(watcher).events)).toEqual([["g", "status", 2, false]]);
  });

  it("REVISION_AHEAD when the cluster has not reached it either", async () => {
    const { nodes, hubs } = withHubs(2);
    await (nodes[0] as Node).writes.registerGroup({ group: "g" });
    await until(() => (nodes[1] as Node).registry.revision === 1, "B applied it");
    const error = (await rejection(hubs[1]!.awaitStart(2))) as SrError;
    expect([error.reason, error.facts]).toEqual(["REVISION_AHEAD", expect.objectContaining({ field: "start_revision" })]);
  });

  it(`REPLICA_BEHIND when this replica does not apply it within ${REPLICA_BEHIND_MS} ms`, async () => {
    const { clock, nodes, hubs } = withHubs(2);
    const [a, b] = nodes as [Node, Node];
    b.replica.hold();
    await a.writes.registerGroup({ group: "g" });
    let error: SrError | undefined;
    const wait = hubs[1]!.awaitStart(1).catch((e: SrError) => (error = e));
    await until(() => b.replica.waiting === 1, "the resume waits");
    clock.advance(REPLICA_BEHIND_MS - 1);
    await settle();
    expect(error).toBeUndefined();
    clock.advance(1);
    await wait;
    expect([error?.reason, error?.facts]).toEqual(["REPLICA_BEHIND", { field: "start_revision" }]);
    expect(error?.message).toMatch(/cluster \(at revision 1\).*applied only up to 0/);
  });

  it("STORAGE_UNAVAILABLE when the cluster's revision cannot be read", async () => {
    const { cluster, nodes, hubs } = withHubs(2);
    (nodes[1] as Node).replica.hold();
    await (nodes[0] as Node).writes.registerGroup({ group: "g" });
    cluster.lose("quorum lost");
    expect(((await rejection(hubs[1]!.awaitStart(1))) as SrError).reason).toBe("STORAGE_UNAVAILABLE");
  });

  it("needs no wait on the replica that is there already", async () => {
    const { nodes, hubs } = withHubs(1);
    await (nodes[0] as Node).writes.registerGroup({ group: "g" });
    expect(hubs[0]!.needsWait(1)).toBe(false);
    await hubs[0]!.awaitStart(1);
  });
});

describe("the replica's own core", () => {
  it("reaches live watchers with the last applied revision, is not replayed by a resume, and never reaches other replicas", async () => {
    const { nodes, hubs } = withHubs(2);
    const [a, b] = nodes as [Node, Node];
    const [hubA, hubB] = hubs as [WatchHub, WatchHub];
    createCore(a.registry);
    coreInitializing(a.registry);
    await a.writes.registerGroup({ group: "g" });
    const live = hubA.watch(request({ includeRegistrations: true, includeReports: true }), "peer");
    drainNow(live);

    coreRunning(a.registry);
    await a.writes.setStatus({ group: "g", identifier: "main", status: -1 });
    coreStorageLost(a.registry, "quorum lost");
    expect(a.registry.revision).toBe(2);
    expect(changesIn(drainNow(live).events)).toEqual([
      [CORE_GROUP, "status", 1, true],
      [CORE_GROUP, "report", 1, true],
      ["g", "status", 2, false],
      [CORE_GROUP, "status", 2, true],
      [CORE_GROUP, "report", 2, true],
    ]);

    // A resume from 0 replays the cluster's changes only, on this replica and on another.
    const resumedA = hubA.watch(request({ startRevision: 0, includeRegistrations: true, includeReports: true }), "peer");
    expect(changesIn(drainNow(resumedA).events)).toEqual([
      ["g", "registered", 1, false],
      ["g", "status", 2, false],
    ]);
    await until(() => b.registry.revision === 2, "B applied both");
    const resumedB = hubB.watch(request({ startRevision: 0, includeRegistrations: true, includeReports: true }), "peer");
    expect(changesIn(drainNow(resumedB).events)).toEqual([
      ["g", "registered", 1, false],
      ["g", "status", 2, false],
    ]);
    expect(b.changes.some((c) => c.group === CORE_GROUP)).toBe(false);
    expect(b.registry.isInternal(CORE_GROUP)).toBeUndefined();
    // A's core says what it was told; the shared state is the same on both.
    expect(a.registry.getStatus({ group: CORE_GROUP, identifier: "main" }).status).toMatchObject({ status: -1, details: "storage unavailable: quorum lost" });
  });

  it("a watcher opened after a core change at the same revision sees it in its snapshot (no snapshot of before is reused)", async () => {
    const { nodes, hubs } = withHubs(1);
    const [a] = nodes as [Node];
    const hub = hubs[0] as WatchHub;
    createCore(a.registry);
    coreRunning(a.registry);
    const coreOf = (events: WatchEvent[]) => events.flatMap((e) => (e.kind === "snapshot" ? e.identifiers.filter((v) => v.group === CORE_GROUP) : []));
    const first = hub.watch(request({ group: CORE_GROUP }), "peer");
    expect(coreOf(drainNow(first).events).map((v) => v.status)).toEqual([1]);
    coreStorageLost(a.registry, "quorum lost");
    expect(a.registry.revision).toBe(0);
    const second = hub.watch(request({ group: CORE_GROUP }), "peer");
    expect(coreOf(drainNow(second).events).map((v) => [v.status, v.details])).toEqual([[-1, "storage unavailable: quorum lost"]]);
  });

  it("a core change made while a watcher is still on its snapshot or catching up reaches it once live, at a revision not behind what it had", async () => {
    const { nodes, hubs } = withHubs(1);
    const [a] = nodes as [Node];
    const hub = hubs[0] as WatchHub;
    createCore(a.registry);
    coreRunning(a.registry);
    await a.writes.registerGroup({ group: "g" });
    await a.writes.setStatus({ group: "g", identifier: "main", status: 2 });
    // A resume from 0: two changes to catch up on. Read one, then core changes, then read on.
    const resumed = hub.watch(request({ startRevision: 0, includeRegistrations: true, includeReports: true }), "peer");
    const firstEvent = resumed.next() as WatchEvent;
    expect(firstEvent.kind === "change" && firstEvent.change.group).toBe("g");
    coreStorageLost(a.registry, "quorum lost");
    const rest = changesIn(drainNow(resumed).events);
    expect(rest).toEqual([
      ["g", "status", 2, false],
      [CORE_GROUP, "status", 2, true],
      [CORE_GROUP, "report", 2, true],
    ]);
    // Once live, the next one comes as any live change does, once.
    coreRunning(a.registry);
    expect(changesIn(drainNow(resumed).events)).toEqual([
      [CORE_GROUP, "status", 2, true],
      [CORE_GROUP, "report", 2, true],
    ]);
  });
});
