/**
 * Leases end to end (docs/model.md, Leases), through the TS client over a real
 * socket against an in-process server whose monotonic clock is a fake one the
 * test moves: the lease fields of GetStatus and ListStatus, RefreshLease,
 * expiry and remove_after as a watcher sees them, and the errors with their
 * reasons.
 */
import { status as Code } from "@grpc/grpc-js";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { SrClient, type WatchStatusResponse } from "../../../clients/ts/index.js";
import { revisionOf, uniqueNames } from "../../helpers/rpc.js";
import { type TestServer, startServer } from "../../helpers/server.js";
import { collect } from "../../helpers/wait.js";
import { FakeClock } from "../../domain/watch/fake-clock.js";

const clock = new FakeClock();
let srv: TestServer;
let c: SrClient;
const uniq = uniqueNames();
const controllers: AbortController[] = [];

beforeAll(async () => {
  srv = await startServer((config) => (config.leases = { expiredStatus: -3, expiredDetails: "publisher silent" }), { clock });
  c = new SrClient(srv.address);
});

afterEach(() => {
  for (const controller of controllers.splice(0)) controller.abort();
});

afterAll(async () => {
  c?.close();
  await srv?.stop();
});

const seconds = (s: number, nanos = 0) => ({ seconds: BigInt(s), nanos });

async function group(extra: Parameters<SrClient["registerGroup"]>[0] = {}): Promise<string> {
  const g = uniq("lease");
  expect((await c.registerGroup({ ...extra, group: g })).created).toBe(true);
  return g;
}

/** A watch of one group with everything included, its snapshot already read. */
async function watched(group: string) {
  const controller = new AbortController();
  controllers.push(controller);
  const events = c.watch({ group, includeDetails: true, includeReports: true, includeRegistrations: true }, { signal: controller.signal, resume: false });
  await collect(events, (m) => m.event?.$case === "snapshot" && m.event.value.last);
  return events;
}

const changesOnly = (m: WatchStatusResponse) => m.event?.$case !== "progress";

/** Calls `run` and checks that the lease deadline it sets is `ttlMs` after the call, on the wall clock. */
async function deadlineOf<T>(ttlMs: number, run: () => Promise<T>, expireTime: (result: T) => Date | undefined): Promise<T> {
  const before = Date.now();
  const result = await run();
  const after = Date.now();
  const time = expireTime(result)?.getTime();
  expect(time).toBeGreaterThanOrEqual(before + ttlMs);
  expect(time).toBeLessThanOrEqual(after + ttlMs);
  return result;
}

describe("lease fields", () => {
  it("GetStatus and ListStatus carry lease_ttl and lease_expire_time while a lease is armed, and only then", async () => {
    const g = await group();
    await c.registerIdentifier({ group: g, identifier: "plain" });
    const got = await deadlineOf(
      1_500,
      async () => (await c.setStatus({ group: g, status: 2, ttl: seconds(1, 500_000_000) }), c.getStatus({ group: g })),
      (res) => res.status?.leaseExpireTime,
    );
    expect(got.status?.leaseTtl).toEqual(seconds(1, 500_000_000));
    const listed = await c.listStatus({ group: g });
    const [main, plain] = listed.groups[0]?.identifiers ?? [];
    expect(main).toMatchObject({ identifier: "main", leaseTtl: seconds(1, 500_000_000), leaseExpireTime: got.status?.leaseExpireTime });
    expect(plain?.identifier).toBe("plain");
    expect(plain?.leaseTtl).toBeUndefined();
    expect(plain?.leaseExpireTime).toBeUndefined();
  });

  it("registrations arm when they create, and say so in their answer", async () => {
    const g = await group({ ttl: seconds(10), removeAfter: seconds(60) });
    expect((await c.getStatus({ group: g })).status?.leaseTtl).toEqual(seconds(10));
    const res = await deadlineOf(
      20_000,
      () => c.registerIdentifier({ group: g, identifier: "worker", ttl: seconds(20) }),
      (r) => r.status?.leaseExpireTime,
    );
    expect(res.status?.leaseTtl).toEqual(seconds(20));
    // Registering again changes nothing, the lease included.
    const again = await c.registerIdentifier({ group: g, identifier: "worker", ttl: seconds(99) });
    expect(again).toMatchObject({ created: false, status: { leaseTtl: seconds(20), leaseExpireTime: res.status?.leaseExpireTime } });
  });
});

describe("RefreshLease", () => {
  it("restarts the lease without a revision; a new ttl replaces the old; ttl 0 disarms", async () => {
    const g = await group();
    await c.setStatus({ group: g, status: 1, ttl: seconds(5) });
    const revision = await revisionOf(c);
    const refreshed = await deadlineOf(5_000, () => c.refreshLease({ group: g }), (r) => r.leaseExpireTime);
    expect(refreshed).toMatchObject({ leaseTtl: seconds(5), revision });
    const longer = await deadlineOf(60_000, () => c.refreshLease({ group: g, identifier: "MAIN", ttl: seconds(60) }), (r) => r.leaseExpireTime);
    expect(longer.leaseTtl).toEqual(seconds(60));
    expect((await c.getStatus({ group: g })).status?.leaseExpireTime).toEqual(longer.leaseExpireTime);
    const disarmed = await c.refreshLease({ group: g, ttl: seconds(0) });
    expect(disarmed).toEqual({ leaseExpireTime: undefined, leaseTtl: undefined, revision });
    expect((await c.getStatus({ group: g })).status?.leaseTtl).toBeUndefined();
    expect(await revisionOf(c)).toBe(revision);
  });

  it("answers FAILED_PRECONDITION / LEASE_NOT_ARMED without a lease, and the usual reasons first", async () => {
    const g = await group();
    await expect(c.refreshLease({ group: g })).rejects.toMatchObject({ code: Code.FAILED_PRECONDITION, reason: "LEASE_NOT_ARMED" });
    await expect(c.refreshLease({ group: g, identifier: "ghost" })).rejects.toMatchObject({ reason: "IDENTIFIER_NOT_FOUND" });
    await expect(c.refreshLease({ group: "core" })).rejects.toMatchObject({ code: Code.PERMISSION_DENIED, reason: "INTERNAL_GROUP" });
    await expect(c.refreshLease({ group: g, ttl: seconds(0, 1) })).rejects.toMatchObject({
      code: Code.INVALID_ARGUMENT,
      reason: "DURATION_OUT_OF_RANGE",
      details: expect.stringMatching(/^ttl: /),
    });
  });
});

describe("expiry, as a watcher sees it", () => {
  it("a lease not refreshed in time turns the status to leases.expired_status with a report; refreshes hold it off", async () => {
    const g = await group();
    await c.setStatus({ group: g, status: 4, ttl: seconds(10) });
    const events = await watched(g);
    clock.advance(9_000);
    await c.refreshLease({ group: g });
    clock.advance(9_000);
    await c.setStatus({ group: g, status: 4 }); // changes nothing, restarts the lease
    clock.advance(9_999);
    expect((await c.getStatus({ group: g })).status?.status).toBe(4);
    clock.advance(1);
    const [changed, report] = await collect(events, (_m, all) => all.filter(changesOnly).length === 2);
    expect(changed?.event).toEqual({
      $case: "statusChanged",
      value: { group: g, identifier: "main", status: -3, oldStatus: 4, details: "publisher silent", ready: false },
    });
    expect(report?.event?.$case === "reportAdded" && report.event.value.report?.text).toBe("lease expired after 10 s without SetStatus or RefreshLease");
    const now = await c.getStatus({ group: g });
    expect(now.status).toMatchObject({ status: -3, details: "publisher silent", ready: false, leaseTtl: undefined });
    expect((await c.checkStatus({ group: g, identifier: "all" })).ready).toBe(false);
  });

  it("remove_after unregisters main's whole group, which then reads GROUP_NOT_FOUND", async () => {
    const g = await group({ ttl: seconds(5), removeAfter: seconds(30) });
    const events = await watched(g);
    clock.advance(5_000 + 30_000);
    const seen = await collect(events, (m) => m.event?.$case === "unregistered");
    expect(seen.filter(changesOnly).map((m) => m.event?.$case)).toEqual(["statusChanged", "reportAdded", "unregistered"]);
    expect(seen.at(-1)?.event).toEqual({ $case: "unregistered", value: { group: g, identifier: "" } });
    await expect(c.getStatus({ group: g, identifier: "all" })).rejects.toMatchObject({ code: Code.NOT_FOUND, reason: "GROUP_NOT_FOUND" });
  });

  it("remove_after unregisters an identifier; one armed again in time stays", async () => {
    const g = await group();
    await c.registerIdentifier({ group: g, identifier: "gone", ttl: seconds(2), removeAfter: seconds(3) });
    await c.registerIdentifier({ group: g, identifier: "back", ttl: seconds(2), removeAfter: seconds(3) });
    const events = await watched(g);
    clock.advance(4_000);
    await c.setStatus({ group: g, identifier: "back", status: 1, ttl: seconds(60) });
    clock.advance(1_000);
    const seen = await collect(events, (m) => m.event?.$case === "unregistered");
    expect(seen.at(-1)?.event).toEqual({ $case: "unregistered", value: { group: g, identifier: "gone" } });
    expect((await c.listIdentifiers({ group: g })).groups[0]?.identifiers).toEqual(["main", "back"]);
    expect((await c.getStatus({ group: g, identifier: "back" })).status).toMatchObject({ status: 1, leaseTtl: seconds(60) });
  });
});

describe("errors", () => {
  it("DURATION_OUT_OF_RANGE names the field; TTL_REQUIRED without a lease; nothing changes", async () => {
    const g = await group();
    const before = await revisionOf(c);
    const tooLong = seconds(30 * 24 * 3600, 1);
    await expect(c.setStatus({ group: g, status: 2, ttl: tooLong })).rejects.toMatchObject({
      code: Code.INVALID_ARGUMENT,
      reason: "DURATION_OUT_OF_RANGE",
      details: expect.stringMatching(/^ttl: /),
    });
    await expect(c.registerIdentifier({ group: g, identifier: "x", ttl: seconds(5), removeAfter: seconds(-1) })).rejects.toMatchObject({
      reason: "DURATION_OUT_OF_RANGE",
      details: expect.stringMatching(/^remove_after: /),
    });
    await expect(c.setStatus({ group: g, status: 2, removeAfter: seconds(60) })).rejects.toMatchObject({
      code: Code.INVALID_ARGUMENT,
      reason: "TTL_REQUIRED",
    });
    await expect(c.registerGroup({ group: uniq("lease"), removeAfter: seconds(60) })).rejects.toMatchObject({ reason: "TTL_REQUIRED" });
    expect(await revisionOf(c)).toBe(before);
    expect((await c.getStatus({ group: g })).status?.status).toBe(1);
  });
});
