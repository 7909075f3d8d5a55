/**
 * Replicas under random load (seeded, so a failure replays): writes of every
 * kind through any replica, replicas held back and released at random, the
 * lease clock moving. Whatever the interleaving, every replica ends with the
 * cluster's one sequence of changes and the same state, and each write was
 * answered after its replica applied it.
 */
import { describe, expect, it } from "vitest";
import type { RegistryWrites } from "../../../src/domain/registry/registry.js";
import { SrError } from "../../../src/domain/errors.js";
import { type Node, replicatedCluster, settle, shown, stateOf, until } from "../../helpers/memory-log.js";

/** mulberry32: a small seeded generator. */
function random(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
  return { next, pick: <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)] as T };
}

const GROUPS = ["g1", "g2"];
const IDENTIFIERS = ["main", "x", "y"];

function writeOf(rnd: ReturnType<typeof random>): (w: RegistryWrites) => unknown {
  const group = rnd.pick(GROUPS);
  const identifier = rnd.pick(IDENTIFIERS);
  const ttlMs = rnd.pick([undefined, undefined, 2_000, 5_000, 0]);
  switch (rnd.pick(["registerGroup", "registerIdentifier", "setStatus", "setStatus", "addReport", "addReport", "refreshLease", "unregisterIdentifier", "unregisterGroup"])) {
    case "registerGroup":
      return (w) => w.registerGroup({ group, reportCapacity: 3, ...(ttlMs ? { ttlMs, removeAfterMs: rnd.pick([undefined, 2_000]) } : {}) });
    case "registerIdentifier":
      return (w) =>
        w.registerIdentifier({ group, identifier: identifier === "main" ? "x" : identifier, reportCapacity: 2, ...(ttlMs ? { ttlMs, removeAfterMs: rnd.pick([undefined, 3_000]) } : {}) });
    case "setStatus":
      return (w) =>
        w.setStatus({ group, identifier, status: rnd.pick([1, 2, -1, -3]), details: rnd.pick([undefined, "d"]), ttlMs, ...(ttlMs ? { removeAfterMs: rnd.pick([undefined, 0, 1_500]) } : {}) });
    case "addReport":
      return (w) => w.addReport({ group, identifier, text: `t${Math.floor(rnd.next() * 1000)}` });
    case "refreshLease":
      return (w) => w.refreshLease({ group, identifier, ttlMs: rnd.pick([undefined, 4_000]) });
    case "unregisterIdentifier":
      return (w) => w.unregisterIdentifier({ group, identifier: identifier === "main" ? "y" : identifier });
    default:
      return (w) => w.unregisterGroup({ group });
  }
}

/** Rule errors are answers; anything else is a failure of the replication. */
const RULES = new Set(["GROUP_NOT_FOUND", "IDENTIFIER_NOT_FOUND", "LEASE_NOT_ARMED", "TTL_REQUIRED", "CAPACITY_MISMATCH"]);

describe("replicas under random load", () => {
  it.each(Array.from({ length: 40 }, (_, i) => i + 1))("converge (seed %i)", async (seed) => {
    const rnd = random(seed);
    const { clock, cluster, nodes } = replicatedCluster(3, { delivery: seed % 2 === 0 ? "microtask" : "macrotask" });
    const failures: string[] = [];
    const pending: Promise<void>[] = [];
    for (let step = 0; step < 150; step++) {
      const node = rnd.pick(nodes);
      const roll = rnd.next();
      if (roll < 0.06) node.replica.hold();
      else if (roll < 0.14) node.replica.release();
      else if (roll < 0.2) clock.advance(rnd.pick([500, 1_000, 2_000]));
      else {
        const write = writeOf(rnd);
        pending.push(
          Promise.resolve(write(node.writes)).then(
            (answer) => {
              const revision = (answer as { revision: number }).revision;
              if (node.registry.revision < revision) failures.push(`${node.name} answered revision ${revision} at ${node.registry.revision}`);
            },
            (error: unknown) => {
              // A replica held back past the apply timeout answers STORAGE_UNAVAILABLE: a refusal, not a divergence.
              const timedOut = error instanceof SrError && error.reason === "STORAGE_UNAVAILABLE" && /within 10 s/.test(error.message);
              if (!timedOut && (!(error instanceof SrError) || !RULES.has(error.reason))) failures.push(`${node.name}: ${String(error)}`);
            },
          ),
        );
      }
      if (rnd.next() < 0.3) await settle(1);
    }
    for (const node of nodes) node.replica.release();
    await Promise.all(pending);
    // Leases still armed run out (or not) alike everywhere.
    for (let i = 0; i < 10; i++) {
      clock.advance(1_000);
      await settle(3);
    }
    await until(() => nodes.every((n) => n.replica.behind === 0 && n.replica.waiting === 0), "every replica caught up");
    await settle();

    expect(failures).toEqual([]);
    const committed = cluster.changes();
    expect(committed.map((c) => c.revision)).toEqual(committed.map((_, i) => i + 1));
    const [first, ...others] = nodes as [Node, ...Node[]];
    for (const node of nodes) expect(node.changes.map(shown)).toEqual(committed.map(shown));
    for (const node of others) expect(stateOf(node.registry)).toEqual(stateOf(first.registry));
  });
});
