/**
 * The hub: which watchers a change is offered to, the start_revision rules,
 * the watcher quotas every kind shares, and latest-value watchers. No socket.
 */
import { describe, expect, it } from "vitest";
import { ENDED, IDLE } from "../../../src/domain/watch/source.js";
import { drainNow, hubOf, microtasks, request } from "./setup.js";
import { thrown } from "../../helpers/errors.js";


describe("indexing by group", () => {
  it("a change is offered to the watchers of its group and of everything, never to another group's", () => {
    const { hub, registry } = hubOf();
    for (const group of ["a", "b"]) registry.registerGroup({ group });
    const ofA = Array.from({ length: 3 }, () => hub.watch(request({ group: "a" }), "peer"));
    const ofB = Array.from({ length: 5 }, () => hub.watch(request({ group: "B" }), "peer"));
    const ofAll = hub.watch(request(), "peer");
    for (const w of [...ofA, ...ofB, ofAll]) drainNow(w);

    const before = hub.offers;
    registry.setStatus({ group: "A", identifier: "main", status: -1 });
    expect(hub.offers - before).toBe(ofA.length + 1);
    for (const w of ofB) expect(w.pending).toBe(0);
    for (const w of [...ofA, ofAll]) expect(w.pending).toBe(1);

    const mid = hub.offers;
    registry.setStatus({ group: "b", identifier: "main", status: -1 });
    expect(hub.offers - mid).toBe(ofB.length + 1);
  });

  it("only live watchers are offered changes: one still sending its snapshot reads them from the history", () => {
    const { hub, registry } = hubOf();
    registry.registerGroup({ group: "a" });
    const w = hub.watch(request({ group: "a" }), "peer");
    const before = hub.offers;
    registry.setStatus({ group: "a", identifier: "main", status: -1 });
    expect(hub.offers).toBe(before);
    expect(drainNow(w).events.map((e) => e.kind)).toEqual(["snapshot", "change"]);
  });

  it("an identifier watcher of a group is offered the group's changes but queues only its identifier's", () => {
    const { hub, registry } = hubOf();
    registry.registerGroup({ group: "a" });
    registry.registerIdentifier({ group: "a", identifier: "x" });
    const w = hub.watch(request({ group: "a", identifier: "X" }), "peer");
    drainNow(w);
    registry.setStatus({ group: "a", identifier: "main", status: -1 });
    expect(w.pending).toBe(0);
    registry.setStatus({ group: "a", identifier: "x", status: -1 });
    expect(w.pending).toBe(1);
  });

  it("a watcher over its budget leaves the index; closed ones too", () => {
    const { hub, registry } = hubOf({ budgetMessages: 1 });
    registry.registerGroup({ group: "a" });
    const stuck = hub.watch(request({ group: "a" }), "peer");
    const gone = hub.watch(request({ group: "a" }), "peer");
    drainNow(stuck);
    drainNow(gone);
    gone.close();
    registry.setStatus({ group: "a", identifier: "main", status: -1 });
    registry.setStatus({ group: "a", identifier: "main", status: 1 }); // over budget now
    expect(stuck.state).toBe("over_budget");
    const before = hub.offers;
    registry.setStatus({ group: "a", identifier: "main", status: -1 });
    expect(hub.offers).toBe(before);
  });
});

describe("start_revision", () => {
  it("above the current revision is REVISION_AHEAD naming start_revision", () => {
    const { hub, registry } = hubOf();
    const error = thrown(() => hub.watch(request({ startRevision: registry.revision + 1 }), "peer"));
    expect(error.reason).toBe("REVISION_AHEAD");
    expect(error.message).toBe(`start_revision: ${registry.revision + 1} is above the current revision ${registry.revision}`);
    expect(hub.watcherCount).toBe(0);
  });

  it("older than the history is HISTORY_COMPACTED with the oldest resumable revision in its facts", () => {
    const { hub, registry } = hubOf({ history: 3, budgetMessages: 1 });
    registry.registerGroup({ group: "a" });
    for (let i = 0; i < 5; i++) registry.setStatus({ group: "a", identifier: "main", status: i % 2 ? 1 : -1 });
    const oldest = registry.revision - 3;
    expect(hub.oldestResumable).toBe(oldest);
    const error = thrown(() => hub.watch(request({ startRevision: oldest - 1 }), "peer"));
    expect(error.reason).toBe("HISTORY_COMPACTED");
    expect(error.facts).toEqual({ field: "start_revision", oldestRevision: oldest });
    expect(error.message).toBe(
      `start_revision: ${oldest - 1} is older than the history; the oldest revision still resumable is ${oldest} (watch without start_revision for a fresh snapshot)`,
    );
    const w = hub.watch(request({ startRevision: oldest }), "peer");
    expect(drainNow(w).events.map((e) => e.revision)).toEqual([oldest + 1, oldest + 2, oldest + 3]);
  });

  it("nothing before the hub started is resumable", () => {
    const { hub, registry } = hubOf();
    expect(hub.oldestResumable).toBe(registry.revision);
  });
});

describe("quotas shared by WatchStatus and latest-value watchers", () => {
  it("max_watchers_per_connection counts both kinds, per owner", () => {
    const { hub } = hubOf({ maxWatchersPerConnection: 2 });
    hub.watch(request(), "one");
    const latest = hub.watchLatest({ group: "core" }, "one", () => 1);
    for (const open of [() => hub.watch(request(), "one"), () => hub.watchLatest({}, "one", () => 1)]) {
      const error = thrown(open);
      expect(error.reason).toBe("LIMIT_REACHED");
      expect(error.message).toBe("limits.max_watchers_per_connection: this connection holds its maximum of 2 watch streams");
      expect(error.facts.limit).toBe("limits.max_watchers_per_connection");
    }
    hub.watch(request(), "two"); // another connection has room
    latest.close(); // frees its place
    hub.watch(request(), "one");
    expect(hub.watcherCount).toBe(3);
  });

  it("max_watchers counts both kinds over every owner", () => {
    const { hub } = hubOf({ maxWatchers: 2 });
    const w = hub.watch(request(), "one");
    hub.watchLatest({}, "two", () => 1);
    const error = thrown(() => hub.watchLatest({}, "three", () => 1));
    expect(error.message).toBe("limits.max_watchers: the server serves its maximum of 2 watch streams");
    w.close();
    hub.watchLatest({}, "three", () => 1);
    expect(hub.latestWatcherCount).toBe(2);
  });

  it("a refused request takes no place (arguments are checked before limits)", () => {
    const { hub } = hubOf({ maxWatchers: 1 });
    expect(thrown(() => hub.watch(request({ identifier: "x" }), "one")).reason).toBe("GROUP_REQUIRED");
    expect(hub.watcherCount).toBe(0);
    hub.watch(request(), "one");
    expect(thrown(() => hub.watch(request({ group: "a/b" }), "one")).reason).toBe("NAME_INVALID");
  });
});

describe("a latest-value watcher", () => {
  function setup() {
    const env = hubOf();
    env.registry.registerGroup({ group: "a" });
    env.registry.registerGroup({ group: "b" });
    let reads = 0;
    const read = () => {
      reads++;
      return env.registry.checkStatus({ group: "a", identifier: "all" }).ready;
    };
    const watcher = env.hub.watchLatest({ group: "A" }, "peer", read);
    return { ...env, watcher, reads: () => reads };
  }

  it("yields the value at once, then only when it differs from the last one yielded", () => {
    const { registry, watcher } = setup();
    expect(watcher.next()).toBe(true);
    expect(watcher.next()).toBe(IDLE);
    registry.setStatus({ group: "a", identifier: "main", status: 2 }); // still ready
    expect(watcher.next()).toBe(IDLE);
    registry.setStatus({ group: "a", identifier: "main", status: -1 });
    expect(watcher.next()).toBe(false);
    registry.setStatus({ group: "a", identifier: "main", status: 1 });
    registry.setStatus({ group: "a", identifier: "main", status: -1 }); // back before it was read: nothing to send
    expect(watcher.next()).toBe(IDLE);
  });

  it("reads only after a change of its group, and a stuck reader holds nothing but a flag", async () => {
    const { registry, watcher, reads } = setup();
    watcher.next();
    let woken = 0;
    watcher.wait(() => woken++);
    registry.setStatus({ group: "b", identifier: "main", status: -1 });
    await microtasks();
    expect([woken, reads()]).toEqual([0, 1]);
    for (let i = 0; i < 1_000; i++) registry.setStatus({ group: "a", identifier: "main", status: i % 2 ? -1 : 1 }); // ends not ready
    await microtasks();
    expect([woken, reads()]).toEqual([1, 1]); // woken once, nothing read until it asks
    expect(watcher.next()).toBe(false);
    expect(reads()).toBe(2);
  });

  it("on drain yields its final value when new, then ENDED", () => {
    const { registry, watcher } = setup();
    watcher.next();
    registry.setStatus({ group: "a", identifier: "main", status: -1 });
    watcher.drain();
    expect(watcher.next()).toBe(false);
    expect(watcher.next()).toBe(ENDED);
  });

  it("on drain with nothing new, ENDED at once; close frees its quota", () => {
    const { hub, watcher } = setup();
    watcher.next();
    hub.drainAll();
    expect(watcher.next()).toBe(ENDED);
    watcher.close();
    expect(hub.watcherCount).toBe(0);
  });

  it("hub.close ends every watcher and stops listening", () => {
    const { hub, registry, watcher } = setup();
    const w = hub.watch(request(), "peer");
    hub.close();
    expect([watcher.next(), w.next()]).toEqual([ENDED, ENDED]);
    const before = hub.offers;
    registry.setStatus({ group: "a", identifier: "main", status: -1 });
    expect(hub.offers).toBe(before);
    expect(hub.watcherCount).toBe(0);
  });
});
