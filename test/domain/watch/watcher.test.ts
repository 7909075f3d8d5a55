/**
 * A watcher's states and their transitions (docs/watch.md, "A watcher's
 * life"), driven through a real registry and hub, no socket.
 */
import { describe, expect, it } from "vitest";
import type { Watcher, WatchEvent } from "../../../src/domain/watch/watcher.js";
import { ENDED, IDLE } from "../../../src/domain/watch/source.js";
import { drainNow, hubOf, microtasks, request } from "./setup.js";

const kinds = (events: WatchEvent[]) => events.map((e) => (e.kind === "snapshot" ? `snapshot${e.resync ? "(resync)" : ""}` : `${e.kind}@${e.revision}`));

function setup(options = {}) {
  const env = hubOf(options);
  env.registry.registerGroup({ group: "g" });
  env.registry.registerIdentifier({ group: "g", identifier: "x" });
  const flip = (status: number, identifier = "x") => env.registry.setStatus({ group: "g", identifier, status }).revision;
  return { ...env, flip };
}

describe("a watcher without start_revision", () => {
  it("goes snapshot -> catching_up -> live, reading changes made meanwhile from the history", () => {
    const { hub, flip } = setup();
    const w = hub.watch(request({ group: "g" }), "peer");
    expect(w.state).toBe("snapshot");
    const r1 = flip(-1); // made while the snapshot is still unread: not queued, read from the history
    expect(w.pending).toBe(0);

    const part = w.next() as WatchEvent;
    expect(part).toMatchObject({ kind: "snapshot", revision: r1 - 1, last: true, resync: false });
    expect(w.state).toBe("catching_up");
    expect(w.next()).toMatchObject({ kind: "change", revision: r1 });
    expect(w.state).toBe("live"); // that change was the head

    const r2 = flip(2);
    expect(w.pending).toBe(1);
    expect(drainNow(w)).toMatchObject({ events: [{ kind: "change", revision: r2 }], then: IDLE });
  });

  it("becomes live when the history holds nothing more for it", () => {
    const { hub } = setup();
    const w = hub.watch(request({ group: "g" }), "peer");
    expect(drainNow(w).then).toBe(IDLE);
    expect(w.state).toBe("live");
  });
});

describe("a watcher with start_revision", () => {
  it("starts catching_up: the matching changes after the revision, then live", () => {
    const { hub, registry, flip } = setup();
    const from = registry.revision;
    const r1 = flip(-1);
    registry.addReport({ group: "g", identifier: "x", text: "not watched" });
    const r2 = flip(3);
    const w = hub.watch(request({ group: "g", startRevision: from }), "peer");
    expect(w.state).toBe("catching_up");
    expect(kinds(drainNow(w).events)).toEqual([`change@${r1}`, `change@${r2}`]);
    expect(w.state).toBe("live");
  });
});

describe("over the budget", () => {
  it("drops the queue (over_budget), then resyncs with a snapshot and goes live again", () => {
    const { hub, registry, flip } = setup({ budgetMessages: 3 });
    const w = hub.watch(request({ group: "g" }), "peer");
    drainNow(w);
    for (let i = 0; i < 3; i++) flip(i % 2 ? 1 : -1);
    expect(w.pending).toBe(3);
    flip(5); // the fourth: past the budget
    expect(w.state).toBe("over_budget");
    expect(w.pending).toBe(0);
    flip(-5); // not queued: it will be in the snapshot

    const { events, then } = drainNow(w);
    expect(then).toBe(IDLE);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ kind: "snapshot", resync: true, last: true, revision: registry.revision });
    const snapshot = events[0] as Extract<WatchEvent, { kind: "snapshot" }>;
    expect(snapshot.identifiers.find((v) => v.identifier === "x")?.status).toBe(-5);
    expect(w.resyncs).toBe(1);
    expect(w.maxPending).toBe(3);
    expect(w.state).toBe("live");
  });

  it("counts estimated bytes too", () => {
    const { hub, registry } = setup({ budgetBytes: 200 });
    const w = hub.watch(request({ group: "g", includeDetails: true }), "peer");
    drainNow(w);
    registry.setStatus({ group: "g", identifier: "x", status: 1, details: "d".repeat(100) });
    expect(w.state).toBe("live");
    registry.setStatus({ group: "g", identifier: "x", status: 1, details: "e".repeat(100) });
    expect(w.state).toBe("over_budget");
  });

  it("a catching-up watcher that falls out of the history resyncs instead", () => {
    const { hub, registry, flip } = setup({ history: 3, budgetMessages: 3 });
    const from = registry.revision;
    const w = hub.watch(request({ group: "g", startRevision: from }), "peer");
    for (let i = 0; i < 5; i++) flip(i % 2 ? 1 : -1); // the history no longer holds from + 1
    const { events } = drainNow(w);
    expect(kinds(events)).toEqual(["snapshot(resync)"]);
    expect(w.resyncs).toBe(1);
  });
});

describe("ending", () => {
  it("drain: what is pending, then ENDED instead of IDLE", () => {
    const { hub, flip } = setup();
    const w = hub.watch(request({ group: "g" }), "peer");
    drainNow(w);
    const r = flip(-1);
    w.drain();
    expect(w.next()).toMatchObject({ revision: r });
    expect(w.next()).toBe(ENDED);
  });

  it("close: ENDED at once, queue dropped, quota freed; idempotent", () => {
    const { hub, flip } = setup();
    const w = hub.watch(request({ group: "g" }), "peer");
    drainNow(w);
    flip(-1);
    w.close();
    w.close();
    expect(w.state).toBe("closed");
    expect(w.pending).toBe(0);
    expect(w.next()).toBe(ENDED);
    expect(hub.watcherCount).toBe(0);
  });
});

describe("waking its consumer", () => {
  async function waiting(w: Watcher) {
    drainNow(w);
    let woken = 0;
    w.wait(() => woken++);
    return () => woken;
  }

  it("after a matching change, in a microtask (never inside the registry's write)", async () => {
    const { hub, flip } = setup();
    const w = hub.watch(request({ group: "g" }), "peer");
    const woken = await waiting(w);
    flip(-1, "main");
    flip(-1);
    expect(woken()).toBe(0);
    await microtasks();
    expect(woken()).toBe(1); // once per wait
  });

  it("not for a change it does not send (a details-only change without include_details)", async () => {
    const { hub, registry } = setup();
    const w = hub.watch(request({ group: "g" }), "peer");
    const woken = await waiting(w);
    registry.setStatus({ group: "g", identifier: "x", status: 1, details: "only details" });
    await microtasks();
    expect(woken()).toBe(0);
  });

  it("on drain and on close", async () => {
    const { hub } = setup();
    const a = hub.watch(request({ group: "g" }), "peer");
    const b = hub.watch(request({ group: "g" }), "peer");
    const wokenA = await waiting(a);
    const wokenB = await waiting(b);
    a.drain();
    b.close();
    await microtasks();
    expect([wokenA(), wokenB()]).toEqual([1, 1]);
    expect([a.next(), b.next()]).toEqual([ENDED, ENDED]);
  });
});
