/**
 * Faults, asserted on the server's own counts (RunningServer.stats()), not on
 * timings: a client process killed mid-stream frees its watchers; a thousand
 * connect, watch and disconnect cycles, ended every way a client can end
 * them, leave no connection, stream, call, watcher, timer or listener behind.
 * Then the real process: SIGTERM with writers and watchers active (one of them
 * stuck, so only the grace period can end it) exits 0 within the grace period,
 * and a second signal exits at once.
 */
import http2 from "node:http2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SrClient } from "../../clients/ts/index.js";
import { WatchStatusRequest } from "../../gen/ts/sr/v1/sr.js";
import { connectRaw, firstMessage, grpcFrame, openRaw } from "../helpers/raw-grpc.js";
import { rawWatch } from "../helpers/raw-watch.js";
import { Spawned, type Started, killAllProcesses, removeTempFiles, startSrProcess, writeTempFile } from "../helpers/process.js";
import { type TestServer, startServer } from "../helpers/server.js";
import { collect, waitFor } from "../helpers/wait.js";

const SLOW = 60_000;
const WATCH = "/sr.v1.StatusReportService/WatchStatus";
const watchFrame = (group: string) => grpcFrame(Buffer.from(WatchStatusRequest.encode(WatchStatusRequest.fromPartial({ group })).finish()));

let srv: TestServer;
let baseline: ReturnType<TestServer["stats"]>;
let processes: Record<"graceful" | "twice", Promise<Started>>;

beforeAll(async () => {
  processes = {
    graceful: startSrProcess({ args: ["--config", writeTempFile("grace.yaml", "limits:\n  grace_period: 2s\n")] }),
    twice: startSrProcess({ args: ["--config", writeTempFile("long.yaml", "limits:\n  grace_period: 60s\n")] }),
  };
  for (const started of Object.values(processes)) started.catch(() => {});
  srv = await startServer();
  srv.registry.registerGroup({ group: "faults" });
  baseline = srv.stats();
});

afterAll(async () => {
  await srv?.stop();
  await killAllProcesses();
  removeTempFiles();
});

/** Resolves once the server counts exactly what it did before any client came. */
function nothingLeft(timeoutMs = 10_000): Promise<unknown> {
  return waitFor(() => JSON.stringify(srv.stats()) === JSON.stringify(baseline), timeoutMs, () => `the counts back to ${JSON.stringify(baseline)}, not ${JSON.stringify(srv.stats())}`);
}

/** A client process: opens `streams` watches on one connection, says "watching", then waits to be killed. */
const CLIENT = `
const http2 = require("node:http2");
const [address, frame, streams] = process.argv.slice(1);
const session = http2.connect("http://" + address);
let open = 0;
for (let i = 0; i < Number(streams); i++) {
  const stream = session.request({ ":method": "POST", ":path": "${WATCH}", "content-type": "application/grpc", te: "trailers" });
  stream.once("data", () => { if (++open === Number(streams)) console.log("watching"); });
  stream.end(Buffer.from(frame, "hex"));
}
`;

describe("clients that go away", { timeout: SLOW }, () => {
  it("a client process killed mid-stream frees its watchers", async () => {
    const client = new Spawned(process.execPath, ["-e", CLIENT, srv.address, watchFrame("faults").toString("hex"), "25"]);
    await client.waitForLine(/^watching$/);
    expect(srv.stats()).toMatchObject({ sessions: baseline.sessions + 1, watchers: 25 });
    process.kill(client.pid, "SIGKILL");
    await client.waitForExit();
    await nothingLeft();
  });

  it("a thousand connect, watch and disconnect cycles leave no connection, stream, call, watcher, timer or listener", async () => {
    const endings = [
      (s: http2.ClientHttp2Session) => {
        s.goaway(); // says goodbye, then goes without waiting for the watch
        s.destroy();
      },
      (s: http2.ClientHttp2Session) => s.destroy(), // the socket torn down
      (s: http2.ClientHttp2Session, stream: http2.ClientHttp2Stream) => {
        stream.close(http2.constants.NGHTTP2_CANCEL); // the stream reset first
        s.close();
      },
    ];
    const cycle = async (i: number) => {
      const session = await connectRaw(srv.address);
      const watch = openRaw(session, WATCH, watchFrame(i % 2 === 0 ? "faults" : ""));
      await firstMessage(watch.stream);
      endings[i % endings.length]?.(session, watch.stream);
    };
    const writer = setInterval(() => srv.registry.setStatus({ group: "faults", identifier: "", status: Math.random() < 0.5 ? 1 : -1 }), 5);
    try {
      for (let i = 0; i < 1_000; i += 20) await Promise.all(Array.from({ length: 20 }, (_, j) => cycle(i + j)));
    } finally {
      clearInterval(writer);
    }
    await nothingLeft();
  });
});

describe("the process under load", { timeout: SLOW }, () => {
  /** Writers and watchers hard at work, and one watcher that reads nothing (its stream can only be cut). */
  async function busy(address: string) {
    const clients = Array.from({ length: 3 }, () => new SrClient(address, { channelOptions: { "grpc.use_local_subchannel_pool": 1 } }));
    const [a] = clients as [SrClient];
    await a.registerGroup({ group: "load" });
    const writing = clients.map(async (writer, w) => {
      for (let i = 0; ; i++) {
        try {
          await writer.setStatus({ group: "load", identifier: "", status: i % 2 === 0 ? -1 : 1, details: `${w}:${i}`.padEnd(1_024, ".") }, { timeoutMs: 5_000 });
        } catch {
          return i; // refused once the stop has begun, or gone with the process
        }
      }
    });
    const watchers = clients.map((c) => c.watch({ group: "load", includeDetails: true }, { resume: false }));
    for (const events of watchers) await collect(events, 2, 10_000); // the snapshot and a change: all live
    const stuck = await rawWatch(address, { group: "load", includeDetails: true });
    return { clients, writing, stuck };
  }

  it("SIGTERM with writers and watchers active: exit 0 within the grace period, the stuck watcher cut at its end", async () => {
    const { proc, address } = await processes.graceful;
    const load = await busy(address);
    const signalled = Date.now();
    proc.signal("SIGTERM");
    const exit = await proc.waitForExit(10_000);
    const took = Date.now() - signalled;
    expect(exit, proc.describe()).toEqual({ code: 0, signal: null });
    expect(took, "ended within the 2 s grace period (and the time to exit)").toBeLessThan(2_000 + 3_000);
    expect(proc.stdout).toMatch(/grace period over/);
    expect(Math.min(...(await Promise.all(load.writing)))).toBeGreaterThan(0);
    load.stuck.close();
    for (const c of load.clients) c.close();
  });

  it("a second signal, while the stop waits, exits at once", async () => {
    const { proc, address } = await processes.twice;
    const load = await busy(address);
    proc.signal("SIGTERM");
    await proc.waitForLine(/SIGTERM received/);
    const second = Date.now();
    proc.signal("SIGTERM");
    const exit = await proc.waitForExit(5_000);
    expect(Date.now() - second, "at once, not after the 60 s grace period").toBeLessThan(3_000);
    expect(exit.signal, proc.describe()).toBeNull(); // it exited by itself
    expect(exit.code).not.toBe(0);
    await Promise.all(load.writing);
    load.stuck.close();
    for (const c of load.clients) c.close();
  });
});
