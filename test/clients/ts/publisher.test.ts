// The publisher: it sets its status once with a lease, then only refreshes
// the lease, so what another writer set is never overwritten; it retries
// transient failures while the lease lasts, reports a lost lease once, and
// dies with its process. Its clock is injected: a refresh is fired at once
// instead of a third of the ttl later.
import path from "node:path";
import { Metadata, status } from "@grpc/grpc-js";
import { afterAll, describe, expect, it } from "vitest";
import {
  type LeaseCalls,
  type Publisher,
  type PublisherClock,
  type RefreshLeaseResponse,
  type SrClient,
  SrError,
  publish,
} from "../../../clients/ts/index.js";
import { killAllProcesses, removeTempFiles, repoRoot, runToEnd, writeTempFile } from "../../helpers/process.js";
import { serverPerFile, uniqueNames } from "../../helpers/rpc.js";
import type { TestServer } from "../../helpers/server.js";
import { waitFor } from "../../helpers/wait.js";

/** Timers that run only when the test fires them; time moves only then. */
class ManualClock implements PublisherClock {
  private time = 0;
  private seq = 0;
  private readonly timers = new Map<number, { at: number; run: () => void }>();
  private scheduled: (() => void) | undefined;

  now(): number {
    return this.time;
  }

  setTimeout(run: () => void, ms: number): number {
    this.timers.set(++this.seq, { at: this.time + ms, run });
    this.scheduled?.();
    return this.seq;
  }

  clearTimeout(handle: unknown): void {
    this.timers.delete(handle as number);
  }

  get pending(): number {
    return this.timers.size;
  }

  /**
   * Moves time to the next timer and runs it, then waits for what that led
   * to: the publisher's next timer, or its end. Answers the timer's delay.
   */
  async fire(publisher: Publisher): Promise<number> {
    const [id, timer] = [...this.timers].sort(([, a], [, b]) => a.at - b.at)[0] ?? [];
    if (id === undefined || !timer) throw new Error("no timer to fire");
    this.timers.delete(id);
    const delay = timer.at - this.time;
    this.time = timer.at;
    const next = new Promise<void>((resolve) => (this.scheduled = resolve));
    timer.run();
    await Promise.race([next, publisher.done]);
    this.scheduled = undefined;
    return delay;
  }
}

const unavailable = () => new SrError({ code: status.UNAVAILABLE, details: "connection refused", metadata: new Metadata() });

/** LeaseCalls answering each RefreshLease with the next of `answers` (then success); records every call. */
function fakeCalls(answers: (RefreshLeaseResponse | SrError)[] = []) {
  const log = { setStatus: [] as unknown[], refreshLease: [] as { request: unknown; timeoutMs: number | undefined }[] };
  const calls: LeaseCalls = {
    setStatus: async (request) => {
      log.setStatus.push(request);
      return { changed: true, oldStatus: 1, revision: 1n };
    },
    refreshLease: async (request, opts) => {
      log.refreshLease.push({ request, timeoutMs: opts?.timeoutMs });
      const answer = answers.shift() ?? { revision: 1n };
      if (answer instanceof Error) throw answer;
      return answer;
    },
  };
  return { calls, log };
}

describe("the publisher's schedule (no server)", () => {
  it("sets the status once with the ttl, then refreshes every third of it", async () => {
    const clock = new ManualClock();
    const { calls, log } = fakeCalls();
    const publisher = await publish(calls, { group: "g", identifier: "w", status: 1, details: "ready", ttlMs: 3_000, removeAfterMs: 60_000 }, { clock });
    expect(log.setStatus).toEqual([
      { group: "g", identifier: "w", status: 1, details: "ready", ttl: { seconds: 3n, nanos: 0 }, removeAfter: { seconds: 60n, nanos: 0 } },
    ]);
    expect([await clock.fire(publisher), await clock.fire(publisher), await clock.fire(publisher)]).toEqual([1_000, 1_000, 1_000]);
    expect(log.refreshLease.map((call) => call.request)).toEqual(Array(3).fill({ group: "g", identifier: "w" }));
    expect(log.setStatus, "never a second SetStatus").toHaveLength(1);
    publisher.stop();
  });

  it("follows a ttl another writer gave the lease", async () => {
    const clock = new ManualClock();
    const { calls } = fakeCalls([{ revision: 1n, leaseTtl: { seconds: 9n, nanos: 0 } }]);
    const publisher = await publish(calls, { group: "g", status: 1, ttlMs: 3_000 }, { clock });
    expect([await clock.fire(publisher), await clock.fire(publisher)]).toEqual([1_000, 3_000]);
    publisher.stop();
  });

  it("retries a transient failure sooner and sooner, then goes back to its rhythm", async () => {
    const clock = new ManualClock();
    const { calls, log } = fakeCalls([unavailable(), unavailable()]);
    const publisher = await publish(calls, { group: "g", status: 1, ttlMs: 30_000 }, { clock, retryMs: 100 });
    const delays = [];
    for (let i = 0; i < 4; i++) delays.push(await clock.fire(publisher));
    expect(delays).toEqual([10_000, 100, 200, 10_000]);
    expect(publisher.state).toBe("active");
    // Every try gives up in time for the next one, never later than the lease runs out.
    expect(log.refreshLease.every((call) => call.timeoutMs !== undefined && call.timeoutMs <= 10_000)).toBe(true);
    publisher.stop();
  });

  it("reports the lease lost, once, when no retry got through before it ran out", async () => {
    const clock = new ManualClock();
    const { calls } = fakeCalls(Array.from({ length: 100 }, unavailable));
    const lost: Error[] = [];
    const publisher = await publish(calls, { group: "g", status: 1, ttlMs: 3_000 }, { clock, onLost: (error) => lost.push(error) });
    let elapsed = 0;
    while (publisher.state === "active") elapsed += await clock.fire(publisher);
    expect(elapsed, "the last try goes out before the lease runs out").toBeLessThan(3_000);
    expect(publisher.state).toBe("lost");
    expect(lost).toHaveLength(1);
    expect(lost[0]).toMatchObject({ code: status.UNAVAILABLE });
    expect(await publisher.done).toBe(lost[0]);
    expect(clock.pending, "nothing is left scheduled").toBe(0);
  });

  it("stops at once on an error a retry cannot fix", async () => {
    const clock = new ManualClock();
    const refused = new SrError({ code: status.PERMISSION_DENIED, details: "no", metadata: new Metadata() });
    const { calls, log } = fakeCalls([refused]);
    const publisher = await publish(calls, { group: "g", status: 1, ttlMs: 3_000 }, { clock });
    await clock.fire(publisher);
    expect(await publisher.done).toBe(refused);
    expect(log.refreshLease).toHaveLength(1);
    expect(clock.pending).toBe(0);
  });

  it("stop() leaves nothing scheduled and ignores a refresh still on its way", async () => {
    const clock = new ManualClock();
    let answer: (response: RefreshLeaseResponse) => void = () => {};
    const { calls } = fakeCalls();
    calls.refreshLease = () => new Promise((resolve) => (answer = resolve));
    const publisher = await publish(calls, { group: "g", status: 1, ttlMs: 3_000 }, { clock });
    void clock.fire(publisher);
    publisher.stop();
    answer({ revision: 1n });
    expect(await publisher.done).toBeUndefined();
    expect(publisher.state).toBe("stopped");
    expect(clock.pending).toBe(0);
  });

  it("refuses a ttl that is not a positive duration before calling anything", async () => {
    const { calls, log } = fakeCalls();
    await expect(publish(calls, { group: "g", status: 1, ttlMs: 0 })).rejects.toThrow(RangeError);
    expect(log.setStatus).toEqual([]);
  });
});

describe("the publisher against a server", () => {
  let srv: TestServer;
  let sr: SrClient;
  serverPerFile((s, c) => {
    srv = s;
    sr = c;
  });
  afterAll(async () => {
    await killAllProcesses();
    removeTempFiles();
  });
  const name = uniqueNames();

  async function registered(): Promise<string> {
    const group = name("pub");
    await sr.registerGroup({ group });
    return group;
  }

  it("publishes with a lease and refreshes it without touching what another writer set", async () => {
    const group = await registered();
    const clock = new ManualClock();
    const publisher = await sr.publish({ group, status: 1, details: "ready", ttlMs: 5_000 }, { clock });
    expect((await sr.getStatus({ group })).status).toMatchObject({ status: 1, details: "ready", leaseTtl: { seconds: 5n, nanos: 0 } });
    // An operator takes over the status (keeping the lease armed): the publisher must not undo it.
    await sr.setStatus({ group, status: -5, details: "maintenance" });
    const before = await sr.getStatus({ group });
    await clock.fire(publisher);
    // The refresh got through: the next one is due a third of the ttl later, not a retry's delay.
    expect(await clock.fire(publisher)).toBeCloseTo(5_000 / 3);
    const after = await sr.getStatus({ group });
    expect(after.status).toMatchObject({ status: -5, details: "maintenance" });
    expect(after.revision, "a refresh is not a change").toBe(before.revision);
    expect(after.status?.leaseExpireTime?.getTime()).toBeGreaterThanOrEqual(before.status?.leaseExpireTime?.getTime() ?? Infinity);
    publisher.stop();
  });

  it("fails to publish with the first SetStatus's reason", async () => {
    await expect(sr.publish({ group: name("missing"), status: 1, ttlMs: 5_000 })).rejects.toMatchObject({ reason: "GROUP_NOT_FOUND" });
  });

  it("loses the lease when another writer disarms it (LEASE_NOT_ARMED)", async () => {
    const group = await registered();
    const clock = new ManualClock();
    const lost: Error[] = [];
    const publisher = await sr.publish({ group, status: 1, ttlMs: 5_000 }, { clock, onLost: (error) => lost.push(error) });
    await sr.setStatus({ group, status: 1, ttl: { seconds: 0n, nanos: 0 } });
    await clock.fire(publisher);
    expect(await publisher.done).toMatchObject({ reason: "LEASE_NOT_ARMED" });
    expect(lost).toHaveLength(1);
    expect(clock.pending).toBe(0);
  });

  it("loses the lease when its identifier is removed (IDENTIFIER_NOT_FOUND)", async () => {
    const group = await registered();
    await sr.registerIdentifier({ group, identifier: "worker" });
    const clock = new ManualClock();
    const publisher = await sr.publish({ group, identifier: "worker", status: 1, ttlMs: 5_000 }, { clock });
    await sr.unregisterIdentifier({ group, identifier: "worker" });
    await clock.fire(publisher);
    expect(await publisher.done).toMatchObject({ reason: "IDENTIFIER_NOT_FOUND" });
  });

  it("does not keep its process alive, and once that process is gone the lease runs out", async () => {
    const group = await registered();
    // A program whose last act is publishing: it ends by itself, and nothing refreshes after it.
    const script = writeTempFile(
      "publish-and-return.mts",
      `import { SrClient } from ${JSON.stringify(path.join(repoRoot, "clients/ts/index.ts"))};
const sr = new SrClient(process.env.SR_ADDRESS!);
await sr.publish({ group: process.env.SR_GROUP!, status: 1, details: "alive", ttlMs: 1_000 });
console.log("published");`,
    );
    const child = await runToEnd(path.join(repoRoot, "node_modules/.bin/tsx"), [script], { env: { SR_ADDRESS: srv.address, SR_GROUP: group } }, 20_000);
    expect(child.lines).toContain("published");
    await waitFor(async () => (await sr.getStatus({ group })).status?.details === "lease expired", 5_000, "the lease to run out");
    expect((await sr.getStatus({ group })).status).toMatchObject({ status: -1, ready: false });
  });
});
