// The server process (docs/model.md and the README): the real `tsx src/main.ts`,
// spawned, configured by flags, SR_LISTEN and YAML, and stopped by signals.
//
// Spawning costs about a second each, so every process this file needs is
// started at once in beforeAll and each test awaits its own.
import { Client, type ClientDuplexStream, Metadata, credentials, status as GrpcStatus } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HealthCheckResponse_ServingStatus as Serving, HealthClient } from "../../gen/ts/health/v1/health.js";
import { SrClient, type WatchStatusResponse } from "../../clients/ts/index.js";
import { type Started, killAllSrProcesses, removeTempFiles, runSrProcess, startSrProcess, writeTempFile } from "../helpers/process.js";
import { collect, nextEvent, untilEnd, withTimeout } from "../helpers/wait.js";

type Msg = WatchStatusResponse;

/** Per test: the first await may include a process start on a busy machine. */
const SLOW = 60_000;

/** A connection of its own per client (grpc-js would otherwise share one per address). */
const OWN_CONNECTION = { "grpc.use_local_subchannel_pool": 1 };

const clients: { close(): void }[] = [];
function srClient(address: string): SrClient {
  const c = new SrClient(address, { channelOptions: OWN_CONNECTION });
  clients.push(c);
  return c;
}
function healthClient(address: string): HealthClient {
  const c = new HealthClient(address, credentials.createInsecure(), OWN_CONNECTION);
  clients.push(c);
  return c;
}

function healthCheck(c: HealthClient, service: string): Promise<Serving> {
  return new Promise((resolve, reject) => {
    c.check({ service }, new Metadata(), { deadline: Date.now() + 5_000 }, (error, response) =>
      error ? reject(error) : resolve(response.status),
    );
  });
}

/** The gRPC error a call fails with (fails when it succeeds). */
async function callError(call: Promise<unknown>): Promise<{ code: number; details: string }> {
  try {
    await call;
  } catch (error) {
    return error as { code: number; details: string };
  }
  throw new Error("expected the call to fail");
}

const portOf = (address: string) => Number(address.slice(address.lastIndexOf(":") + 1));
const hostOf = (address: string) => address.slice(0, address.lastIndexOf(":"));

/**
 * A server reflection stream opened and kept open: the request is answered
 * (so the stream is live on the server) and the client never half-closes,
 * as an interactive tool left open would. A graceful stop cannot end it.
 */
async function openReflectionStream(address: string): Promise<ClientDuplexStream<Buffer, Buffer> & { client: Client }> {
  const client = new Client(address, credentials.createInsecure(), OWN_CONNECTION);
  clients.push(client);
  const identity = (b: Buffer) => b;
  const stream = client.makeBidiStreamRequest("/grpc.reflection.v1.ServerReflection/ServerReflectionInfo", identity, identity);
  stream.on("error", () => {}); // ends with the server
  // ServerReflectionRequest { list_services: "*" } (field 7, length-delimited).
  stream.write(Buffer.from([0x3a, 0x01, 0x2a]));
  await withTimeout(new Promise((resolve) => stream.once("data", resolve)), 5_000, "the reflection answer");
  return Object.assign(stream, { client });
}

const isLastPart = (m: Msg) => m.event?.$case === "snapshot" && m.event.value.last;

/** Every process, started together. */
let processes: Record<"main" | "env" | "config" | "envOverConfig" | "flag" | "int" | "twice" | "http", Promise<Started>>;

const CONFIG = `
listen: 127.0.0.3:0
limits:
  max_groups: 3
groups:
  - name: billing
    status: -1
    details: warming up
    report_capacity: 7
    identifiers:
      - name: DB
        status: 2
        details: ""
        report_capacity: 0
      - name: cache
`;

beforeAll(() => {
  const config = writeTempFile("sr.yaml", CONFIG);
  const listenOnly = writeTempFile("listen.yaml", "listen: 127.0.0.3:0\n");
  const longGrace = writeTempFile("grace.yaml", "limits:\n  grace_period: 60s\n");
  processes = {
    main: startSrProcess(),
    env: startSrProcess({ listen: null, env: { SR_LISTEN: "127.0.0.2:0" } }),
    config: startSrProcess({ listen: null, args: ["--config", config] }),
    envOverConfig: startSrProcess({ listen: null, env: { SR_LISTEN: "127.0.0.2:0" }, args: ["--config", listenOnly] }),
    flag: startSrProcess({ listen: "127.0.0.1:0", env: { SR_LISTEN: "127.0.0.2:0" }, args: ["--config", listenOnly] }),
    int: startSrProcess(),
    twice: startSrProcess({ args: ["--config", longGrace] }),
    http: startSrProcess({ args: ["--http", "127.0.0.1:0"] }),
  };
  // A failed start is reported by the test that needs that process.
  for (const started of Object.values(processes)) started.catch(() => {});
});

afterAll(async () => {
  for (const c of clients.splice(0)) c.close();
  await killAllSrProcesses();
  removeTempFiles();
});

describe("listening", { timeout: SLOW }, () => {
  it("--http adds the MI listener, logged after the gRPC line, answering OpenSIPS's sr_get_status", async () => {
    const { proc } = await processes.http;
    const match = await proc.waitForLine(/HTTP listening on (\S+)/);
    const listening = proc.lines.filter((line) => /listening/i.test(line));
    expect(listening[0]).toMatch(/gRPC listening on/);
    expect(listening[1]).toMatch(/HTTP listening on/);
    const response = await fetch(`http://${match[1]}/mi`, {
      method: "POST",
      body: JSON.stringify({ jsonrpc: "2.0", method: "sr_get_status", params: { group: "core" }, id: 1 }),
    });
    expect(await response.json()).toEqual({ jsonrpc: "2.0", result: { Readiness: true, Status: 1, Details: "running" }, id: 1 });
  });

  it("the first listening line names gRPC and the actual address, which serves", async () => {
    const { proc, address } = await processes.main;
    const firstListening = proc.lines.find((line) => /listening/i.test(line));
    expect(firstListening).toMatch(/gRPC listening on 127\.0\.0\.1:\d+/);
    expect(hostOf(address)).toBe("127.0.0.1");
    expect(portOf(address)).toBeGreaterThan(0);
    const answer = await srClient(address).checkStatus({ group: "core" });
    expect(answer).toEqual({ ready: true, status: 1 });
    // core runs once every listener is up, and there is none on HTTP: the helper passes --no-http, so
    // no test server takes the default port 8080.
    expect(proc.lines.some((line) => /HTTP listening/.test(line))).toBe(false);
  });

  it("SR_LISTEN sets the address when no flag does", async () => {
    const { address } = await processes.env;
    expect(hostOf(address)).toBe("127.0.0.2");
    expect(portOf(address)).toBeGreaterThan(0);
    expect((await srClient(address).checkStatus({ group: "core" })).ready).toBe(true);
  });

  it("--config's listen sets the address when neither flag nor SR_LISTEN does", async () => {
    const { address } = await processes.config;
    expect(hostOf(address)).toBe("127.0.0.3");
    expect((await srClient(address).checkStatus({ group: "core" })).ready).toBe(true);
  });

  it("SR_LISTEN overrides --config's listen (it stands for --listen)", async () => {
    const { address } = await processes.envOverConfig;
    expect(hostOf(address)).toBe("127.0.0.2");
    expect((await srClient(address).checkStatus({ group: "core" })).ready).toBe(true);
  });

  it("--listen overrides --config and SR_LISTEN", async () => {
    const { address } = await processes.flag;
    expect(hostOf(address)).toBe("127.0.0.1");
    expect((await srClient(address).checkStatus({ group: "core" })).ready).toBe(true);
  });
});

describe("--config", { timeout: SLOW }, () => {
  it("creates the declared groups and identifiers at start, with their status, details and report capacity", async () => {
    const { address } = await processes.config;
    const sr = srClient(address);
    const listed = await sr.listStatus({ group: "billing" });
    expect(listed.groups).toHaveLength(1);
    expect(listed.groups[0]).toMatchObject({ group: "billing", internal: false });
    expect(listed.groups[0]?.identifiers.map((i) => [i.identifier, i.status, i.details, i.ready])).toEqual([
      ["main", -1, "warming up", false],
      ["cache", 1, undefined, true], // defaults: status 1, no details
      ["DB", 2, "", true], // empty details kept as such, name as written
    ]);
    const reports = await sr.listReports({ group: "billing" });
    expect(reports.groups[0]?.identifiers.map((i) => [i.identifier, i.capacity])).toEqual([
      ["main", 7],
      ["cache", 50],
      ["DB", 0],
    ]);
    // A declared group is public: clients may write it.
    expect((await sr.setStatus({ group: "billing", status: 1 })).changed).toBe(true);
  });

  it("applies its limits (max_groups counts core and the declared groups)", async () => {
    const { address } = await processes.config;
    const sr = srClient(address);
    expect((await sr.registerGroup({ group: "third" })).created).toBe(true); // core, billing, third
    const error = await callError(sr.registerGroup({ group: "fourth" }));
    expect(error.code).toBe(GrpcStatus.RESOURCE_EXHAUSTED);
    expect(error.details).toMatch(/max_groups/);
  });

  it("an invalid configuration stops the start with a non-zero exit and a message naming the key", async () => {
    const cases = [
      { yaml: "limits:\n  max_group: 2\n", key: /limits\.max_group\b/ },
      { yaml: "watch:\n  progress_interval: soon\n", key: /watch\.progress_interval/ },
      // Valid YAML, refused by the registry: zero is not a status.
      { yaml: "groups:\n  - name: g\n    status: 0\n", key: /groups\[0\].*status/ },
    ];
    const runs = await Promise.all(cases.map((c) => runSrProcess({ args: ["--config", writeTempFile("bad.yaml", c.yaml)] })));
    runs.forEach((run, i) => {
      expect(run.exit.code, run.stderr).not.toBe(0);
      expect(run.exit.code, run.stderr).not.toBeNull();
      expect(run.stderr).toMatch(cases[i]?.key as RegExp);
      expect(run.stdout).not.toMatch(/listening/);
    });
  });
});

describe("core lifecycle", { timeout: SLOW }, () => {
  it("a fresh server's core/main is 1 running, after the initializing report, and core is internal", async () => {
    const { address } = await processes.main;
    const sr = srClient(address);
    const { status } = await sr.getStatus({ group: "core" });
    expect(status).toMatchObject({ group: "core", identifier: "main", status: 1, details: "running", ready: true });

    const reports = await sr.listReports({ group: "core", identifier: "main" });
    const core = reports.groups[0]?.identifiers[0];
    expect(core?.capacity).toBe(10);
    expect(core?.reports.map((r) => r.text)).toEqual(["initializing", "initialization completed, ready now"]);
    expect(core?.reports.map((r) => r.sequence)).toEqual([1n, 2n]);

    const listed = await sr.listStatus({});
    expect(listed.groups.find((g) => g.group === "core")).toMatchObject({ internal: true });

    const denied = await callError(sr.setStatus({ group: "core", status: -1 }));
    expect(denied.code).toBe(GrpcStatus.PERMISSION_DENIED);
    expect(await healthCheck(healthClient(address), "")).toBe(Serving.SERVING);
  });
});

describe("signals", { timeout: SLOW }, () => {
  it("SIGTERM: a core watcher sees -2 'shutting down', its stream ends cleanly, health turns NOT_SERVING, exit 0", async () => {
    // The last test that needs `main` (tests of a file run in order).
    const { proc, address } = await processes.main;
    const events = srClient(address).watch({ group: "core" }, { resume: false });
    const [snapshot] = await collect(events, isLastPart);
    expect(snapshot?.event).toMatchObject({ $case: "snapshot", value: { identifiers: [{ group: "core", status: 1 }] } });

    const health = healthClient(address).watch({ service: "" });
    const healthStatuses: Serving[] = [];
    health.on("data", (m: { status: Serving }) => healthStatuses.push(m.status));
    const healthEnded = new Promise<string>((resolve) => {
      health.on("status", (s: { code: number }) => resolve(s.code === GrpcStatus.OK ? "ok" : `status ${s.code}`));
      health.on("error", (e: Error) => resolve(e.message));
    });
    await withTimeout(
      new Promise<void>((resolve) => (healthStatuses.length ? resolve() : health.once("data", () => resolve()))),
      5_000,
      "the first health status",
    );
    expect(healthStatuses).toEqual([Serving.SERVING]);

    proc.signal("SIGTERM");

    const change = await nextEvent(events, 10_000);
    expect(change.event).toEqual({
      $case: "statusChanged",
      value: { group: "core", identifier: "main", status: -2, oldStatus: 1, details: "shutting down", ready: false },
    });
    const ending = await untilEnd(events, 10_000);
    expect(ending.error).toBeUndefined(); // ended with OK, not an error
    expect(ending.events).toEqual([]);

    expect(await withTimeout(healthEnded, 10_000, "the health watch's end")).toBe("ok");
    expect(healthStatuses).toEqual([Serving.SERVING, Serving.NOT_SERVING]);

    const exit = await proc.waitForExit(12_000);
    expect(exit, proc.describe()).toEqual({ code: 0, signal: null });
    expect(proc.stderr).not.toMatch(/error/i);
  });

  it("SIGINT stops it the same way: exit 0", async () => {
    const { proc, address } = await processes.int;
    const events = srClient(address).watch({ group: "core" }, { resume: false });
    await collect(events, isLastPart);
    proc.signal("SIGINT");
    const change = await nextEvent(events, 10_000);
    expect(change.event).toMatchObject({ $case: "statusChanged", value: { status: -2, details: "shutting down" } });
    expect((await untilEnd(events, 10_000)).error).toBeUndefined();
    const exit = await proc.waitForExit(12_000);
    expect(exit, proc.describe()).toEqual({ code: 0, signal: null });
  });

  it("`npm start`, as the README runs it: SIGTERM to npm stops the server gracefully, exit 0, nothing left listening", async () => {
    const { proc, address } = await startSrProcess({ npmStart: true });
    const events = srClient(address).watch({ group: "core" }, { resume: false });
    await collect(events, isLastPart);
    proc.signal("SIGTERM"); // to npm itself, as a service manager would
    const change = await nextEvent(events, 10_000);
    expect(change.event).toMatchObject({ $case: "statusChanged", value: { status: -2 } });
    const exit = await proc.waitForExit(12_000);
    expect(exit, proc.describe()).toEqual({ code: 0, signal: null });
    // The server itself is gone too, not orphaned behind npm.
    const after = await callError(srClient(address).getStatus({ group: "core" }, { timeoutMs: 3_000 }));
    expect(after.code).toBe(GrpcStatus.UNAVAILABLE);
  });

  it("while a stop waits for an open stream, new calls get UNAVAILABLE, and a second signal exits at once", async () => {
    // grace_period 60s; a reflection stream kept open holds the graceful stop.
    const { proc, address } = await processes.twice;
    const reflection = await openReflectionStream(address);
    const events = srClient(address).watch({ group: "core" }, { resume: false });
    await collect(events, isLastPart);

    proc.signal("SIGTERM");
    const change = await nextEvent(events, 10_000);
    expect(change.event).toMatchObject({ $case: "statusChanged", value: { status: -2, details: "shutting down" } });
    expect((await untilEnd(events, 10_000)).error).toBeUndefined();

    // The stop has begun but cannot finish: new calls are refused.
    const refused = await callError(srClient(address).getStatus({ group: "core" }, { timeoutMs: 5_000 }));
    expect(refused.code).toBe(GrpcStatus.UNAVAILABLE);
    const health = await callError(healthCheck(healthClient(address), ""));
    expect(health.code).toBe(GrpcStatus.UNAVAILABLE);
    expect(proc.exit, "the stop is still waiting for the reflection stream").toBeUndefined();

    const second = Date.now();
    proc.signal("SIGTERM");
    const exit = await proc.waitForExit(5_000);
    expect(Date.now() - second).toBeLessThan(3_000); // at once, not after the 60 s grace period
    expect(exit.signal, proc.describe()).toBeNull(); // it exited by itself
    expect(exit.code).not.toBeNull();
    reflection.cancel();
  });
});
