import { status } from "@grpc/grpc-js";
import { afterEach, describe, expect, it } from "vitest";
import { SrClient, SrError, type WatchStatusResponse } from "../../../clients/ts/index.js";
import { type Proxy, startProxy } from "../../helpers/proxy.js";
import { type TestServer, startServer } from "../../helpers/server.js";
import { collect, waitFor } from "../../helpers/wait.js";

const statusesOf = (events: WatchStatusResponse[]) =>
  events.flatMap((e) => (e.event?.$case === "statusChanged" ? [e.event.value.status] : []));

const lastSnapshot = (e: WatchStatusResponse) => e.event?.$case === "snapshot" && e.event.value.last;

describe("TS client watch resumes across dropped connections", () => {
  const cleanup: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const fn of cleanup.splice(0).reverse()) await fn();
  });

  /** A resuming watch of group `svc` with quick reconnects, counting its resyncs. */
  function watchSvc(client: SrClient) {
    const stop = new AbortController();
    let resyncs = 0;
    const watch = client
      .watch({ group: "svc" }, { signal: stop.signal, backoff: { initialMs: 20, maxMs: 200 }, onResync: () => resyncs++ })
      [Symbol.asyncIterator]();
    return { watch, stop, resyncs: () => resyncs };
  }

  async function setup(tune?: Parameters<typeof startServer>[0]): Promise<{ srv: TestServer; proxy: Proxy; client: SrClient }> {
    const srv = await startServer(tune);
    const proxy = await startProxy(srv.address);
    const client = new SrClient(proxy.address);
    cleanup.push(
      () => srv.stop(),
      () => proxy.close(),
      () => client.close(),
      async () => {
        // Every watch of the test has ended: the server holds no watcher.
        await waitFor(() => srv.hub.watcherCount === 0, 5_000, "the server to free every watcher");
      },
    );
    return { srv, proxy, client };
  }

  it("delivers the changes made while disconnected, once each, without a new snapshot", async () => {
    const { srv, proxy, client } = await setup();
    srv.registry.registerGroup({ group: "svc" });
    const { watch, stop, resyncs } = watchSvc(client);
    await collect(watch, lastSnapshot, 10_000);
    for (const s of [2, 3, 4]) srv.registry.setStatus({ group: "svc", identifier: "", status: s });
    const before = await collect(watch, 3, 10_000);
    proxy.cut();
    // Made while the connection is down (synchronously, before any reconnect).
    const revisions: number[] = [];
    for (const s of [5, 6, 7, 8]) revisions.push(srv.registry.setStatus({ group: "svc", identifier: "", status: s }).revision);
    const after = await collect(watch, 4, 10_000);
    expect(statusesOf([...before, ...after])).toEqual([2, 3, 4, 5, 6, 7, 8]);
    expect(after.map((e) => Number(e.revision))).toEqual(revisions);
    expect(resyncs()).toBe(0);
    // And it goes on live after the resume.
    srv.registry.setStatus({ group: "svc", identifier: "", status: -9 });
    expect(statusesOf(await collect(watch, 1, 10_000))).toEqual([-9]);
    stop.abort();
    expect((await watch.next()).done).toBe(true);
  });

  it("falls back to a fresh snapshot marked resync when the history no longer reaches back", async () => {
    const { srv, proxy, client } = await setup((c) => {
      c.watch.history = 5;
      c.watch.budgetMessages = 5;
    });
    srv.registry.registerGroup({ group: "svc" });
    const { watch, stop, resyncs } = watchSvc(client);
    await collect(watch, lastSnapshot, 10_000);
    srv.registry.setStatus({ group: "svc", identifier: "", status: 2 });
    await collect(watch, 1, 10_000);
    proxy.cut();
    for (let s = 3; s < 30; s++) srv.registry.setStatus({ group: "svc", identifier: "", status: s });
    const [snapshot] = await collect(watch, lastSnapshot, 10_000);
    expect(snapshot?.event?.$case).toBe("snapshot");
    if (snapshot?.event?.$case !== "snapshot") throw new Error("unreachable");
    expect(snapshot.event.value.resync).toBe(true);
    expect(snapshot.event.value.identifiers.map((i) => i.status)).toEqual([29]);
    expect(Number(snapshot.revision)).toBe(srv.registry.revision);
    expect(resyncs()).toBe(1);
    stop.abort();
  });

  it("does not resume against a different registry: it resyncs from the new one", async () => {
    const { srv, proxy, client } = await setup();
    srv.registry.registerGroup({ group: "svc" });
    const { watch, stop, resyncs } = watchSvc(client);
    await collect(watch, lastSnapshot, 10_000);
    // A second server whose revisions run past the first's: a resume would be accepted but wrong.
    const other = await startServer();
    cleanup.push(() => other.stop());
    other.registry.registerGroup({ group: "svc", status: -7 });
    for (let i = 0; i < 20; i++) other.registry.registerGroup({ group: `filler${i}` });
    proxy.retarget(other.address);
    proxy.cut();
    const [snapshot] = await collect(watch, lastSnapshot, 10_000);
    if (snapshot?.event?.$case !== "snapshot") throw new Error(`expected a snapshot, got ${snapshot?.event?.$case}`);
    expect(snapshot.event.value.resync).toBe(true);
    expect(snapshot.event.value.identifiers.map((i) => i.status)).toEqual([-7]);
    expect(resyncs()).toBe(1);
    stop.abort();
  });

  it("throws errors a retry cannot fix instead of retrying forever", async () => {
    const { client } = await setup();
    const watch = client.watch({ identifier: "x" });
    await expect(watch.next()).rejects.toMatchObject({ code: status.INVALID_ARGUMENT });
  });
});

describe("start_revision on the wire", () => {
  let srv: TestServer;
  let client: SrClient;
  afterEach(async () => {
    client.close();
    await srv.stop();
  });

  it("replays exactly the retained changes after it, then goes live, with no gap or duplicate", async () => {
    srv = await startServer();
    client = new SrClient(srv.address);
    srv.registry.registerGroup({ group: "g" });
    const from = srv.registry.revision;
    for (let s = 1; s <= 50; s++) srv.registry.setStatus({ group: "g", identifier: "", status: s % 2 ? 100 + s : -s });
    const stop = new AbortController();
    const watch = client.watch({ group: "g", startRevision: from }, { signal: stop.signal, resume: false })[Symbol.asyncIterator]();
    const first = await collect(watch, 10, 10_000);
    // Changes made while the replay is still being sent.
    for (let s = 51; s <= 60; s++) srv.registry.setStatus({ group: "g", identifier: "", status: s % 2 ? 100 + s : -s });
    const rest = await collect(watch, 50, 10_000);
    const all = [...first, ...rest];
    expect(all.every((e) => e.event?.$case === "statusChanged")).toBe(true);
    expect(all.map((e) => Number(e.revision))).toEqual(Array.from({ length: 60 }, (_, i) => from + 1 + i));
    stop.abort();
  });

  it("answers OUT_OF_RANGE (HISTORY_COMPACTED) with the oldest resumable revision, and INVALID_ARGUMENT (REVISION_AHEAD) for the future", async () => {
    srv = await startServer((c) => {
      c.watch.history = 10;
      c.watch.budgetMessages = 10;
    });
    client = new SrClient(srv.address);
    srv.registry.registerGroup({ group: "g" });
    for (let s = 1; s <= 30; s++) srv.registry.setStatus({ group: "g", identifier: "", status: s });
    const oldest = srv.registry.revision - 10;
    const compacted = await client.watch({ startRevision: oldest - 1 }, { resume: false }).next().catch((e: unknown) => e);
    expect(compacted).toBeInstanceOf(SrError);
    expect(compacted).toMatchObject({
      code: status.OUT_OF_RANGE,
      details: expect.stringContaining(`oldest revision still resumable is ${oldest}`),
      reason: "HISTORY_COMPACTED",
      oldestRevision: BigInt(oldest),
    });
    const ok = client.watch({ startRevision: oldest, group: "g" }, { resume: false });
    expect(Number((await ok.next()).value?.revision)).toBe(oldest + 1);
    await ok.return(undefined);
    await expect(client.watch({ startRevision: srv.registry.revision + 1 }, { resume: false }).next()).rejects.toMatchObject({
      code: status.INVALID_ARGUMENT,
      details: expect.stringMatching(/start_revision/),
      reason: "REVISION_AHEAD",
      oldestRevision: undefined,
    });
  });
});
