/** Progress after the idle interval, on a fake clock (docs/watch.md, WatchStatus). */
import { describe, expect, it } from "vitest";
import { ENDED, IDLE } from "../../../src/domain/watch/source.js";
import { drainNow, hubOf, microtasks, request } from "./setup.js";

const INTERVAL = 30_000;

async function idleWatcher() {
  const env = hubOf({ progressIntervalMs: INTERVAL });
  env.registry.registerGroup({ group: "watched" });
  env.registry.registerGroup({ group: "other" });
  const watcher = env.hub.watch(request({ group: "watched" }), "peer");
  drainNow(watcher);
  let woken = 0;
  const wait = () => watcher.wait(() => woken++);
  wait();
  return { ...env, watcher, wait, woken: () => woken };
}

describe("progress", () => {
  it("comes after the idle interval, not before, with the current revision", async () => {
    const { clock, registry, watcher, woken } = await idleWatcher();
    clock.advance(INTERVAL - 1);
    await microtasks();
    expect(woken()).toBe(0);
    registry.setStatus({ group: "other", identifier: "main", status: -1 }); // not watched, but moves the revision
    clock.advance(1);
    await microtasks();
    expect(woken()).toBe(1);
    expect(watcher.next()).toEqual({ kind: "progress", revision: registry.revision });
    expect(watcher.next()).toBe(IDLE);
  });

  it("the idle time restarts with every event sent", async () => {
    const { clock, registry, watcher, wait, woken } = await idleWatcher();
    clock.advance(20_000);
    const set = registry.setStatus({ group: "watched", identifier: "main", status: -1 });
    await microtasks();
    expect(woken()).toBe(1);
    expect(watcher.next()).toMatchObject({ kind: "change", revision: set.revision });
    expect(watcher.next()).toBe(IDLE);
    wait();
    clock.advance(INTERVAL - 1); // the first timer fires at 30 s, finds the watcher busy 10 s ago, re-arms
    await microtasks();
    expect(woken()).toBe(1);
    clock.advance(1);
    await microtasks();
    expect(woken()).toBe(2);
    expect(watcher.next()).toMatchObject({ kind: "progress" });
  });

  it("a consumer that was busy past the interval gets it as soon as it waits", async () => {
    const env = hubOf({ progressIntervalMs: INTERVAL });
    const watcher = env.hub.watch(request(), "peer");
    drainNow(watcher);
    env.clock.advance(INTERVAL * 2); // not waiting: no timer, no progress
    expect(env.clock.pendingTimers).toBe(0);
    let woken = 0;
    watcher.wait(() => woken++);
    env.clock.advance(0);
    await microtasks();
    expect(woken).toBe(1);
    expect(watcher.next()).toMatchObject({ kind: "progress" });
  });

  it("is not sent while draining, and a closed watcher leaves no timer", async () => {
    const { clock, hub, watcher } = await idleWatcher();
    hub.drainAll();
    clock.advance(INTERVAL);
    expect(watcher.next()).toBe(ENDED);
    watcher.close();
    expect(clock.pendingTimers).toBe(0);
  });
});
