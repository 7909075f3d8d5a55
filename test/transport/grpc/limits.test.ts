/**
 * End to end: count limits (docs/model.md, Limits) on a server started with
 * small ones: RESOURCE_EXHAUSTED naming the limit, nothing changed, and room
 * again once something is removed. Each test removes what it registered.
 */
import { type ServiceError, status as Code } from "@grpc/grpc-js";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { SrClient, type WatchStatusResponse } from "../../../clients/ts/index.js";
import { failsWithoutChange, uniqueNames } from "../../helpers/rpc.js";
import { type TestServer, startServer } from "../../helpers/server.js";

let srv: TestServer;
let c: SrClient;

beforeAll(async () => {
  srv = await startServer((config) => {
    config.limits.maxGroups = 5; // core and 4 public groups
    config.limits.maxIdentifiersPerGroup = 3;
    config.limits.maxIdentifiers = 8; // core/main included
    config.limits.maxReceiveMessageBytes = 64 * 1024;
    config.watch.maxWatchersPerConnection = 2;
    config.watch.maxWatchers = 3;
  });
  c = new SrClient(srv.address);
});

afterAll(async () => {
  c?.close();
  await srv?.stop();
});

/** Leaves only core behind, so each test starts from the same counts. */
afterEach(async () => {
  const listed = await c.listIdentifiers({});
  for (const g of listed.groups) if (!g.internal) await c.unregisterGroup({ group: g.group });
});

const uniq = uniqueNames();


const fails = (call: () => Promise<unknown>, code: Code, message: RegExp) => failsWithoutChange(c, call, code, message);

describe("count limits", () => {
  it("max_groups counts core: the 5th group is RESOURCE_EXHAUSTED naming the limit", async () => {
    const names = [uniq("g"), uniq("g"), uniq("g"), uniq("g")];
    for (const group of names) expect((await c.registerGroup({ group })).created).toBe(true);
    const extra = uniq("g");
    await fails(() => c.registerGroup({ group: extra }), Code.RESOURCE_EXHAUSTED, /max_groups/);
    await fails(() => c.getStatus({ group: extra }), Code.NOT_FOUND, /group/);
    // Re-registering an existing group is still fine (idempotent, creates nothing).
    expect((await c.registerGroup({ group: names[0] as string })).created).toBe(false);
    // Room again once one is removed.
    await c.unregisterGroup({ group: names[1] as string });
    expect((await c.registerGroup({ group: extra })).created).toBe(true);
  });

  it("max_identifiers_per_group counts main: the 4th identifier is RESOURCE_EXHAUSTED naming the limit", async () => {
    const g = uniq("per");
    await c.registerGroup({ group: g });
    await c.registerIdentifier({ group: g, identifier: "a" });
    await c.registerIdentifier({ group: g, identifier: "b" });
    await fails(() => c.registerIdentifier({ group: g, identifier: "c" }), Code.RESOURCE_EXHAUSTED, /max_identifiers_per_group/);
    expect((await c.registerIdentifier({ group: g, identifier: "A" })).created).toBe(false);
    expect((await c.listIdentifiers({ group: g })).groups[0]?.identifiers).toEqual(["main", "a", "b"]);
    await c.unregisterIdentifier({ group: g, identifier: "main" });
    expect((await c.registerIdentifier({ group: g, identifier: "c" })).created).toBe(true);
  });

  it("max_identifiers counts every group: RESOURCE_EXHAUSTED naming the limit, for identifiers and for a group's main", async () => {
    const g1 = uniq("tot");
    const g2 = uniq("tot");
    const g3 = uniq("tot");
    for (const g of [g1, g2]) {
      await c.registerGroup({ group: g });
      await c.registerIdentifier({ group: g, identifier: "a" });
      await c.registerIdentifier({ group: g, identifier: "b" });
    }
    await c.registerGroup({ group: g3 }); // core 1 + 3 + 3 + 1 = 8
    await fails(() => c.registerIdentifier({ group: g3, identifier: "x" }), Code.RESOURCE_EXHAUSTED, /max_identifiers(?!_per_group)/);
    await fails(() => c.registerGroup({ group: uniq("tot") }), Code.RESOURCE_EXHAUSTED, /max_identifiers(?!_per_group)/);
    await c.unregisterIdentifier({ group: g1, identifier: "a" });
    expect((await c.registerIdentifier({ group: g3, identifier: "x" })).created).toBe(true);
  });
});

describe("watch limits", () => {
  /** Opens a watch and resolves once its snapshot has arrived. */
  async function openWatch(client: SrClient, group: string) {
    const abort = new AbortController();
    const it = client.watch({ group }, { signal: abort.signal, resume: false })[Symbol.asyncIterator]();
    const first = await it.next();
    return { abort, it, first: first.value as WatchStatusResponse };
  }

  async function watchFails(client: SrClient, message: RegExp) {
    const abort = new AbortController();
    try {
      const it = client.watch({ group: "core" }, { signal: abort.signal, resume: false })[Symbol.asyncIterator]();
      const error = await it.next().then(
        () => undefined,
        (e: ServiceError) => e,
      );
      expect(error).toMatchObject({ code: Code.RESOURCE_EXHAUSTED, details: expect.stringMatching(message) });
    } finally {
      abort.abort();
    }
  }

  it("max_watchers_per_connection and max_watchers: RESOURCE_EXHAUSTED naming the limit", async () => {
    // Its own connection (grpc-js otherwise shares one between clients of the same address).
    const c2 = new SrClient(srv.address, { channelOptions: { "grpc.use_local_subchannel_pool": 1 } });
    const open: { abort: AbortController }[] = [];
    try {
      open.push(await openWatch(c, "core"), await openWatch(c, "core"));
      await watchFails(c, /max_watchers_per_connection/);
      // Another connection still has room, up to the server-wide limit.
      open.push(await openWatch(c2, "core"));
      await watchFails(c2, /max_watchers(?!_per)/);
      // Ending a watch frees its place.
      open.shift()?.abort.abort();
      await vi.waitFor(() => expect(srv.hub.watcherCount).toBe(2));
      const again = await openWatch(c, "core");
      open.push(again);
      expect(again.first.event?.$case).toBe("snapshot");
    } finally {
      for (const w of open) w.abort.abort();
      c2.close();
    }
    await vi.waitFor(() => expect(srv.hub.watcherCount).toBe(0));
  });
});

describe("message size", () => {
  it("a request over max_receive_message_bytes is RESOURCE_EXHAUSTED, and the server goes on", async () => {
    const g = uniq("size");
    await c.registerGroup({ group: g });
    // details are capped at 2048 bytes anyway, but the message limit applies first
    await fails(() => c.setStatus({ group: g, status: 2, details: "x".repeat(70 * 1024) }), Code.RESOURCE_EXHAUSTED, /./);
    expect(await c.checkStatus({ group: g })).toEqual({ ready: true, status: 1 });
  });
});
