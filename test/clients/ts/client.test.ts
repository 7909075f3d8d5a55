import { getEventListeners } from "node:events";
import { status } from "@grpc/grpc-js";
import { describe, expect, expectTypeOf, it } from "vitest";
import {
  type CallOpts,
  type DeepPartial,
  type GetStatusRequest,
  type GetStatusResponse,
  type SrClient,
  SrError,
  StatusReportServiceService,
  type WatchStatusResponse,
} from "../../../clients/ts/index.js";
import { serverPerFile } from "../../helpers/rpc.js";
import type { TestServer } from "../../helpers/server.js";
import { waitFor } from "../../helpers/wait.js";

let srv: TestServer;
let client: SrClient;
serverPerFile((s, c) => {
  srv = s;
  client = c;
});

const abortListeners = (signal: AbortSignal) => getEventListeners(signal, "abort").length;

describe("unary methods derived from the service definition", () => {
  it("has one method per unary RPC of the schema, the README's among them", () => {
    const unary = Object.entries(StatusReportServiceService).flatMap(([name, d]) => (d.requestStream || d.responseStream ? [] : [name]));
    const readme = ["getStatus", "listStatus", "listReports", "listIdentifiers", "checkStatus", "registerGroup", "unregisterGroup"];
    expect(unary).toEqual(expect.arrayContaining([...readme, "registerIdentifier", "unregisterIdentifier", "setStatus", "addReport"]));
    const own = client as unknown as Record<string, unknown>;
    for (const name of unary) expect(typeof own[name], name).toBe("function");
    expect(own.watchStatus, "streaming RPCs go through watch()").toBeUndefined();
  });

  it("types each method from its request and response messages", () => {
    expectTypeOf(client.getStatus).toEqualTypeOf<(request: DeepPartial<GetStatusRequest>, opts?: CallOpts) => Promise<GetStatusResponse>>();
    expectTypeOf(client.setStatus).parameter(0).toHaveProperty("status");
    expectTypeOf(client.watch).returns.toEqualTypeOf<AsyncGenerator<WatchStatusResponse>>();
  });

  it("fills the request from a partial one and works detached from the client", async () => {
    const { registerGroup, getStatus } = client;
    expect(await registerGroup({ group: "detached", status: -3 })).toMatchObject({ created: true });
    expect((await getStatus({ group: "detached" })).status).toMatchObject({ group: "detached", status: -3, ready: false });
  });
});

describe("aborting a unary call", () => {
  it("removes its abort listener once the call is over, answered or failed", async () => {
    const stop = new AbortController();
    for (let i = 0; i < 5; i++) await client.checkStatus({ group: "core" }, { signal: stop.signal });
    await expect(client.getStatus({ group: "missing" }, { signal: stop.signal })).rejects.toMatchObject({ code: status.NOT_FOUND });
    expect(abortListeners(stop.signal)).toBe(0);
  });

  it("holds the listener while the call runs, and cancels the call on abort", async () => {
    const stop = new AbortController();
    const pending = client.getStatus({ group: "core" }, { signal: stop.signal });
    expect(abortListeners(stop.signal)).toBe(1);
    stop.abort();
    await expect(pending).rejects.toMatchObject({ code: status.CANCELLED });
    expect(abortListeners(stop.signal)).toBe(0);
  });

  it("rejects at once with CANCELLED, sending nothing, when the signal has already aborted", async () => {
    const signal = AbortSignal.abort();
    const error = await client.registerGroup({ group: "never-sent" }, { signal }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SrError);
    expect(error).toMatchObject({ code: status.CANCELLED, details: "Cancelled on client", reason: undefined });
    expect(abortListeners(signal)).toBe(0);
    await expect(client.getStatus({ group: "never-sent" })).rejects.toMatchObject({ reason: "GROUP_NOT_FOUND" });
  });
});

describe("aborting a watch", () => {
  it("ends at once, opening no call, when the signal has already aborted", async () => {
    const signal = AbortSignal.abort();
    const opened = srv.hub.watcherCount;
    const watch = client.watch({ group: "core" }, { signal });
    expect(await watch.next()).toEqual({ done: true, value: undefined });
    expect(srv.hub.watcherCount).toBe(opened);
    expect(abortListeners(signal)).toBe(0);
  });

  it("ends the iteration and frees the server's watcher and the listener when aborted", async () => {
    const stop = new AbortController();
    const watch = client.watch({ group: "core" }, { signal: stop.signal });
    expect((await watch.next()).value?.event?.$case).toBe("snapshot");
    expect(abortListeners(stop.signal)).toBe(1);
    const next = watch.next();
    stop.abort();
    expect(await next).toEqual({ done: true, value: undefined });
    expect(abortListeners(stop.signal)).toBe(0);
    await waitFor(() => srv.hub.watcherCount === 0, 5_000, "the server to free the watcher");
  });
});
