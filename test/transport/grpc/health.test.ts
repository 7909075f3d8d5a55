/**
 * grpc.health.v1 answered from the registry (docs/model.md, Health and reflection), through the
 * generated health client, as a Kubernetes probe or a load balancer sees it.
 */
import { createHash } from "node:crypto";
import { type ClientReadableStream, Metadata, type ServiceError, credentials, status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SrClient } from "../../../clients/ts/index.js";
import {
  type HealthCheckResponse,
  HealthCheckResponse_ServingStatus as Serving,
  HealthClient,
  type HealthListResponse,
} from "../../../gen/ts/health/v1/health.js";
import { type TestServer, startServer } from "../../helpers/server.js";
import { waitFor } from "../../helpers/wait.js";

const CALL_TIMEOUT_MS = 5_000;

function check(client: HealthClient, service: string): Promise<Serving> {
  return new Promise((resolve, reject) => {
    client.check({ service }, new Metadata(), { deadline: Date.now() + CALL_TIMEOUT_MS }, (error: ServiceError | null, response: HealthCheckResponse) =>
      error ? reject(error) : resolve(response.status),
    );
  });
}

/** The status code a failed Check ends with (fails the test if it succeeds). */
async function checkError(client: HealthClient, service: string): Promise<ServiceError> {
  try {
    const serving = await check(client, service);
    throw new Error(`Check(${JSON.stringify(service)}) answered ${Serving[serving]}, expected an error`);
  } catch (error) {
    if ((error as ServiceError).code === undefined) throw error;
    return error as ServiceError;
  }
}

function list(client: HealthClient): Promise<HealthListResponse> {
  return new Promise((resolve, reject) => {
    client.list({}, new Metadata(), { deadline: Date.now() + CALL_TIMEOUT_MS }, (error: ServiceError | null, response: HealthListResponse) =>
      error ? reject(error) : resolve(response),
    );
  });
}

/** Status of a list entry, by service name. */
function listed(response: HealthListResponse): Record<string, Serving | undefined> {
  return Object.fromEntries(Object.entries(response.statuses).map(([name, r]) => [name, r.status]));
}

/** One health Watch stream, recording every message it receives. */
class Watch {
  readonly received: Serving[] = [];
  private readonly call: ClientReadableStream<HealthCheckResponse>;
  /** The status the stream failed with, if it did. */
  error: ServiceError | undefined;
  private ended = false;
  private notify: () => void = () => {};

  constructor(client: HealthClient, service: string) {
    this.call = client.watch({ service });
    this.call.on("data", (m: HealthCheckResponse) => {
      this.received.push(m.status);
      this.notify();
    });
    this.call.on("error", (e: ServiceError) => {
      this.error = e;
      this.notify();
    });
    this.call.on("end", () => {
      this.ended = true;
      this.notify();
    });
  }

  /** Waits until `count` messages arrived and returns them all. */
  async messages(count: number, timeoutMs = 5_000): Promise<Serving[]> {
    const until = Date.now() + timeoutMs;
    while (this.received.length < count) {
      if (this.error && this.error.code !== status.CANCELLED) throw this.error;
      if (this.ended) throw new Error(`the watch ended after ${this.received.map((s) => Serving[s]).join(", ")}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.max(0, until - Date.now()));
        this.notify = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      if (Date.now() >= until && this.received.length < count) {
        throw new Error(`timed out: ${count} messages expected, got ${this.received.map((s) => Serving[s]).join(", ")}`);
      }
    }
    return [...this.received];
  }

  /** Resolves when the server ended the stream; returns the final status code. */
  async finished(timeoutMs = 5_000): Promise<number> {
    await waitFor(() => this.ended || this.error !== undefined, timeoutMs, "the end of the watch");
    return this.error?.code ?? status.OK;
  }

  cancel(): void {
    this.call.cancel();
  }
}

describe("grpc.health.v1", () => {
  let srv: TestServer;
  let health: HealthClient;
  let sr: SrClient;
  const watches: Watch[] = [];
  const watch = (service: string) => {
    const w = new Watch(health, service);
    watches.push(w);
    return w;
  };

  beforeAll(async () => {
    srv = await startServer();
    health = new HealthClient(srv.address, credentials.createInsecure());
    sr = new SrClient(srv.address);
  });

  afterAll(async () => {
    for (const w of watches) w.cancel();
    health?.close();
    sr?.close();
    await srv?.stop();
  });

  it('Check of "" and of the service name answers core/main: SERVING once the server runs', async () => {
    expect(await check(health, "")).toBe(Serving.SERVING);
    expect(await check(health, "sr.v1.StatusReportService")).toBe(Serving.SERVING);
    expect(await check(health, "core")).toBe(Serving.SERVING);
    expect(await check(health, "core/main")).toBe(Serving.SERVING);
  });

  it("Check of a group follows its aggregate, and group/identifier one identifier", async () => {
    await sr.registerGroup({ group: "payments" });
    await sr.registerIdentifier({ group: "payments", identifier: "db" });
    await sr.registerIdentifier({ group: "payments", identifier: "cache" });
    expect(await check(health, "payments")).toBe(Serving.SERVING);

    await sr.setStatus({ group: "payments", identifier: "db", status: -3, details: "connection refused" });
    expect(await check(health, "payments")).toBe(Serving.NOT_SERVING);
    expect(await check(health, "payments/db")).toBe(Serving.NOT_SERVING);
    expect(await check(health, "payments/cache")).toBe(Serving.SERVING);
    expect(await check(health, "payments/main")).toBe(Serving.SERVING);

    await sr.setStatus({ group: "payments", identifier: "db", status: 2 });
    expect(await check(health, "payments")).toBe(Serving.SERVING);
    expect(await check(health, "payments/db")).toBe(Serving.SERVING);

    await sr.setStatus({ group: "payments", status: -1 }); // main
    expect(await check(health, "payments")).toBe(Serving.NOT_SERVING);
    expect(await check(health, "payments/main")).toBe(Serving.NOT_SERVING);
    await sr.setStatus({ group: "payments", status: 1 });
    expect(await check(health, "payments")).toBe(Serving.SERVING);
  });

  it("an empty group is SERVING", async () => {
    await sr.registerGroup({ group: "hollow" });
    await sr.unregisterIdentifier({ group: "hollow", identifier: "main" });
    expect(await check(health, "hollow")).toBe(Serving.SERVING);
    expect((await checkError(health, "hollow/main")).code).toBe(status.NOT_FOUND);
  });

  it("names are matched ASCII-case-insensitively", async () => {
    await sr.registerGroup({ group: "Mixed" });
    await sr.registerIdentifier({ group: "Mixed", identifier: "Worker", status: -1 });
    expect(await check(health, "mixed")).toBe(Serving.NOT_SERVING);
    expect(await check(health, "MIXED/worker")).toBe(Serving.NOT_SERVING);
    expect(await check(health, "mIxEd/MAIN")).toBe(Serving.SERVING);
    expect(await check(health, "CORE")).toBe(Serving.SERVING);
    expect(await check(health, "PAYMENTS/DB")).toBe(Serving.SERVING);
  });

  it("group/identifier splits at the first slash: identifiers may hold one", async () => {
    await sr.registerIdentifier({ group: "payments", identifier: "eu/west", status: -2 });
    expect(await check(health, "payments/eu/west")).toBe(Serving.NOT_SERVING);
    expect(await check(health, "Payments/EU/West")).toBe(Serving.NOT_SERVING);
    expect((await checkError(health, "payments/eu")).code).toBe(status.NOT_FOUND);
    await sr.unregisterIdentifier({ group: "payments", identifier: "eu/west" });
    expect(await check(health, "payments")).toBe(Serving.SERVING);
  });

  it("Check of an unknown name fails with NOT_FOUND", async () => {
    for (const name of ["nope", "nope/main", "payments/nope", "core/nope", "sr.v1.NoSuchService"]) {
      const error = await checkError(health, name);
      expect(error.code, name).toBe(status.NOT_FOUND);
    }
  });

  it("Watch sends the status at once, then only changes of the serving status", async () => {
    await sr.registerGroup({ group: "flip" });
    const group = watch("flip");
    const main = watch("FLIP/Main");
    expect(await group.messages(1)).toEqual([Serving.SERVING]);
    expect(await main.messages(1)).toEqual([Serving.SERVING]);

    // Changes that keep serving: status 1 -> 2 -> 3, details, a report, a new ready identifier.
    expect((await sr.setStatus({ group: "flip", status: 2 })).changed).toBe(true);
    expect((await sr.setStatus({ group: "flip", status: 3 })).changed).toBe(true);
    await sr.setStatus({ group: "flip", status: 3, details: "still fine" });
    await sr.addReport({ group: "flip", text: "all good" });
    await sr.registerIdentifier({ group: "flip", identifier: "side", status: 5 });
    // Then a flip: whatever was sent in between would arrive before it.
    await sr.setStatus({ group: "flip", status: -1 });
    expect(await group.messages(2)).toEqual([Serving.SERVING, Serving.NOT_SERVING]);
    expect(await main.messages(2)).toEqual([Serving.SERVING, Serving.NOT_SERVING]);

    // Still not serving: -1 -> -2, and another identifier going down.
    await sr.setStatus({ group: "flip", status: -2 });
    await sr.setStatus({ group: "flip", identifier: "side", status: -7 });
    await sr.setStatus({ group: "flip", status: 1 });
    // main is back but "side" keeps the group down; main's watch sees it.
    expect(await main.messages(3)).toEqual([Serving.SERVING, Serving.NOT_SERVING, Serving.SERVING]);
    await sr.setStatus({ group: "flip", identifier: "side", status: 1 });
    expect(await group.messages(3)).toEqual([Serving.SERVING, Serving.NOT_SERVING, Serving.SERVING]);
    expect(main.received).toEqual([Serving.SERVING, Serving.NOT_SERVING, Serving.SERVING]);
  });

  it("Watch of an unknown name sends SERVICE_UNKNOWN, stays open, and follows registration and removal", async () => {
    const group = watch("ghost");
    const identifier = watch("Ghost/DB");
    expect(await group.messages(1)).toEqual([Serving.SERVICE_UNKNOWN]);
    expect(await identifier.messages(1)).toEqual([Serving.SERVICE_UNKNOWN]);

    await sr.registerGroup({ group: "GHOST" });
    expect(await group.messages(2)).toEqual([Serving.SERVICE_UNKNOWN, Serving.SERVING]);
    await sr.registerIdentifier({ group: "ghost", identifier: "db", status: -1 });
    expect(await identifier.messages(2)).toEqual([Serving.SERVICE_UNKNOWN, Serving.NOT_SERVING]);
    expect(await group.messages(3)).toEqual([Serving.SERVICE_UNKNOWN, Serving.SERVING, Serving.NOT_SERVING]);

    await sr.unregisterGroup({ group: "ghost" });
    expect(await group.messages(4)).toEqual([
      Serving.SERVICE_UNKNOWN,
      Serving.SERVING,
      Serving.NOT_SERVING,
      Serving.SERVICE_UNKNOWN,
    ]);
    expect(await identifier.messages(3)).toEqual([Serving.SERVICE_UNKNOWN, Serving.NOT_SERVING, Serving.SERVICE_UNKNOWN]);

    // Registered again: the same streams pick it up.
    await sr.registerGroup({ group: "ghost" });
    expect(await group.messages(5)).toEqual([
      Serving.SERVICE_UNKNOWN,
      Serving.SERVING,
      Serving.NOT_SERVING,
      Serving.SERVICE_UNKNOWN,
      Serving.SERVING,
    ]);
    expect(identifier.received).toHaveLength(3); // ghost/db is still unknown
  });

  it('Watch of "" stays SERVING while the server runs', async () => {
    const server = watch("");
    expect(await server.messages(1)).toEqual([Serving.SERVING]);
  });

  it('List returns "" and every group aggregated, as first registered', async () => {
    await sr.registerGroup({ group: "Zeta", status: -4 });
    const statuses = listed(await list(health));
    // Every group this server holds (the tests above registered them; "hollow" has no identifier left).
    const groups = ["core", "payments", "hollow", "Mixed", "flip", "ghost", "Zeta"];
    expect(Object.keys(statuses).sort()).toEqual(["", ...groups].sort());
    expect(statuses[""]).toBe(Serving.SERVING);
    expect(statuses.core).toBe(Serving.SERVING);
    expect(statuses.payments).toBe(Serving.SERVING);
    expect(statuses.Mixed).toBe(Serving.NOT_SERVING);
    expect(statuses.Zeta).toBe(Serving.NOT_SERVING);
    expect(statuses.hollow).toBe(Serving.SERVING);
  });

  it("cancelled Watch streams are released by the server", async () => {
    expect(srv.health.watchCount).toBe(watches.length);
    for (const w of watches) w.cancel();
    await waitFor(() => srv.health.watchCount === 0, 5_000, "the server to forget the cancelled health watches");
  });
});

describe("grpc.health.v1 List limit", () => {
  let srv: TestServer;
  let health: HealthClient;
  let sr: SrClient;

  beforeAll(async () => {
    // "" + core + 998 groups = 1,000 entries, the most List answers.
    srv = await startServer((config) => {
      config.groups = Array.from({ length: 998 }, (_, i) => ({ name: `g${String(i).padStart(4, "0")}`, identifiers: [] }));
    });
    health = new HealthClient(srv.address, credentials.createInsecure());
    sr = new SrClient(srv.address);
  });

  afterAll(async () => {
    health?.close();
    sr?.close();
    await srv?.stop();
  });

  it("answers up to 1,000 entries and RESOURCE_EXHAUSTED beyond", async () => {
    expect(Object.keys((await list(health)).statuses)).toHaveLength(1000);

    await sr.registerGroup({ group: "one-too-many" });
    const error = await new Promise<ServiceError>((resolve, reject) =>
      health.list({}, new Metadata(), { deadline: Date.now() + CALL_TIMEOUT_MS }, (e: ServiceError | null) =>
        e ? resolve(e) : reject(new Error("List answered 1,001 entries")),
      ),
    );
    expect(error.code).toBe(status.RESOURCE_EXHAUSTED);
    expect(error.details).toMatch(/1000|1,000/);
    // Check still answers every name.
    expect(await check(health, "one-too-many")).toBe(Serving.SERVING);

    await sr.unregisterGroup({ group: "one-too-many" });
    expect(Object.keys((await list(health)).statuses)).toHaveLength(1000);
  });
});

/** Opens a Watch of `service` (kept in `open`, to be cancelled) and expects SERVING at once. */
async function serving(open: Watch[], client: HealthClient, service: string): Promise<Watch> {
  const w = new Watch(client, service);
  open.push(w);
  expect(await w.messages(1)).toEqual([Serving.SERVING]);
  return w;
}

/** Opens a Watch of `service` and expects it refused, before any message, with RESOURCE_EXHAUSTED naming `limit`. */
async function refused(open: Watch[], client: HealthClient, service: string, limit: RegExp): Promise<void> {
  const w = new Watch(client, service);
  open.push(w);
  expect(await w.finished()).toBe(status.RESOURCE_EXHAUSTED);
  expect(w.received).toEqual([]);
  expect(w.error?.details).toMatch(limit);
}

describe("grpc.health.v1 Watch limit", () => {
  it("refuses a Watch past limits.max_watchers with RESOURCE_EXHAUSTED, and frees the slot on cancel", async () => {
    const srv = await startServer((config) => {
      config.watch.maxWatchers = 2;
    });
    const health = new HealthClient(srv.address, credentials.createInsecure());
    const open: Watch[] = [];
    try {
      for (let i = 0; i < 2; i++) await serving(open, health, "");
      await refused(open, health, "", /max_watchers/);

      open[0]!.cancel();
      await waitFor(() => srv.health.watchCount === 1, 5_000, "the cancelled watch to be released");
      await serving(open, health, "core");
    } finally {
      for (const w of open) w.cancel();
      health.close();
      await srv.stop();
    }
  });
});

describe("grpc.health.v1 Watch and WatchStatus share the watcher quotas", () => {
  it("max_watchers and max_watchers_per_connection count both kinds of stream", async () => {
    const srv = await startServer((config) => {
      config.watch.maxWatchers = 4;
      config.watch.maxWatchersPerConnection = 2;
    });
    // One connection for each client below (grpc-js would otherwise share one).
    const own = { "grpc.use_local_subchannel_pool": 1 };
    const health = new HealthClient(srv.address, credentials.createInsecure(), own);
    const sr = new SrClient(srv.address, { channelOptions: own });
    const other = new HealthClient(srv.address, credentials.createInsecure(), own);
    const abort = new AbortController();
    const open: Watch[] = [];
    try {
      await serving(open, health, "");
      const it = sr.watch({ group: "core" }, { signal: abort.signal, resume: false })[Symbol.asyncIterator]();
      expect((await it.next()).value?.event?.$case).toBe("snapshot");
      await waitFor(() => srv.hub.watcherCount === 2, 5_000, "both watches to be counted");

      // health's connection holds 1 of 2, so it has room for one more.
      await serving(open, health, "core");
      await refused(open, health, "core", /max_watchers_per_connection/);

      // Another connection has room, until the server holds its 4.
      await serving(open, other, "core");
      await refused(open, other, "core", /max_watchers(?!_per)/);
      expect(srv.health.watchCount).toBe(3);
      expect(srv.hub.watcherCount).toBe(4);
    } finally {
      abort.abort();
      for (const w of open) w.cancel();
      health.close();
      other.close();
      sr.close();
      await srv.stop();
    }
  });
});

describe("grpc.health.v1 with auth configured", () => {
  it("answers probes that carry no token", async () => {
    const srv = await startServer((config) => {
      config.tokens = [{ name: "ops", sha256: createHash("sha256").update("health-test-token").digest("hex"), role: "admin" }];
    });
    const health = new HealthClient(srv.address, credentials.createInsecure());
    const sr = new SrClient(srv.address);
    try {
      expect(await check(health, "")).toBe(Serving.SERVING);
      expect(listed(await list(health))).toEqual({ "": Serving.SERVING, core: Serving.SERVING });
      const w = new Watch(health, "core");
      expect(await w.messages(1)).toEqual([Serving.SERVING]);
      w.cancel();
      // The service itself does want a token.
      await expect(sr.getStatus({ group: "core" })).rejects.toMatchObject({ code: status.UNAUTHENTICATED });
      await waitFor(() => srv.health.watchCount === 0, 5_000, "the cancelled watch to be released");
    } finally {
      health.close();
      sr.close();
      await srv.stop();
    }
  });
});

describe("grpc.health.v1 on a graceful stop", () => {
  it("watchers get NOT_SERVING and their streams end cleanly; new calls are refused", async () => {
    const srv = await startServer();
    const health = new HealthClient(srv.address, credentials.createInsecure());
    try {
      const server = new Watch(health, "");
      const core = new Watch(health, "core");
      expect(await server.messages(1)).toEqual([Serving.SERVING]);
      expect(await core.messages(1)).toEqual([Serving.SERVING]);
      const stopped = srv.stop();
      expect(await server.messages(2)).toEqual([Serving.SERVING, Serving.NOT_SERVING]);
      expect(await core.messages(2)).toEqual([Serving.SERVING, Serving.NOT_SERVING]);
      expect(await server.finished()).toBe(status.OK);
      expect(await core.finished()).toBe(status.OK);
      expect((await checkError(health, "")).code).toBe(status.UNAVAILABLE);
      await stopped;
      expect(srv.health.watchCount).toBe(0);
    } finally {
      health.close();
      srv.forceStop();
    }
  });
});
