/**
 * Raw HTTP/2 and gRPC framing, by hand over node:http2 (test/helpers/raw-grpc.ts):
 * what a broken or hostile client sends that no gRPC library would. The
 * server never crashes; the service's own checks answer with their reason,
 * grpc-js's own answers (framing, decoding, size) with its codes; a failed
 * call changes nothing; and every stream, call and watcher it opened is
 * gone once it ends, by the server's own counts (RunningServer.stats()).
 */
import net from "node:net";
import { gzipSync } from "node:zlib";
import { status as Code } from "@grpc/grpc-js";
import type { ClientHttp2Session } from "node:http2";
import http2 from "node:http2";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { GetStatusRequest, SetStatusRequest, WatchStatusRequest } from "../../../gen/ts/sr/v1/sr.js";
import { fingerprint } from "../../helpers/hostile.js";
import { connectRaw, firstMessage, grpcFrame, openRaw, rawCall, sessionClosed } from "../../helpers/raw-grpc.js";
import { type TestServer, startServer } from "../../helpers/server.js";
import { waitFor } from "../../helpers/wait.js";

const SR = "/sr.v1.StatusReportService";
const MiB = 1024 * 1024;

let srv: TestServer;
let session: ClientHttp2Session;
let baseline: ReturnType<TestServer["stats"]>;

beforeAll(async () => {
  srv = await startServer();
  srv.registry.registerGroup({ group: "billing", status: 1 });
  baseline = srv.stats();
  session = await connectRaw(srv.address);
});

afterAll(async () => {
  session?.destroy();
  await srv?.stop();
});

/** Every test leaves the server as it found it: nothing open beyond the shared connection. */
afterEach(async () => {
  await waitFor(() => {
    const now = srv.stats();
    return now.streams === 0 && now.calls === 0 && now.watchers === 0 && now.hubTimers === 0 && now.registryListeners === baseline.registryListeners;
  }, 5_000, () => `nothing left open, but the server counts ${JSON.stringify(srv.stats())}`);
});

const encode = <T>(fns: { encode(m: T): { finish(): Uint8Array } }, message: T) => Buffer.from(fns.encode(message).finish());
const getCore = encode(GetStatusRequest, { group: "core", identifier: "" });
const setBilling = encode(SetStatusRequest, SetStatusRequest.fromPartial({ group: "billing", status: -7 }));
const watchBilling = encode(WatchStatusRequest, WatchStatusRequest.fromPartial({ group: "billing" }));

/** Sends `body` to `method`; expects `code` (and `reason` when the service answers itself) and no change. */
async function failsWithoutChange(method: string, body: Buffer, code: Code, reason?: string, headers?: Record<string, string>) {
  const before = fingerprint(srv.registry);
  const answer = await rawCall(session, `${SR}/${method}`, body, { headers });
  expect({ code: answer.grpcStatus, reason: answer.reason }, answer.grpcMessage).toEqual({ code, reason });
  expect(fingerprint(srv.registry), "a failed call changed the registry").toBe(before);
  return answer;
}

/** The connection still answers a call, as before. */
async function stillServes(on: ClientHttp2Session = session) {
  const answer = await rawCall(on, `${SR}/GetStatus`, grpcFrame(getCore));
  expect(answer.grpcStatus, answer.grpcMessage).toBe(Code.OK);
}

describe("message bodies", () => {
  it("invalid UTF-8 in a string field: INVALID_ARGUMENT UTF8_INVALID naming the field", async () => {
    // SetStatusRequest { group: 0xff 0xfe, status: 1 }
    const body = Buffer.from([0x0a, 0x02, 0xff, 0xfe, 0x18, 0x01]);
    const answer = await failsWithoutChange("SetStatus", grpcFrame(body), Code.INVALID_ARGUMENT, "UTF8_INVALID");
    expect(answer.grpcMessage).toMatch(/^group: /);
    await stillServes();
  });

  it("malformed and truncated protobuf: grpc-js's INTERNAL, no reason", async () => {
    await failsWithoutChange("SetStatus", grpcFrame(Buffer.from([0x0e, 0x01])), Code.INTERNAL); // wire type 6
    await failsWithoutChange("SetStatus", grpcFrame(setBilling.subarray(0, 5)), Code.INTERNAL); // the group cut short
    await failsWithoutChange("WatchStatus", grpcFrame(Buffer.from([0x0a, 0x7f, 0x61])), Code.INTERNAL);
    await stillServes();
  });

  it("an oversized message, declared or sent: RESOURCE_EXHAUSTED from grpc-js", async () => {
    await failsWithoutChange("SetStatus", grpcFrame(setBilling, { declaredLength: 64 * MiB }), Code.RESOURCE_EXHAUSTED);
    const big = Buffer.concat([Buffer.from([0x22, 0x80, 0x80, 0x80, 0x02]), Buffer.alloc(4 * MiB, 0x61)]); // details, 4 MiB
    await failsWithoutChange("SetStatus", grpcFrame(Buffer.concat([setBilling, big])), Code.RESOURCE_EXHAUSTED);
    await stillServes();
  });

  it("a length prefix larger than the body, then the end of the stream: grpc-js's answer, nothing changed", async () => {
    // grpc-js never sees a whole message, so it answers as for none: UNIMPLEMENTED.
    await failsWithoutChange("SetStatus", grpcFrame(setBilling, { declaredLength: setBilling.length + 100 }), Code.UNIMPLEMENTED);
    await failsWithoutChange("SetStatus", Buffer.from([0x00, 0x00]), Code.UNIMPLEMENTED); // a prefix cut short
    await stillServes();
  });

  it("a second message on a unary call: refused by grpc-js, the first not applied", async () => {
    await failsWithoutChange("SetStatus", Buffer.concat([grpcFrame(setBilling), grpcFrame(setBilling)]), Code.UNIMPLEMENTED);
  });

  it("the compressed flag without grpc-encoding: compressed bytes are INTERNAL; grpc-js reads the flag as identity", async () => {
    await failsWithoutChange("SetStatus", grpcFrame(gzipSync(setBilling), { compressed: true }), Code.INTERNAL);
    // grpc-js (unlike grpc-go) takes a flagged message without an encoding as uncompressed.
    const answer = await rawCall(session, `${SR}/GetStatus`, grpcFrame(getCore, { compressed: true }));
    expect(answer.grpcStatus).toBe(Code.OK);
  });

  it("a compressed message that does not decompress, or an unknown encoding: grpc-js's INTERNAL and UNIMPLEMENTED", async () => {
    await failsWithoutChange("SetStatus", grpcFrame(setBilling, { compressed: true }), Code.INTERNAL, undefined, { "grpc-encoding": "gzip" });
    await failsWithoutChange("SetStatus", grpcFrame(setBilling, { compressed: true }), Code.UNIMPLEMENTED, undefined, { "grpc-encoding": "br" });
    await stillServes();
  });

  it("not gRPC at all: an unknown method is UNIMPLEMENTED, another content type 415", async () => {
    expect((await rawCall(session, "/sr.v1.Nope/Nope", grpcFrame(getCore))).grpcStatus).toBe(Code.UNIMPLEMENTED);
    expect((await rawCall(session, `${SR}/GetStatus`, grpcFrame(getCore), { headers: { "content-type": "text/plain" } })).httpStatus).toBe(415);
    await stillServes();
  });
});

describe("streams reset and connections abused", () => {
  it("a stream reset mid-watch frees its watcher, and the connection goes on", async () => {
    const watch = openRaw(session, `${SR}/WatchStatus`, grpcFrame(watchBilling));
    await firstMessage(watch.stream);
    expect(srv.stats()).toMatchObject({ watchers: 1, streams: 1 });
    watch.stream.close(http2.constants.NGHTTP2_CANCEL);
    expect((await watch.answer).rstCode).toBe(http2.constants.NGHTTP2_CANCEL);
    await waitFor(() => srv.stats().watchers === 0, 5_000, "the watcher freed");
    await stillServes();
  });

  it("a stream reset before its request ended leaves no call behind", async () => {
    const call = openRaw(session, `${SR}/SetStatus`, grpcFrame(setBilling).subarray(0, 6), { end: false });
    await waitFor(() => srv.stats().calls === 1, 5_000, "the call open on the server");
    call.stream.close(http2.constants.NGHTTP2_CANCEL);
    await call.answer;
    expect(srv.registry.getStatus({ group: "billing", identifier: "" }).status.status).toBe(1);
  });

  it("thousands of watch streams on one connection: 1,000 watch, the rest are refused by the watcher limit", async () => {
    const crowded = await connectRaw(srv.address);
    const streams = Array.from({ length: 2_000 }, () => openRaw(crowded, `${SR}/WatchStatus`, grpcFrame(watchBilling)));
    const refused = await Promise.all(streams.slice(1_000).map((s) => s.answer));
    expect(new Set(refused.map((a) => `${a.grpcStatus} ${a.reason}`))).toEqual(new Set([`${Code.RESOURCE_EXHAUSTED} LIMIT_REACHED`]));
    expect(refused[0]?.grpcMessage).toMatch(/max_watchers_per_connection/);
    await waitFor(() => srv.stats().watchers === 1_000, 10_000, "1,000 watchers");
    expect(srv.stats()).toMatchObject({ sessions: baseline.sessions + 2, streams: 1_000, watchers: 1_000 });
    await stillServes(crowded);
    crowded.destroy();
  });

  it("streams beyond max_concurrent_streams, sent before the server's SETTINGS, are refused; the server holds at most its limit", async () => {
    const small = await startServer((config) => {
      config.listener.maxConcurrentStreams = 20;
      config.watch.maxWatchersPerConnection = 5;
    });
    try {
      // The client believes it may open 500 until the server's SETTINGS arrive.
      const eager = http2.connect(`http://${small.address}`, { peerMaxConcurrentStreams: 500 });
      eager.on("error", () => {});
      const calls = Array.from({ length: 200 }, () => openRaw(eager, `${SR}/GetStatus`, grpcFrame(getCore), { end: false }));
      await waitFor(() => small.stats().calls === 20, 5_000, () => `20 calls open, the server counts ${JSON.stringify(small.stats())}`);
      for (const call of calls) call.stream.end();
      const answers = await Promise.all(calls.map((c) => c.answer));
      const answered = answers.filter((a) => a.grpcStatus === Code.OK).length;
      const refused = answers.filter((a) => a.rstCode === http2.constants.NGHTTP2_REFUSED_STREAM).length;
      expect(answered).toBeGreaterThanOrEqual(20);
      expect(answered + refused).toBe(200);
      expect(small.stats().streams).toBe(0);
      eager.destroy();
    } finally {
      await small.stop();
    }
  });

  it("bytes that are not HTTP/2: the server drops that connection and serves the others", async () => {
    const socket = net.connect(Number(srv.address.slice(srv.address.lastIndexOf(":") + 1)), "127.0.0.1");
    socket.on("error", () => {});
    socket.resume();
    const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
    socket.write("GET / HTTP/1.1\r\nHost: x\r\n\r\n\u0000\u00ff garbage");
    await closed;
    await stillServes();
  });

  it("a connection destroyed mid-call is forgotten by the server", async () => {
    const doomed = await connectRaw(srv.address);
    const watch = openRaw(doomed, `${SR}/WatchStatus`, grpcFrame(watchBilling));
    await firstMessage(watch.stream);
    doomed.destroy();
    await sessionClosed(doomed);
    await waitFor(() => srv.stats().sessions === baseline.sessions + 1, 5_000, "the connection forgotten");
  });
});
