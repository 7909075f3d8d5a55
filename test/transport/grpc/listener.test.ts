/**
 * The gRPC listener's connection limits (README, Configuration: `limits`):
 * max_concurrent_streams, keepalive, max_connection_idle (a connection holding
 * a watch is not idle) and max_connection_age (watches end after the grace
 * period and the client resumes without a gap). Then a tight loop of health
 * probes, each on a connection of its own (grpc-node#2975: connections a probe
 * loop left behind), leaves the server's own counts where they started.
 */
import net from "node:net";
import { Metadata, type ServiceError, credentials, status as Code } from "@grpc/grpc-js";
import { afterEach, describe, expect, it } from "vitest";
import { SrClient, type WatchStatusResponse } from "../../../clients/ts/index.js";
import { HealthCheckRequest, HealthClient } from "../../../gen/ts/health/v1/health.js";
import { WatchStatusRequest } from "../../../gen/ts/sr/v1/sr.js";
import { DEFAULT_LISTENER_LIMITS, listenerOptions } from "../../../src/transport/grpc/listener.js";
import { connectRaw, firstMessage, grpcFrame, openRaw, rawCall, sessionClosed } from "../../helpers/raw-grpc.js";
import { type TestServer, startServer } from "../../helpers/server.js";
import { collect, waitFor, withTimeout } from "../../helpers/wait.js";
import type { ServerConfig } from "../../../src/app/config.js";

const servers: TestServer[] = [];
async function server(tune: (listener: ServerConfig["listener"]) => void = () => {}): Promise<TestServer> {
  const srv = await startServer((config) => tune(config.listener));
  servers.push(srv);
  return srv;
}

afterEach(async () => {
  await Promise.all(servers.splice(0).map((srv) => srv.stop()));
});

const portOf = (address: string) => Number(address.slice(address.lastIndexOf(":") + 1));
const watchFrame = (group: string) => grpcFrame(Buffer.from(WatchStatusRequest.encode(WatchStatusRequest.fromPartial({ group })).finish()));
const checkFrame = grpcFrame(Buffer.from(HealthCheckRequest.encode({ service: "" }).finish()));

/** Resolves once everything but what `before` counted is closed, by the server's own counts. */
function backTo(srv: TestServer, before: ReturnType<TestServer["stats"]>, timeoutMs = 10_000): Promise<unknown> {
  return waitFor(() => JSON.stringify(srv.stats()) === JSON.stringify(before), timeoutMs, () => `the counts back to ${JSON.stringify(before)}, not ${JSON.stringify(srv.stats())}`);
}

describe("the limits it announces and applies", () => {
  it("by default: 4,096 concurrent streams announced, and no age limit given to grpc-js (the defaults themselves: test/app)", async () => {
    expect(listenerOptions(DEFAULT_LISTENER_LIMITS)).not.toHaveProperty("grpc.max_connection_age_ms");
    const srv = await server();
    const session = await connectRaw(srv.address);
    expect(session.remoteSettings.maxConcurrentStreams).toBe(4_096);
    session.destroy();
  });

  it("max_concurrent_streams is what the server's SETTINGS announce", async () => {
    const srv = await server((listener) => (listener.maxConcurrentStreams = 1_234));
    const session = await connectRaw(srv.address);
    expect(session.remoteSettings.maxConcurrentStreams).toBe(1_234);
    session.destroy();
  });

  it("keepalive_time: a quiet connection is pinged; keepalive_timeout: a peer that never answers is dropped", async () => {
    const srv = await server((listener) => {
      listener.keepaliveTimeMs = 100;
      listener.keepaliveTimeoutMs = 100;
    });
    const before = srv.stats();
    const session = await connectRaw(srv.address);
    await withTimeout(new Promise((resolve) => session.once("ping", resolve)), 5_000, "the server's keepalive ping");
    expect(session.closed).toBe(false); // it answered, so it stays
    session.destroy();
    // An HTTP/2 preface and SETTINGS, then silence: the ping is never answered.
    const mute = net.connect(portOf(srv.address), "127.0.0.1");
    mute.on("error", () => {});
    mute.resume();
    mute.write(Buffer.concat([Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0])]));
    await waitFor(() => srv.stats().sessions === before.sessions + 1, 5_000, "the mute connection open");
    await withTimeout(new Promise((resolve) => mute.once("close", resolve)), 5_000, "the mute peer dropped");
    await backTo(srv, before);
  });

  it("max_connection_idle closes a connection without streams, not one holding a watch", async () => {
    const srv = await server((listener) => (listener.maxConnectionIdleMs = 300));
    // The watching connection comes first: its idle timer fires before the idle one's.
    srv.registry.registerGroup({ group: "kept" });
    const watching = await connectRaw(srv.address);
    const watch = openRaw(watching, "/sr.v1.StatusReportService/WatchStatus", watchFrame("kept"));
    await firstMessage(watch.stream);
    const idle = await connectRaw(srv.address);
    await sessionClosed(idle, 5_000, "the idle connection closed by the server");
    expect(watching.closed || watching.destroyed).toBe(false);
    await waitFor(() => srv.stats().sessions === 1, 5_000, "the idle connection forgotten");
    expect(srv.stats()).toMatchObject({ sessions: 1, watchers: 1 });
    // The watch still delivers, and the connection still takes calls.
    const change = firstMessage(watch.stream);
    srv.registry.setStatus({ group: "kept", identifier: "", status: -1 });
    await change;
    expect((await rawCall(watching, "/grpc.health.v1.Health/Check", checkFrame)).grpcStatus).toBe(Code.OK);
    watching.destroy();
  });

  it("max_connection_age: watches are cut after the grace period and the client resumes with no gap and no resync", async () => {
    const srv = await server((listener) => {
      listener.maxConnectionAgeMs = 400;
      listener.maxConnectionAgeGraceMs = 200;
    });
    const writer = new SrClient(srv.address, { channelOptions: { "grpc.use_local_subchannel_pool": 1 } });
    const watcher = new SrClient(srv.address);
    try {
      await writer.registerGroup({ group: "aged" });
      const stop = new AbortController();
      const events = watcher.watch({ group: "aged" }, { signal: stop.signal, backoff: { initialMs: 10, maxMs: 50 } });
      const [snapshot] = await collect(events, 1);
      expect(snapshot?.event?.$case).toBe("snapshot");
      const received: WatchStatusResponse[] = [];
      let i = 0;
      const writeAndRead = async () => {
        const { revision } = await writer.setStatus({ group: "aged", status: i++ % 2 === 0 ? -1 : 1 });
        received.push(...(await collect(events, (e) => e.revision === revision, 10_000)));
      };
      for (let cut = 1; cut <= 2; cut++) {
        const first = srv.hub.list()[0];
        // Writes go on while the server cuts the connection and the client watches again.
        await waitFor(
          async () => {
            await writeAndRead();
            const now = srv.hub.list();
            return now.length === 1 && now[0] !== first;
          },
          10_000,
          `watch ${cut} cut by max_connection_age and resumed`,
        );
      }
      await writeAndRead();
      const revisions = received.map((e) => Number(e.revision));
      expect(received.every((e) => e.event?.$case === "statusChanged"), "no resync snapshot").toBe(true);
      expect(revisions).toEqual(revisions.map((_, i) => revisions[0] as number + i)); // one per write, none lost or repeated
      stop.abort();
    } finally {
      watcher.close();
      writer.close();
    }
  });
});

describe("a tight loop of health probes, each on its own connection", () => {
  const PROBES = 150;

  it("connect, Check, close: the server's counts of sessions, streams, calls, watchers, timers and listeners end where they started", async () => {
    const srv = await server();
    const before = srv.stats();
    for (let i = 0; i < PROBES; i++) {
      const probe = new HealthClient(srv.address, credentials.createInsecure(), { "grpc.use_local_subchannel_pool": 1 });
      const status = await new Promise<number>((resolve, reject) =>
        probe.check({ service: "" }, new Metadata(), { deadline: Date.now() + 5_000 }, (e: ServiceError | null, r) => (e ? reject(e) : resolve(r.status))),
      );
      expect(status).toBe(1);
      probe.close();
    }
    await backTo(srv, before);
  });

  it("connect, Check, and the socket torn down without a GOAWAY: the same", async () => {
    const srv = await server();
    const before = srv.stats();
    for (let i = 0; i < PROBES; i++) {
      const probe = await connectRaw(srv.address);
      expect((await rawCall(probe, "/grpc.health.v1.Health/Check", checkFrame)).grpcStatus).toBe(Code.OK);
      probe.destroy();
    }
    await backTo(srv, before);
  });
});
