/**
 * A durable registry whose storage fails to keep a lease (`saveLease`, no
 * revision): the same as a failed commit. On a write the caller gets
 * STORAGE_UNAVAILABLE and every later write is refused; on the lease timer
 * nothing escapes (no crash of the process) and the other deadlines still
 * come. A fake Storage on an injected clock.
 */
import { describe, expect, it } from "vitest";
import { DeadlineQueue } from "../../../src/domain/leases/deadline-queue.js";
import { Registry } from "../../../src/domain/registry/registry.js";
import type { Storage } from "../../../src/domain/storage/storage.js";
import { thrown } from "../../helpers/errors.js";
import { FakeClock } from "../watch/fake-clock.js";

const SECOND = 1_000;

/** Keeps nothing, durable all the same; `saveLease` throws once `failing` is set. */
function failingStorage() {
  const state = { failing: false, saves: 0 };
  const storage: Storage = {
    durable: true,
    load: () => undefined,
    commit: () => {},
    saveLease: () => {
      state.saves++;
      if (state.failing) throw new Error("disk full");
    },
    close: () => {},
  };
  return { storage, state };
}

function durable() {
  const { storage, state } = failingStorage();
  const clock = new FakeClock();
  const registry = new Registry(undefined, Date.now, { clock, storage });
  registry.registerGroup({ group: "app" });
  registry.registerIdentifier({ group: "app", identifier: "a", status: 1 });
  registry.registerIdentifier({ group: "app", identifier: "b", status: 1 });
  return { registry, clock, state };
}

describe("a failed lease save", () => {
  it("on SetStatus without a change but with a ttl is STORAGE_UNAVAILABLE, and every later write is refused", () => {
    const { registry, state } = durable();
    state.failing = true;
    const error = thrown(() => registry.setStatus({ group: "app", identifier: "a", status: 1, ttlMs: 10 * SECOND }));
    expect(error.reason).toBe("STORAGE_UNAVAILABLE");
    expect(error.message).toContain("disk full");
    expect(thrown(() => registry.setStatus({ group: "app", identifier: "b", status: 2 })).reason).toBe("STORAGE_UNAVAILABLE");
    expect(thrown(() => registry.registerGroup({ group: "other" })).reason).toBe("STORAGE_UNAVAILABLE");
    registry.close();
  });

  it("on RefreshLease with a new ttl is STORAGE_UNAVAILABLE, and every later write is refused", () => {
    const { registry, state } = durable();
    registry.setStatus({ group: "app", identifier: "a", status: 2, ttlMs: 10 * SECOND });
    state.failing = true;
    expect(thrown(() => registry.refreshLease({ group: "app", identifier: "a", ttlMs: 20 * SECOND })).reason).toBe("STORAGE_UNAVAILABLE");
    expect(thrown(() => registry.refreshLease({ group: "app", identifier: "a" })).reason).toBe("STORAGE_UNAVAILABLE");
    expect(thrown(() => registry.addReport({ group: "app", identifier: "a", text: "x" })).reason).toBe("STORAGE_UNAVAILABLE");
    registry.close();
  });

  it("on the lease timer throws nothing out of it, latches STORAGE_UNAVAILABLE and leaves later deadlines to come", () => {
    const { registry, clock, state } = durable();
    registry.setStatus({ group: "app", identifier: "a", status: 2, ttlMs: 1 * SECOND });
    registry.setStatus({ group: "app", identifier: "b", status: 2, ttlMs: 5 * SECOND });
    const saves = state.saves;
    state.failing = true;
    expect(() => clock.advance(1 * SECOND)).not.toThrow();
    expect(state.saves).toBeGreaterThan(saves);
    expect(registry.getStatus({ group: "app", identifier: "a" }).status.status).toBe(-1);
    expect(thrown(() => registry.setStatus({ group: "app", identifier: "a", status: 3 })).reason).toBe("STORAGE_UNAVAILABLE");
    // b's deadline still fires (its writes refused, as every write now is), nothing escaping either.
    expect(registry.scheduledLeases).toBe(1);
    expect(() => clock.advance(5 * SECOND)).not.toThrow();
    expect(registry.scheduledLeases).toBe(0);
    expect(registry.leaseExpirations).toBe(2);
    registry.close();
  });
});

describe("DeadlineQueue", () => {
  it("keeps a handler that throws from escaping the timer or holding back the items due with or after it", () => {
    const clock = new FakeClock();
    const handled: string[] = [];
    const failures: unknown[] = [];
    const queue = new DeadlineQueue<string>(
      clock,
      (item) => {
        handled.push(item);
        if (item.startsWith("bad")) throw new Error(`${item} failed`);
      },
      (error) => failures.push((error as Error).message),
    );
    const start = clock.now();
    queue.schedule("bad1", start + 10);
    queue.schedule("good1", start + 10);
    queue.schedule("bad2", start + 20);
    queue.schedule("good2", start + 30);
    expect(() => clock.advance(10)).not.toThrow();
    expect(handled.sort()).toEqual(["bad1", "good1"]);
    expect(() => clock.advance(20)).not.toThrow();
    expect(handled.slice(2)).toEqual(["bad2", "good2"]);
    expect(failures).toEqual(["bad1 failed", "bad2 failed"]);
    expect(queue.size).toBe(0);
  });
});
