/**
 * A replicated registry's two halves without a cluster (docs/storage.md, etcd):
 * `proposeAll` decides writes with the ordinary rules and leaves the registry
 * exactly as it found it, and `applyEntry` is the only thing that changes it;
 * the entries of a batch, applied anywhere, give what a plain registry gives
 * for the same writes. Internal groups stay the replica's own.
 */
import { describe, expect, it } from "vitest";
import { type Lease } from "../../../src/domain/leases/leases.js";
import { type Change, Registry, type WriteTarget } from "../../../src/domain/registry/registry.js";
import { type Entry, entryRevision } from "../../../src/domain/replication/entry.js";
import { CORE_GROUP, coreRunning, createCore } from "../../../src/domain/core.js";
import { SrError } from "../../../src/domain/errors.js";
import { FakeClock } from "../watch/fake-clock.js";
import { WALL_START, listed, shown, stateOf } from "../../helpers/memory-log.js";

const SECOND = 1_000;

type Write = { target: WriteTarget; write: (r: Registry) => unknown };

/** A registry on a fake clock: replicated, or plain (the reference). */
function registryOf(replicated: boolean, clock = new FakeClock()) {
  const start = clock.now();
  const wall = () => WALL_START + (clock.now() - start);
  const r = new Registry(undefined, wall, { clock, replicated });
  const heard: Change[] = [];
  r.onChange((change) => heard.push(change));
  const due: [string, number][] = [];
  r.onLeaseDue((lease) => due.push([`${lease.groupKey}/${lease.identifierKey}`, clock.now()]));
  return { r, clock, heard, due };
}

/** Decides `writes` as one batch and applies its entries, as a replica does with its own commit. */
function commit(r: Registry, writes: Write[]) {
  const { count, outcomes } = r.proposeAll(writes.map((w) => ({ target: w.target, write: () => w.write(r) })));
  for (const o of outcomes) if (o.entry) r.applyEntry(o.entry);
  return { count, outcomes };
}

const on = (group: string, identifier?: string) => ({ group, ...(identifier === undefined ? {} : { identifier }) });

/** The writes that build the state every test starts from (leases, a full ring, two groups). */
const BASE: Write[] = [
  { target: on("billing", "main"), write: (r) => r.registerGroup({ group: "billing", ttlMs: 10 * SECOND, removeAfterMs: 30 * SECOND }) },
  { target: on("billing", "w1"), write: (r) => r.registerIdentifier({ group: "billing", identifier: "w1", reportCapacity: 2, status: 2, details: "x" }) },
  { target: on("billing", "w1"), write: (r) => r.addReport({ group: "billing", identifier: "w1", text: "one" }) },
  { target: on("billing", "w1"), write: (r) => r.addReport({ group: "billing", identifier: "w1", text: "two" }) },
  { target: on("billing", "w2"), write: (r) => r.registerIdentifier({ group: "billing", identifier: "W2", ttlMs: 5 * SECOND }) },
  { target: on("other", "main"), write: (r) => r.registerGroup({ group: "other", details: "d" }) },
];

/** The base state on a replicated registry (one write per commit), a second in, so deadlines are not "now". */
function based() {
  const node = registryOf(true);
  for (const w of BASE) commit(node.r, [w]);
  node.clock.advance(SECOND);
  node.heard.length = 0;
  return node;
}

/** Every lease deadline reached within a minute, in order, with when it came. */
function deadlinesAhead(node: ReturnType<typeof registryOf>) {
  node.due.length = 0;
  node.clock.advance(60 * SECOND);
  return [...node.due];
}

const setStatus = (identifier: string, extra: Record<string, unknown> = {}): Write => ({
  target: on("billing", identifier),
  write: (r) => r.setStatus({ group: "billing", identifier, status: -3, ...extra }),
});

/** One write of every kind, and what its proposal must decide: an entry, none, or a rule error. */
const WRITES: [string, Write, "entry" | "none" | string][] = [
  ["RegisterGroup creating, with a lease", { target: on("fresh", "main"), write: (r) => r.registerGroup({ group: "fresh", ttlMs: 3 * SECOND, reportCapacity: 4 }) }, "entry"],
  ["RegisterGroup of an existing group", { target: on("billing", "main"), write: (r) => r.registerGroup({ group: "BILLING" }) }, "none"],
  ["RegisterGroup with another capacity", { target: on("other", "main"), write: (r) => r.registerGroup({ group: "other", reportCapacity: 9 }) }, "CAPACITY_MISMATCH"],
  ["UnregisterGroup of a group with leases", { target: on("billing"), write: (r) => r.unregisterGroup({ group: "billing" }) }, "entry"],
  [
    "RegisterIdentifier creating, with ttl and remove_after",
    { target: on("billing", "w3"), write: (r) => r.registerIdentifier({ group: "billing", identifier: "w3", ttlMs: 2 * SECOND, removeAfterMs: 4 * SECOND }) },
    "entry",
  ],
  ["UnregisterIdentifier of a leased identifier", { target: on("billing", "w2"), write: (r) => r.unregisterIdentifier({ group: "billing", identifier: "w2" }) }, "entry"],
  ["SetStatus changing status and details", setStatus("w1", { details: "new" }), "entry"],
  ["SetStatus arming a lease", setStatus("w1", { ttlMs: 7 * SECOND }), "entry"],
  ["SetStatus with remove_after", setStatus("w2", { removeAfterMs: 8 * SECOND }), "entry"],
  ["SetStatus with ttl 0 (disarms)", setStatus("w2", { ttlMs: 0 }), "entry"],
  ["SetStatus with remove_after 0 (clears it)", setStatus("main", { removeAfterMs: 0 }), "entry"],
  [
    "SetStatus changing nothing but restarting an armed lease",
    { target: on("billing", "w2"), write: (r) => r.setStatus({ group: "billing", identifier: "w2", status: 1 }) },
    "entry",
  ],
  ["SetStatus on main named by an empty identifier", { target: on("billing", ""), write: (r) => r.setStatus({ group: "billing", identifier: "", status: -3 }) }, "entry"],
  ["AddReport to main named by an empty identifier", { target: on("billing", ""), write: (r) => r.addReport({ group: "billing", identifier: "", text: "t" }) }, "entry"],
  ["SetStatus changing nothing, no lease", { target: on("other", "main"), write: (r) => r.setStatus({ group: "other", identifier: "", status: 1, details: "d" }) }, "none"],
  ["SetStatus on a missing identifier", setStatus("nobody"), "IDENTIFIER_NOT_FOUND"],
  ["SetStatus with remove_after and no lease", { target: on("billing", "w1"), write: (r) => r.setStatus({ group: "billing", identifier: "w1", status: 1, removeAfterMs: SECOND }) }, "TTL_REQUIRED"],
  ["AddReport into a full ring", { target: on("billing", "w1"), write: (r) => r.addReport({ group: "billing", identifier: "w1", text: "three" }) }, "entry"],
  ["RefreshLease", { target: on("billing", "w2"), write: (r) => r.refreshLease({ group: "billing", identifier: "w2" }) }, "entry"],
  ["RefreshLease with a new ttl", { target: on("billing", "main"), write: (r) => r.refreshLease({ group: "billing", identifier: "main", ttlMs: 20 * SECOND }) }, "entry"],
  ["RefreshLease with ttl 0", { target: on("billing", "w2"), write: (r) => r.refreshLease({ group: "billing", identifier: "w2", ttlMs: 0 }) }, "entry"],
  ["RefreshLease with no lease armed", { target: on("billing", "w1"), write: (r) => r.refreshLease({ group: "billing", identifier: "w1" }) }, "LEASE_NOT_ARMED"],
  ["a write to an internal group", { target: on("core", "main"), write: (r) => r.setStatus({ group: "core", identifier: "main", status: 5 }) }, "INTERNAL_GROUP"],
];

describe("proposeAll leaves the registry exactly as it was", () => {
  it.each(WRITES)("%s", (_name, write, expected) => {
    const node = based();
    node.r.registerInternalGroup({ group: CORE_GROUP, status: -100 });
    node.heard.length = 0;
    const before = stateOf(node.r, { deadlines: true });
    const beforeListed = listed(node.r);
    const expirations = node.r.leaseExpirations;

    const { count, outcomes } = node.r.proposeAll([{ target: write.target, write: () => write.write(node.r) }]);

    expect(count).toBe(1);
    const [outcome] = outcomes;
    if (expected === "entry") expect(outcome?.entry).toBeDefined();
    else if (expected === "none") expect([outcome?.entry, outcome?.error]).toEqual([undefined, undefined]);
    else expect([(outcome?.error as SrError).reason, outcome?.entry]).toEqual([expected, undefined]);
    expect(stateOf(node.r, { deadlines: true })).toEqual(before);
    expect(listed(node.r)).toEqual(beforeListed);
    expect(node.r.leaseExpirations).toBe(expirations);
    expect(node.heard).toEqual([]);

    // The lease timer too: every deadline comes when it would have without the proposal.
    const control = based();
    expect(deadlinesAhead(node)).toEqual(deadlinesAhead(control));
  });

  it("for a batch with a rule error in the middle, and the entries before and after it still decided", () => {
    const node = based();
    const before = stateOf(node.r, { deadlines: true });
    const { count, outcomes } = node.r.proposeAll(
      [setStatus("w1"), setStatus("nobody"), { target: on("billing", "w1"), write: (r: Registry) => r.addReport({ group: "billing", identifier: "w1", text: "after" }) }].map(
        (w) => ({ target: w.target, write: () => w.write(node.r) }),
      ),
    );
    expect(count).toBe(3);
    expect(outcomes.map((o) => [o.entry !== undefined, (o.error as SrError | undefined)?.reason])).toEqual([
      [true, undefined],
      [false, "IDENTIFIER_NOT_FOUND"],
      [true, undefined],
    ]);
    // The third builds on the first (the error in between took nothing).
    expect(outcomes[2]?.entry?.base).toBe(entryRevision(outcomes[0]?.entry as Entry));
    expect(stateOf(node.r, { deadlines: true })).toEqual(before);
    expect(node.heard).toEqual([]);
    expect(deadlinesAhead(node)).toEqual(deadlinesAhead(based()));
  });

  it("for a lease's expiry proposed when due (as the replicated writer targets them)", () => {
    const node = based();
    const leases: Lease[] = [];
    node.r.onLeaseDue((lease) => leases.push(lease));
    node.clock.advance(4 * SECOND); // w2's 5 s (armed a second before `based` returned)
    const lease = leases.find((l) => l.identifierKey === "w2") as Lease;
    const before = stateOf(node.r, { deadlines: true });
    const { outcomes } = node.r.proposeAll([{ target: { group: lease.groupKey, identifier: lease.identifierKey }, write: () => node.r.expireLease(lease) }]);
    expect(outcomes[0]?.entry?.changes.map((c) => c.kind)).toEqual(["status", "report"]);
    expect(stateOf(node.r, { deadlines: true })).toEqual(before);
    expect(node.heard).toEqual([]);
  });

  it("for the removal of a whole group through its main's lease: the group's other leases are put back too", () => {
    const node = registryOf(true);
    commit(node.r, [
      { target: on("g", "main"), write: (r) => r.registerGroup({ group: "g", ttlMs: SECOND, removeAfterMs: SECOND }) },
      { target: on("g", "w"), write: (r) => r.registerIdentifier({ group: "g", identifier: "w", ttlMs: 60 * SECOND }) },
    ]);
    const leases: Lease[] = [];
    node.r.onLeaseDue((lease) => leases.push(lease));
    node.clock.advance(SECOND);
    const main = leases.pop() as Lease;
    // Its expiry, committed and applied.
    commit(node.r, [{ target: { group: main.groupKey, identifier: main.identifierKey }, write: () => node.r.expireLease(main) }]);
    node.clock.advance(SECOND);
    expect(leases.map((l) => l.identifierKey)).toEqual(["main"]);
    const before = stateOf(node.r, { deadlines: true });

    // Its removal decided (the writer's target: the lease's own identifier, which may remove the group), then not committed.
    const target = { group: main.groupKey, identifier: main.identifierKey, mayRemoveGroup: true };
    const { outcomes } = node.r.proposeAll([{ target, write: () => node.r.expireLease(main) }]);
    expect(outcomes[0]?.entry?.group).toBeNull();

    expect(stateOf(node.r, { deadlines: true })).toEqual(before);
    expect(node.r.getStatus({ group: "g", identifier: "w" }).status.lease?.ttlMs).toBe(60 * SECOND);
  });
});

describe("entries", () => {
  /** Writes in which each builds on the ones before it. */
  const CHAIN: Write[] = [
    { target: on("svc", "main"), write: (r) => r.registerGroup({ group: "svc", reportCapacity: 2, ttlMs: 9 * SECOND }) },
    { target: on("svc", "x"), write: (r) => r.registerIdentifier({ group: "svc", identifier: "X", status: -2, details: "starting" }) },
    { target: on("svc", "x"), write: (r) => r.setStatus({ group: "svc", identifier: "x", status: 3, details: "up", ttlMs: 4 * SECOND, removeAfterMs: 6 * SECOND }) },
    { target: on("svc", "x"), write: (r) => r.addReport({ group: "svc", identifier: "x", text: "r1" }) },
    { target: on("svc", "x"), write: (r) => r.addReport({ group: "svc", identifier: "x", text: "r2" }) },
    { target: on("svc", "x"), write: (r) => r.addReport({ group: "svc", identifier: "x", text: "r3" }) },
    { target: on("svc", "x"), write: (r) => r.refreshLease({ group: "svc", identifier: "x", ttlMs: 5 * SECOND }) },
    { target: on("svc", "main"), write: (r) => r.setStatus({ group: "svc", identifier: "main", status: 1, details: "all up" }) },
    { target: on("billing", "w1"), write: (r) => r.setStatus({ group: "billing", identifier: "w1", status: 4 }) },
    { target: on("billing", "w1"), write: (r) => r.addReport({ group: "billing", identifier: "w1", text: "three" }) },
  ];

  it("of a batch building on itself give, applied here or on another replica, what a plain registry gives for the same writes", () => {
    const plain = registryOf(false);
    for (const w of BASE) w.write(plain.r);
    plain.clock.advance(SECOND);
    plain.heard.length = 0;
    const answers = CHAIN.map((w) => w.write(plain.r));

    const here = based();
    const elsewhere = based();
    const { count, outcomes } = here.r.proposeAll(CHAIN.map((w) => ({ target: w.target, write: () => w.write(here.r) })));
    expect(count).toBe(CHAIN.length);
    expect(outcomes.map((o) => o.error)).toEqual(CHAIN.map(() => undefined));
    // Nothing yet: the answers are what the writes will answer once applied.
    expect(here.heard).toEqual([]);
    expect(outcomes.map((o) => o.result)).toEqual(answers);

    const entries = outcomes.map((o) => o.entry as Entry);
    for (let i = 1; i < entries.length; i++) expect(entries[i]?.base).toBe(entryRevision(entries[i - 1] as Entry));
    // A refresh is an entry without a change.
    expect(entries[6]?.changes).toEqual([]);
    for (const entry of structuredClone(entries)) elsewhere.r.applyEntry(entry);
    for (const entry of entries) here.r.applyEntry(entry);

    const expected = stateOf(plain.r, { deadlines: true });
    expect(stateOf(here.r, { deadlines: true })).toEqual(expected);
    expect(stateOf(elsewhere.r, { deadlines: true })).toEqual(expected);
    expect(listed(here.r)).toEqual(listed(plain.r));
    expect(here.heard).toEqual(plain.heard);
    expect(elsewhere.heard.map(shown)).toEqual(plain.heard.map(shown));
    // And the leases they armed come due at the same moments on both replicas.
    expect(deadlinesAhead(here)).toEqual(deadlinesAhead(elsewhere));
    expect(here.due.length).toBeGreaterThan(0);
  });

  it("stop after a removal: what follows is decided in another batch, on top of it", () => {
    const node = based();
    const { count, outcomes } = node.r.proposeAll(
      [
        { target: on("billing", "w2"), write: (r: Registry) => r.unregisterIdentifier({ group: "billing", identifier: "w2" }) },
        { target: on("billing", "w2"), write: (r: Registry) => r.registerIdentifier({ group: "billing", identifier: "w2" }) },
      ].map((w) => ({ target: w.target, write: () => w.write(node.r) })),
    );
    expect(count).toBe(1);
    expect(outcomes[0]?.entry?.identifier).toBeNull();
  });

  it("apply only on top of the revision they were decided at", () => {
    const node = based();
    const { outcomes } = node.r.proposeAll([{ target: setStatus("w1").target, write: () => setStatus("w1").write(node.r) }]);
    const entry = outcomes[0]?.entry as Entry;
    node.r.applyEntry(entry);
    expect(() => node.r.applyEntry(entry)).toThrow(/decided at revision/);
  });

  it("a replicated registry refuses a write outside a proposal (its state changes only by applying)", () => {
    const node = based();
    const before = stateOf(node.r, { deadlines: true });
    expect(() => node.r.setStatus({ group: "billing", identifier: "w1", status: 9 })).toThrow(/only through propose/);
    expect(stateOf(node.r, { deadlines: true })).toEqual(before);
    expect(node.heard).toEqual([]);
  });
});

describe("internal groups on a replicated registry", () => {
  it("change at once, locally: no revision of their own, marked local", () => {
    const node = based();
    const revision = node.r.revision;
    createCore(node.r);
    coreRunning(node.r);
    expect(node.r.revision).toBe(revision);
    expect(node.heard.map((c) => [c.kind, c.group, c.revision, c.local])).toEqual([
      ["registered", "core", revision, true],
      ["status", "core", revision, true],
      ["report", "core", revision, true],
    ]);
    expect(node.r.getStatus({ group: "core", identifier: "" }).status).toMatchObject({ status: 1, details: "running" });
    // And the next shared change still takes the next revision.
    commit(node.r, [setStatus("w1")]);
    expect(node.r.revision).toBe(revision + 1);
    expect(node.heard.at(-1)?.local).toBeUndefined();
  });
});
