/**
 * ReplicatedWrites over an in-memory cluster (test/helpers/memory-log.ts):
 * replicas writing at once end with one history and one state, a replica
 * that decided on an old head decides again (nothing lost, nothing doubled),
 * a write is answered once its replica applied it, a lost commit answer is
 * not applied twice, and a lost engine is STORAGE_UNAVAILABLE until it returns.
 */
import { describe, expect, it } from "vitest";
import { type Change, Registry } from "../../../src/domain/registry/registry.js";
import { MAX_BATCH } from "../../../src/domain/replication/writer.js";
import { SrError } from "../../../src/domain/errors.js";
import { rejection } from "../../helpers/errors.js";
import { FakeClock } from "../watch/fake-clock.js";
import { type Delivery, type Node, WALL_START, listed, replicatedCluster, settle, shown, stateOf, until } from "../../helpers/memory-log.js";

/** One write, as a client asks it of a replica, and how to run it again on a plain registry. */
interface Asked {
  node: Node;
  run: (w: Node["writes"] | Registry) => unknown;
  answer?: { revision: number } & Record<string, unknown>;
  error?: unknown;
  /** The replica's revision when the answer came. */
  seenAt?: number;
}

/** Asks `run` of `node`, noting the answer and the replica's revision at that moment. */
function ask(node: Node, run: Asked["run"]): { asked: Asked; done: Promise<void> } {
  const asked: Asked = { node, run };
  const done = Promise.resolve(run(node.writes)).then(
    (answer) => {
      asked.answer = answer as Asked["answer"];
      asked.seenAt = node.registry.revision;
    },
    (error: unknown) => {
      asked.error = error;
      asked.seenAt = node.registry.revision;
    },
  );
  return { asked, done };
}

const nonLocal = (changes: Change[]) => changes.filter((c) => !c.local);

describe.each<Delivery>(["microtask", "macrotask"])("replicas writing at once (commits delivered on a %s)", (delivery) => {
  it("all apply one sequence of changes, one revision apart, end in one state, and that of a plain registry running the committed writes", async () => {
    const { cluster, nodes } = replicatedCluster(3, { delivery });
    const asked: Asked[] = [];
    const pending: Promise<void>[] = [];
    const go = (node: Node, run: Asked["run"]) => {
      const { asked: a, done } = ask(node, run);
      asked.push(a);
      pending.push(done);
    };
    // Everyone registers the same group, then identifiers of their own, statuses and reports on a shared one.
    for (const node of nodes) go(node, (w) => w.registerGroup({ group: "svc", reportCapacity: 5 }));
    await Promise.all(pending.splice(0));
    for (const node of nodes) go(node, (w) => w.registerIdentifier({ group: "svc", identifier: "shared", reportCapacity: 100 }));
    for (let round = 0; round < 6; round++) {
      for (const node of nodes) {
        const mine = `${node.name}${round % 3}`;
        go(node, (w) => w.registerIdentifier({ group: "svc", identifier: mine, status: -1 }));
        go(node, (w) => w.setStatus({ group: "svc", identifier: mine, status: round + 1, details: `${node.name} round ${round}`, ttlMs: (30 + round) * 1_000 }));
        go(node, (w) => w.addReport({ group: "svc", identifier: "shared", text: `${node.name}:${round}` }));
        if (round === 4) go(node, (w) => w.unregisterIdentifier({ group: "svc", identifier: `${node.name}1` }));
      }
    }
    await Promise.all(pending);
    await until(() => nodes.every((n) => n.replica.behind === 0), "every replica applied every commit");

    // Nothing failed, and each answer came once its replica had applied it (read your writes).
    expect(asked.filter((a) => a.error !== undefined).map((a) => String(a.error))).toEqual([]);
    for (const a of asked) expect(a.seenAt).toBeGreaterThanOrEqual(a.answer?.revision as number);
    // The group was created once, whoever asked first.
    expect(asked.slice(0, 3).filter((a) => a.answer?.created).length).toBe(1);

    const committed = cluster.changes();
    expect(committed.map((c) => c.revision)).toEqual(committed.map((_, i) => i + 1));
    for (const node of nodes) {
      expect(nonLocal(node.changes).map(shown)).toEqual(committed.map(shown));
      expect(node.replica.appliedBatches.map((b) => b.position)).toEqual(cluster.batches.map((b) => b.position));
    }
    const [first, ...others] = nodes as [Node, ...Node[]];
    for (const node of others) {
      expect(stateOf(node.registry)).toEqual(stateOf(first.registry));
      expect(listed(node.registry)).toEqual(listed(first.registry));
    }
    // Every report once, numbered 1..n with no gap.
    const shared = first.registry.reportsOf("svc", "shared").reports;
    expect(shared.map((r) => r.sequence)).toEqual(shared.map((_, i) => i + 1));
    expect(shared.map((r) => r.text).sort()).toEqual(nodes.flatMap((n) => [0, 1, 2, 3, 4, 5].map((round) => `${n.name}:${round}`)).sort());
    // Replicas decided on heads that had moved: they decided again.
    expect(cluster.conflicts).toBeGreaterThan(0);

    // A plain registry running the writes in the order the cluster committed them ends in the same state.
    const plain = new Registry(undefined, () => WALL_START, { clock: new FakeClock() });
    const order = (a: Asked) => (a.answer?.revision ?? 0) * 2 + (changedSomething(a) ? 0 : 1);
    const plainChanges: Change[] = [];
    plain.onChange((c) => plainChanges.push(c));
    for (const a of [...asked].sort((x, y) => order(x) - order(y))) a.run(plain);
    expect(plainChanges.map(shown)).toEqual(committed.map(shown));
    expect(stateOf(first.registry)).toEqual(stateOf(plain));
    expect(listed(first.registry)).toEqual(listed(plain));
  });
});

/** Did the write make a change (its revision is its own), or answer the state it found? */
const changedSomething = (a: Asked) => a.answer?.created !== false && a.answer?.changed !== false;

describe("conflicts", () => {
  it("a replica behind the log decides again on top of what it missed: its write is neither lost nor doubled", async () => {
    const { cluster, nodes } = replicatedCluster(2);
    const [a, b] = nodes as [Node, Node];
    await a.writes.registerGroup({ group: "g", reportCapacity: 10 });
    await until(() => b.replica.behind === 0, "B applied the group");
    b.replica.hold();
    await a.writes.addReport({ group: "g", identifier: "main", text: "from A" });
    expect(b.replica.behind).toBe(1);

    let answered: { sequence: number; revision: number } | undefined;
    const write = b.writes.addReport({ group: "g", identifier: "main", text: "from B" }).then((r) => (answered = r));
    await until(() => cluster.conflicts === 1, "B's commit refused: decided on an old head");
    expect(answered).toBeUndefined();
    expect(b.replica.waiting).toBe(1); // catching up before deciding again
    b.replica.release();
    await write;

    expect(answered).toEqual({ sequence: 2, revision: 3 });
    expect(b.registry.revision).toBe(3);
    await until(() => a.replica.behind === 0, "A applied B's report");
    for (const node of nodes) expect(node.registry.reportsOf("g", "main").reports.map((r) => [r.sequence, r.text])).toEqual([[1, "from A"], [2, "from B"]]);
    expect(cluster.changes().map((c) => c.revision)).toEqual([1, 2, 3]);
  });

  it("deciding again may change the answer: two replicas registering one group at once, one creates it, the other is told it exists", async () => {
    const { cluster, nodes } = replicatedCluster(2);
    const [a, b] = nodes as [Node, Node];
    const results = await Promise.allSettled([a.writes.registerGroup({ group: "g", reportCapacity: 5 }), b.writes.registerGroup({ group: "G", reportCapacity: 7 })]);
    const created = results.filter((r) => r.status === "fulfilled" && r.value.created);
    const refused = results.filter((r) => r.status === "rejected").map((r) => ((r as PromiseRejectedResult).reason as SrError).reason);
    expect([created.length, refused]).toEqual([1, ["CAPACITY_MISMATCH"]]);
    expect(cluster.changes().map((c) => c.kind)).toEqual(["registered"]);
    expect(cluster.conflicts).toBe(1);
  });

  it("a rule broken on top of an earlier write of the same commit holds only if that commit does: refused, both are decided again", async () => {
    const { cluster, nodes } = replicatedCluster(2);
    const [a, b] = nodes as [Node, Node];
    await a.writes.registerGroup({ group: "x" });
    await until(() => b.replica.behind === 0, "B applied x");
    b.replica.hold();
    // B's first write commits; while B waits to apply it, two more queue up behind it, and A registers g.
    const first = b.writes.setStatus({ group: "x", identifier: "main", status: 2 });
    await until(() => cluster.changes().length === 2, "B's first write committed");
    const seven = ask(b, (w) => w.registerGroup({ group: "g", reportCapacity: 7 }));
    const five = ask(b, (w) => w.registerGroup({ group: "g", reportCapacity: 5 }));
    await a.writes.registerGroup({ group: "g", reportCapacity: 5 });
    // B applies its own write only: the two are decided on a copy without A's g (7 creates it, 5 mismatches), and conflict.
    b.replica.deliver(1);
    await first;
    await until(() => cluster.conflicts === 1, "B's batch refused: decided without A's g");
    expect([seven.asked.answer, seven.asked.error, five.asked.answer, five.asked.error]).toEqual([undefined, undefined, undefined, undefined]);
    b.replica.release();
    await Promise.all([seven.done, five.done]);

    // Decided again on A's g (capacity 5): 7 is the mismatch, 5 finds it as it is.
    expect((seven.asked.error as SrError).reason).toBe("CAPACITY_MISMATCH");
    expect(five.asked.answer).toEqual({ created: false, revision: 3 });
    expect(cluster.changes().map((c) => [c.revision, c.group, c.kind])).toEqual([[1, "x", "registered"], [2, "x", "status"], [3, "g", "registered"]]);
  });

  it("a burst on one replica goes in commits of at most MAX_BATCH writes, in the order asked", async () => {
    const { cluster, nodes } = replicatedCluster(2);
    const [a, b] = nodes as [Node, Node];
    await a.writes.registerGroup({ group: "g", reportCapacity: 100 });
    const answers = await Promise.all(Array.from({ length: 40 }, (_, i) => a.writes.addReport({ group: "g", identifier: "main", text: `r${i}` })));
    expect(answers.map((r) => r.sequence)).toEqual(answers.map((_, i) => i + 1));
    const sizes = cluster.batches.slice(1).map((batch) => batch.entries.length);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(MAX_BATCH);
    expect(sizes.reduce((x, y) => x + y, 0)).toBe(40);
    expect(sizes.length).toBeGreaterThanOrEqual(Math.ceil(40 / MAX_BATCH));
    await until(() => b.replica.behind === 0, "B applied the burst");
    expect(b.registry.reportsOf("g", "main").reports.map((r) => r.text)).toEqual(answers.map((_, i) => `r${i}`));
  });

  it("writes queued behind a removal are decided after it, on top of it, in the order asked", async () => {
    const { cluster, nodes } = replicatedCluster(2);
    const [a, b] = nodes as [Node, Node];
    await a.writes.registerGroup({ group: "g" });
    await a.writes.registerIdentifier({ group: "g", identifier: "x", reportCapacity: 3 });
    await a.writes.addReport({ group: "g", identifier: "x", text: "old" });
    const answers = await Promise.all([
      a.writes.unregisterIdentifier({ group: "g", identifier: "x" }),
      a.writes.registerIdentifier({ group: "g", identifier: "X", reportCapacity: 1 }),
      a.writes.setStatus({ group: "g", identifier: "x", status: -7 }),
      a.writes.addReport({ group: "g", identifier: "x", text: "new" }),
    ]);
    expect(answers.map((r) => r.revision)).toEqual([4, 5, 6, 7]);
    expect((answers[3] as { sequence: number }).sequence).toBe(1);
    await until(() => b.replica.behind === 0, "B applied them");
    for (const node of nodes) {
      expect(node.registry.getStatus({ group: "g", identifier: "x" }).status).toMatchObject({ identifier: "X", status: -7 });
      expect(node.registry.reportsOf("g", "x")).toEqual({ capacity: 1, reports: [expect.objectContaining({ sequence: 1, text: "new" })] });
    }
    expect(cluster.batches.at(-2)?.entries.length).toBe(1); // the removal went alone
  });

  it("a write that changes nothing, or breaks a rule, is answered without a commit", async () => {
    const { cluster, nodes } = replicatedCluster(1);
    const [a] = nodes as [Node];
    await a.writes.registerGroup({ group: "g" });
    const commits = cluster.batches.length;
    expect(await a.writes.registerGroup({ group: "g" })).toEqual({ created: false, revision: 1 });
    expect(await a.writes.setStatus({ group: "g", identifier: "main", status: 1 })).toEqual({ changed: false, oldStatus: 1, revision: 1 });
    expect(((await rejection(a.writes.setStatus({ group: "g", identifier: "nobody", status: 1 }))) as SrError).reason).toBe("IDENTIFIER_NOT_FOUND");
    expect(((await rejection(a.writes.addReport({ group: "nowhere", identifier: "main", text: "t" }))) as SrError).reason).toBe("GROUP_NOT_FOUND");
    expect(cluster.batches.length).toBe(commits);
  });

  it("errors and successes in one batch: each write gets its own answer", async () => {
    const { nodes } = replicatedCluster(1);
    const [a] = nodes as [Node];
    await a.writes.registerGroup({ group: "g" });
    const results = await Promise.allSettled([
      a.writes.setStatus({ group: "g", identifier: "main", status: 2 }),
      a.writes.setStatus({ group: "g", identifier: "nobody", status: 2 }),
      a.writes.registerIdentifier({ group: "g", identifier: "x" }),
      a.writes.setStatus({ group: "g", identifier: "x", status: -5 }),
    ]);
    expect(results.map((r) => (r.status === "fulfilled" ? r.value.revision : (r.reason as SrError).reason))).toEqual([2, "IDENTIFIER_NOT_FOUND", 3, 4]);
    expect(a.registry.getStatus({ group: "g", identifier: "x" }).status.status).toBe(-5);
  });
});

describe("a commit whose answer was lost", () => {
  it("answered by the client's retry as a conflict at its own batch: recognised as applied, answered once, applied once", async () => {
    const { cluster, nodes } = replicatedCluster(2);
    const [a, b] = nodes as [Node, Node];
    await a.writes.registerGroup({ group: "g" });
    cluster.loseNextAnswer({ retried: true });
    const answer = await a.writes.setStatus({ group: "g", identifier: "main", status: -4 });
    expect(answer).toEqual({ changed: true, oldStatus: 1, revision: 2 });
    expect(a.registry.revision).toBe(2);
    await until(() => b.replica.behind === 0, "B applied it");
    expect(cluster.changes().map((c) => c.revision)).toEqual([1, 2]);
    for (const node of nodes) expect(nonLocal(node.changes).map((c) => c.revision)).toEqual([1, 2]);
    // The next write goes on normally.
    expect((await a.writes.setStatus({ group: "g", identifier: "main", status: 3 })).revision).toBe(3);
  });

  it("never answered: the write fails (it may or may not be kept), is applied once, and a retry finds it done", async () => {
    const { cluster, nodes } = replicatedCluster(2);
    const [a, b] = nodes as [Node, Node];
    await a.writes.registerGroup({ group: "g" });
    cluster.loseNextAnswer();
    const error = (await rejection(a.writes.setStatus({ group: "g", identifier: "main", status: -4 }))) as SrError;
    expect(error.reason).toBe("STORAGE_UNAVAILABLE");
    await until(() => nodes.every((n) => n.replica.behind === 0), "both applied it");
    for (const node of nodes) expect(node.registry.getStatus({ group: "g", identifier: "main" }).status.status).toBe(-4);
    expect(await a.writes.setStatus({ group: "g", identifier: "main", status: -4 })).toEqual({ changed: false, oldStatus: -4, revision: 2 });
    expect(cluster.changes().map((c) => c.revision)).toEqual([1, 2]);
    expect(nonLocal(b.changes).map((c) => c.revision)).toEqual([1, 2]);
  });
});

describe("main named by an empty identifier (as the API allows)", () => {
  it("a SetStatus and an AddReport to identifier \"\" reach every replica, and change nothing on the one that took them until applied", async () => {
    const { cluster, nodes } = replicatedCluster(2);
    const [a, b] = nodes as [Node, Node];
    await a.writes.registerGroup({ group: "g" });
    await until(() => b.replica.behind === 0, "B applied the group");
    a.replica.hold();
    const write = a.writes.setStatus({ group: "g", identifier: "", status: -4, details: "down" });
    await until(() => cluster.batches.length === 2, "committed");
    // Committed, not applied here yet: A still shows what it applied.
    expect(a.registry.getStatus({ group: "g", identifier: "" }).status).toMatchObject({ status: 1, revision: 1 });
    a.replica.release();
    expect(await write).toEqual({ changed: true, oldStatus: 1, revision: 2 });
    await a.writes.addReport({ group: "g", identifier: "", text: "went down" });
    await until(() => b.replica.behind === 0, "B applied both");
    for (const node of nodes) {
      expect(node.registry.getStatus({ group: "g", identifier: "" }).status).toMatchObject({ status: -4, details: "down", revision: 3 });
      expect(node.registry.reportsOf("g", "main").reports.map((r) => r.text)).toEqual(["went down"]);
    }
    expect(stateOf(b.registry)).toEqual(stateOf(a.registry));
  });
});

describe("read your writes", () => {
  it("a write committed but not applied here within 10 s fails, though other replicas show it", async () => {
    const { clock, cluster, nodes } = replicatedCluster(2);
    const [a, b] = nodes as [Node, Node];
    await a.writes.registerGroup({ group: "g" });
    await until(() => b.replica.behind === 0, "B applied the group");
    b.replica.hold();
    let error: SrError | undefined;
    const write = b.writes.setStatus({ group: "g", identifier: "main", status: -2 }).catch((e: SrError) => (error = e));
    await until(() => cluster.batches.length === 2, "B's write committed");
    await until(() => a.registry.revision === 2, "A applied it");
    clock.advance(9_999);
    await settle();
    expect(error).toBeUndefined();
    clock.advance(1);
    await write;
    expect(error?.reason).toBe("STORAGE_UNAVAILABLE");
    expect(b.registry.revision).toBe(1);
    b.replica.release();
    expect(b.registry.getStatus({ group: "g", identifier: "main" }).status.status).toBe(-2);
  });

  it("an answer comes only after the replica that took the write applied it", async () => {
    const { cluster, nodes } = replicatedCluster(2, { delivery: "macrotask" });
    const [a] = nodes as [Node];
    a.replica.hold();
    let answered = false;
    const write = a.writes.registerGroup({ group: "g" }).then(() => (answered = true));
    await until(() => cluster.batches.length === 1, "committed");
    await settle();
    expect([answered, a.registry.revision]).toEqual([false, 0]);
    a.replica.release();
    await write;
    expect(a.registry.revision).toBe(1);
  });
});

describe("the engine lost", () => {
  it("writes answer STORAGE_UNAVAILABLE naming the cause, nothing changes, and writes are taken again once it is back", async () => {
    const { cluster, nodes } = replicatedCluster(2);
    const [a, b] = nodes as [Node, Node];
    await a.writes.registerGroup({ group: "g" });
    const before = stateOf(a.registry);
    cluster.lose("etcd at 10.0.0.1:2379 does not answer (quorum lost?)");

    for (const node of nodes) {
      const error = (await rejection(Promise.resolve(node.writes.setStatus({ group: "g", identifier: "main", status: -1 })))) as SrError;
      expect([error.reason, error.message]).toEqual(["STORAGE_UNAVAILABLE", "etcd at 10.0.0.1:2379 does not answer (quorum lost?)"]);
    }
    expect(((await rejection(Promise.resolve(a.writes.refreshLease({ group: "g", identifier: "main" })))) as SrError).reason).toBe("STORAGE_UNAVAILABLE");
    // Reads keep answering from the last applied state.
    expect(stateOf(a.registry)).toEqual(before);
    expect(b.registry.getStatus({ group: "g", identifier: "main" }).status.status).toBe(1);

    cluster.recover();
    expect(await b.writes.setStatus({ group: "g", identifier: "main", status: -1 })).toEqual({ changed: true, oldStatus: 1, revision: 2 });
    await until(() => a.registry.revision === 2, "A applied it");
  });

  it("lost while writes are in flight: they and the ones queued behind them fail, none is kept", async () => {
    const { cluster, nodes } = replicatedCluster(1);
    const [a] = nodes as [Node];
    await a.writes.registerGroup({ group: "g" });
    const writes = Array.from({ length: MAX_BATCH + 3 }, (_, i) => a.writes.addReport({ group: "g", identifier: "main", text: `r${i}` }));
    cluster.lose("quorum lost");
    const results = await Promise.allSettled(writes);
    expect(new Set(results.map((r) => (r.status === "rejected" ? (r.reason as SrError).reason : "answered")))).toEqual(new Set(["STORAGE_UNAVAILABLE"]));
    expect(cluster.changes().length).toBe(1);
    expect(a.registry.revision).toBe(1);
    cluster.recover();
    expect((await a.writes.addReport({ group: "g", identifier: "main", text: "after" })).sequence).toBe(1);
  });
});
