/**
 * Leases of a replicated registry on a fake clock (docs/storage.md, "Leases": each
 * lease expires once for the cluster): every replica arms a
 * committed lease and its timer may fire, but the expiry, and the removal
 * after `remove_after`, happen once; a refresh through any replica keeps it
 * alive everywhere; an expiry that cannot be committed is asked again later.
 */
import { describe, expect, it } from "vitest";
import type { Change } from "../../../src/domain/registry/registry.js";
import { type Node, replicatedCluster, settle, stateOf, until } from "../../helpers/memory-log.js";

const SECOND = 1_000;

/** What a watcher of the replica saw since `from`: [kind, identifier, status or text, revision]. */
const seen = (node: Node, from = 0) =>
  node.changes
    .slice(from)
    .filter((c) => !c.local)
    .map((c: Change) => [c.kind, c.identifier, c.kind === "status" ? c.status : c.kind === "report" ? c.report.text : c.group, c.revision]);

/** Lets the writers propose, commit and apply whatever the timers asked, until every replica is caught up and nothing moves. */
async function quiet(nodes: Node[]) {
  await settle();
  await until(() => nodes.every((n) => n.replica.behind === 0 && n.replica.waiting === 0), "every replica caught up");
  await settle();
}

const EXPIRED = (identifier: string, ttl: string, revision: number) => [
  ["status", identifier, -1, revision],
  ["report", identifier, `lease expired after ${ttl} without SetStatus or RefreshLease`, revision + 1],
];

describe("a lease armed through one replica", () => {
  it("expires exactly once for the cluster, though every replica's timer fires", async () => {
    const { clock, cluster, nodes } = replicatedCluster(3);
    const [a] = nodes as [Node, ...Node[]];
    await a.writes.registerGroup({ group: "g", ttlMs: 5 * SECOND });
    await quiet(nodes);
    for (const node of nodes) expect(node.registry.scheduledLeases).toBe(1);
    const from = nodes.map((n) => n.changes.length);

    clock.advance(5 * SECOND - 1);
    await quiet(nodes);
    for (const node of nodes) expect(node.registry.getStatus({ group: "g", identifier: "main" }).status.status).toBe(1);

    clock.advance(1);
    await quiet(nodes);
    nodes.forEach((node, i) => expect(seen(node, from[i])).toEqual(EXPIRED("main", "5 s", 2)));
    expect(cluster.changes().length).toBe(3);
    for (const node of nodes) {
      expect(node.registry.getStatus({ group: "g", identifier: "main" }).status).toMatchObject({ status: -1, details: "lease expired", ready: false });
      expect(node.registry.getStatus({ group: "g", identifier: "main" }).status.lease).toBeUndefined();
      expect(node.registry.scheduledLeases).toBe(0);
    }
    // And nothing more, ever.
    clock.advance(60 * SECOND);
    await quiet(nodes);
    expect(cluster.changes().length).toBe(3);
  });

  it("is counted as an expiry (sr_lease_expirations_total) by the cluster's replicas", async () => {
    const { clock, nodes } = replicatedCluster(2);
    const [a] = nodes as [Node, Node];
    await a.writes.registerGroup({ group: "g", ttlMs: 5 * SECOND });
    await quiet(nodes);
    clock.advance(5 * SECOND);
    await quiet(nodes);
    expect(nodes[0]?.registry.getStatus({ group: "g", identifier: "main" }).status.status).toBe(-1);
    // Every replica applied the one expiry: the metric must count it somewhere (on each replica, or on the one that proposed it).
    expect(nodes.reduce((sum, n) => sum + n.registry.leaseExpirations, 0)).toBeGreaterThanOrEqual(1);
  });

  it("is kept alive on every replica by a RefreshLease through another, and by a SetStatus that changes nothing", async () => {
    const { clock, cluster, nodes } = replicatedCluster(2);
    const [a, b] = nodes as [Node, Node];
    await a.writes.registerGroup({ group: "g", ttlMs: 5 * SECOND });
    await quiet(nodes);
    const commits = cluster.changes().length;

    clock.advance(4 * SECOND);
    expect(await b.writes.refreshLease({ group: "g", identifier: "main" })).toMatchObject({ revision: 1, lease: { ttlMs: 5 * SECOND } });
    await quiet(nodes);
    clock.advance(4 * SECOND); // 8 s: past the first deadline
    await quiet(nodes);
    clock.advance(SECOND - 1);
    await b.writes.setStatus({ group: "g", identifier: "main", status: 1 }); // changes nothing, restarts the lease
    await quiet(nodes);
    clock.advance(5 * SECOND - 1);
    await quiet(nodes);
    expect(cluster.changes().length).toBe(commits);
    for (const node of nodes) expect(node.registry.getStatus({ group: "g", identifier: "main" }).status.status).toBe(1);

    clock.advance(1);
    await quiet(nodes);
    for (const node of nodes) expect(seen(node).slice(-2)).toEqual(EXPIRED("main", "5 s", 2));
    expect(cluster.changes().length).toBe(commits + 2);
  });

  it("armed on a replica that applies it late waits its full ttl there (never early), and still expires once", async () => {
    const { clock, cluster, nodes } = replicatedCluster(2);
    const [a, b] = nodes as [Node, Node];
    b.replica.hold();
    await a.writes.registerGroup({ group: "g", ttlMs: 5 * SECOND });
    clock.advance(2 * SECOND);
    b.replica.release();
    expect(b.registry.getStatus({ group: "g", identifier: "main" }).status.lease?.ttlMs).toBe(5 * SECOND);
    clock.advance(3 * SECOND); // A's deadline
    await quiet(nodes);
    clock.advance(2 * SECOND); // B's
    await quiet(nodes);
    for (const node of nodes) expect(seen(node)).toEqual([["registered", "main", "g", 1], ...EXPIRED("main", "5 s", 2)]);
    expect(cluster.changes().length).toBe(3);
  });
});

describe("a lease ended through another replica", () => {
  it.each([
    ["a SetStatus with ttl 0", (n: Node) => n.writes.setStatus({ group: "g", identifier: "w", status: 2, ttlMs: 0 })],
    ["a RefreshLease with ttl 0", (n: Node) => n.writes.refreshLease({ group: "g", identifier: "w", ttlMs: 0 })],
    ["an UnregisterIdentifier", (n: Node) => n.writes.unregisterIdentifier({ group: "g", identifier: "w" })],
  ])("by %s never runs out on the replica that armed it", async (_name, end) => {
    const { clock, cluster, nodes } = replicatedCluster(2);
    const [a, b] = nodes as [Node, Node];
    await a.writes.registerGroup({ group: "g" });
    await a.writes.registerIdentifier({ group: "g", identifier: "w", ttlMs: 3 * SECOND });
    await quiet(nodes);
    clock.advance(SECOND);
    await end(b);
    await quiet(nodes);
    const commits = cluster.changes().length;
    for (const node of nodes) expect(node.registry.scheduledLeases).toBe(0);
    clock.advance(60 * SECOND);
    await quiet(nodes);
    expect(cluster.changes().length).toBe(commits);
    expect(stateOf(a.registry)).toEqual(stateOf(b.registry));
  });
});

describe("remove_after", () => {
  it("removes an identifier once, remove_after after it ran out", async () => {
    const { clock, cluster, nodes } = replicatedCluster(2);
    const [a, b] = nodes as [Node, Node];
    await a.writes.registerGroup({ group: "g" });
    await b.writes.registerIdentifier({ group: "g", identifier: "w", ttlMs: 2 * SECOND, removeAfterMs: 3 * SECOND });
    await quiet(nodes);
    clock.advance(2 * SECOND);
    await quiet(nodes);
    clock.advance(3 * SECOND - 1);
    await quiet(nodes);
    for (const node of nodes) expect(node.registry.getStatus({ group: "g", identifier: "w" }).status.status).toBe(-1);
    clock.advance(1);
    await quiet(nodes);
    for (const node of nodes) {
      expect(seen(node)).toEqual([["registered", "main", "g", 1], ["registered", "w", "g", 2], ...EXPIRED("w", "2 s", 3), ["unregistered", "w", "g", 5]]);
      expect(node.registry.totalIdentifiers).toBe(1);
      expect(node.registry.scheduledLeases).toBe(0);
    }
    clock.advance(60 * SECOND);
    await quiet(nodes);
    expect(cluster.changes().length).toBe(5);
  });

  it("of main removes the whole group once", async () => {
    const { clock, cluster, nodes } = replicatedCluster(2);
    const [a] = nodes as [Node, Node];
    await a.writes.registerGroup({ group: "g", ttlMs: SECOND, removeAfterMs: SECOND });
    await quiet(nodes);
    clock.advance(SECOND);
    await quiet(nodes);
    clock.advance(SECOND);
    await quiet(nodes);
    for (const node of nodes) {
      expect(seen(node).at(-1)).toEqual(["unregistered", "", "g", 4]);
      expect(node.registry.groupsInOrder().length).toBe(0);
    }
    expect(cluster.changes().map((c) => c.kind)).toEqual(["registered", "status", "report", "unregistered"]);
  });

  it("a removal decided on a stale state and then not needed (main re-armed elsewhere) leaves the group's other leases alone", async () => {
    const { clock, nodes } = replicatedCluster(2);
    const [a, b] = nodes as [Node, Node];
    await a.writes.registerGroup({ group: "g", ttlMs: SECOND, removeAfterMs: 5 * SECOND });
    await a.writes.registerIdentifier({ group: "g", identifier: "w", ttlMs: 60 * SECOND });
    await quiet(nodes);
    clock.advance(SECOND); // main runs out; its removal is due in 5 s
    await quiet(nodes);
    a.replica.hold();
    clock.advance(5 * SECOND - 1);
    await b.writes.setStatus({ group: "g", identifier: "main", status: 1, ttlMs: 10 * SECOND }); // main armed again, A not told yet
    clock.advance(1); // A's removal deadline: A proposes the removal, is refused (B committed first), catches up
    await settle();
    a.replica.release();
    await quiet(nodes);
    for (const node of nodes) expect(node.registry.getStatus({ group: "g", identifier: "main" }).status.status).toBe(1);
    expect(stateOf(a.registry)).toEqual(stateOf(b.registry));
    expect(a.registry.getStatus({ group: "g", identifier: "w" }).status.lease?.ttlMs).toBe(60 * SECOND);
  });
});

describe("an expiry while the engine is lost", () => {
  it("is asked again later, and happens once when the engine is back", async () => {
    const { clock, cluster, nodes } = replicatedCluster(2);
    const [a] = nodes as [Node, Node];
    await a.writes.registerGroup({ group: "g", ttlMs: 5 * SECOND });
    await quiet(nodes);
    cluster.lose("quorum lost");
    clock.advance(5 * SECOND);
    await settle();
    // Not expired anywhere: nothing could be committed. Reads still answer the last applied state.
    for (const node of nodes) expect(node.registry.getStatus({ group: "g", identifier: "main" }).status.status).toBe(1);
    clock.advance(SECOND); // asked again, still lost
    await settle();
    expect(cluster.changes().length).toBe(1);

    cluster.recover();
    clock.advance(SECOND - 1);
    await settle();
    expect(cluster.changes().length).toBe(1);
    clock.advance(1);
    await quiet(nodes);
    for (const node of nodes) expect(seen(node)).toEqual([["registered", "main", "g", 1], ...EXPIRED("main", "5 s", 2)]);
    clock.advance(60 * SECOND);
    await quiet(nodes);
    expect(cluster.changes().length).toBe(3);
  });
});
