/**
 * Load tasks for the streaming scenarios (fanout.ts, slow-readers.ts), run in
 * agents on the load core: watchers of our server, of the baselines and of
 * etcd, and one writer. Write k (0, 1, 2, ...) sets status -1 for even k and 1
 * for odd (etcd: the value "k"), so every write is a change and every delivery
 * names its k. Stamps are `now()` (CLOCK_MONOTONIC, shared by the processes):
 * the writer's before each call, the watchers' on each decoded message; the
 * orchestrator joins them afterwards (`latency`).
 */
import http2 from "node:http2";
import type { Client, ClientDuplexStream, ClientReadableStream } from "@grpc/grpc-js";
import { HealthCheckRequest, HealthCheckResponse, HealthCheckResponse_ServingStatus as Serving } from "../../gen/ts/health/v1/health.js";
import { SetStatusRequest, WatchStatusRequest, WatchStatusResponse } from "../../gen/ts/sr/v1/sr.js";
import { PUT, WATCH, decodeWatchResponse, putRequest, watchCreate } from "./etcd.js";
import { HEALTH_SERVICE, SR, connectAll, grpcFrame, raw, unary } from "./grpc.js";
import { now, percentile, sleep } from "./stats.js";

export type Side = "sr" | "bare" | "health" | "etcd";
export const GROUP = "bench";
export const IDENTIFIER = "writer";
const ETCD_KEY = "bench/writer";
/** A run that makes no progress for this long fails. */
const STALL_MS = 30_000;

export interface OpenParams {
  side: Side;
  address: string;
  watchers: number;
  connections: number;
  /** WatchStatus group (sr); default GROUP. "" watches everything. */
  group?: string;
  /** This many of the watchers (the last ones, on connections of their own) stop reading... */
  stalled?: number;
  /**
   * ...after the snapshot's last part ("live": a grpc-js call paused, which still takes about 16
   * messages off its stream first), or from the start of their snapshot ("snapshot", sr only: a
   * WatchStatus made at the HTTP/2 level that reads nothing, so its window fills with the first
   * part and flow control holds the server's stream, as a stuck client's would).
   */
  stallWhen?: "live" | "snapshot";
  stalledConnections?: number;
  /**
   * Count the reading watchers' resyncs instead of failing on one: for count-only runs whose
   * writer is not held back by the slowest reader, where the load core may not keep up.
   */
  countResyncs?: boolean;
}

type Call = ClientReadableStream<Buffer> | ClientDuplexStream<Buffer, Buffer>;

interface Fixture {
  clients: Client[];
  calls: Call[];
  /** Reading watchers (not stalled). */
  readers: number;
  /** The HTTP/2 sessions of watchers stalled in their snapshot. */
  sessions: http2.ClientHttp2Session[];
  closing: boolean;
  failure?: Error;
  /** The current run: deliveries of k in [from, from + changes) land in recv[(k - from) * readers + w]. */
  from: number;
  changes: number;
  recv?: Float64Array;
  received: number;
  lastAt: number;
  countResyncs: boolean;
  /** Resyncs of reading watchers (countResyncs). */
  resyncs: number;
}

let fixture: Fixture | undefined;

function fail(error: Error): void {
  if (fixture && !fixture.closing) fixture.failure ??= error;
}

function deliver(f: Fixture, w: number, k: number): void {
  if (w >= f.readers) return; // what a stalled watcher had buffered before it stopped
  f.received++;
  f.lastAt = now();
  if (!f.recv) return;
  const i = k - f.from;
  if (i < 0 || i >= f.changes) return fail(new Error(`watcher ${w} got change ${k}, outside ${f.from}..${f.from + f.changes - 1}`));
  const slot = i * f.readers + w;
  if (!Number.isNaN(f.recv[slot])) return fail(new Error(`watcher ${w} got change ${k} twice`));
  f.recv[slot] = f.lastAt;
}

/** Opens the watchers; resolves once each has its initial state (or has stalled as asked). */
async function open(p: OpenParams): Promise<{ openMs: number }> {
  const started = now();
  const stalled = p.stalled ?? 0;
  const readers = p.watchers - stalled;
  const readerClients = await connectAll(p.address, Math.min(p.connections, Math.max(readers, 1)));
  const rawStall = p.stallWhen === "snapshot";
  if (rawStall && p.side !== "sr") throw new Error("stallWhen snapshot: sr only");
  const stalledConnections = Math.min(p.stalledConnections ?? stalled, stalled);
  const stalledClients = stalled && !rawStall ? await connectAll(p.address, stalledConnections) : [];
  const sessions = rawStall ? Array.from({ length: stalledConnections }, () => http2.connect(`http://${p.address}`).on("error", () => {})) : [];
  const f: Fixture = { clients: [...readerClients, ...stalledClients], calls: [], readers, sessions, closing: false, from: 0, changes: 0, received: 0, lastAt: 0, countResyncs: p.countResyncs ?? false, resyncs: 0 };
  fixture = f;
  let left = p.watchers;
  let ready!: () => void;
  const allReady = new Promise<void>((resolve) => (ready = resolve));
  for (let w = 0; w < p.watchers; w++) {
    const isStalled = w >= readers;
    let isUp = false;
    const up = () => {
      if (isUp) return;
      isUp = true;
      if (--left === 0) ready();
    };
    if (isStalled && rawStall) {
      stalledInSnapshot(sessions[(w - readers) % sessions.length] as http2.ClientHttp2Session, p).then(up, fail);
      continue;
    }
    const client = (isStalled ? stalledClients[(w - readers) % stalledClients.length] : readerClients[w % readerClients.length]) as Client;
    const stall = (call: Call) => {
      // Stop reading: grpc-js stops taking DATA off the stream, HTTP/2 flow control does the rest.
      call.pause();
      up();
    };
    const call = watch(p, client, w, f, {
      up: (call) => (isStalled && p.stallWhen !== "snapshot" ? stall(call) : up()),
      firstPart: (call) => (isStalled && p.stallWhen === "snapshot" ? stall(call) : undefined),
    });
    call.on("error", (error: Error) => fail(error));
    f.calls.push(call);
  }
  const deadline = setTimeout(() => fail(new Error(`only ${p.watchers - left} of ${p.watchers} watchers started within ${STALL_MS} ms`)), STALL_MS);
  while (left > 0 && !f.failure) await Promise.race([allReady, sleep(100)]);
  clearTimeout(deadline);
  if (f.failure) throw f.failure;
  return { openMs: now() - started };
}

/** A WatchStatus that never reads (its stream paused from the start); resolves once the server answered its headers. */
function stalledInSnapshot(session: http2.ClientHttp2Session, p: OpenParams): Promise<void> {
  const frame = grpcFrame(WatchStatusRequest.encode(WatchStatusRequest.fromPartial({ group: p.group ?? GROUP })).finish());
  const stream = session.request({ ":method": "POST", ":path": `${SR}/WatchStatus`, "content-type": "application/grpc", te: "trailers" });
  stream.on("error", () => {});
  stream.end(frame);
  stream.pause();
  return new Promise((resolve, reject) => {
    stream.once("response", (headers) => {
      const code = headers["grpc-status"];
      if (code !== undefined && code !== "0") reject(new Error(`stalled watcher refused: grpc-status ${code} ${headers["grpc-message"] ?? ""}`));
      else resolve();
    });
    stream.once("error", reject);
  });
}

interface Hooks {
  /** The watcher has its initial state: later messages are changes. */
  up(call: Call): void;
  /** The first message of the initial state arrived. */
  firstPart(call: Call): void;
}

function watch(p: OpenParams, client: Client, w: number, f: Fixture, hooks: Hooks): Call {
  if (p.side === "etcd") {
    const call = client.makeBidiStreamRequest(WATCH, raw, raw);
    call.on("data", (bytes: Buffer) => {
      const response = decodeWatchResponse(bytes);
      if (response.canceled) fail(new Error(`etcd canceled watcher ${w}`));
      if (response.created) hooks.up(call);
      for (const value of response.values) deliver(f, w, Number(value));
    });
    call.write(watchCreate(ETCD_KEY));
    return call;
  }
  if (p.side === "health") {
    const call = client.makeServerStreamRequest(`/grpc.health.v1.Health/Watch`, raw, raw, Buffer.from(HealthCheckRequest.encode({ service: HEALTH_SERVICE }).finish()));
    // The first message is the current status, then one per change, each the opposite of the one before.
    let k = -1;
    let last: Serving | undefined;
    call.on("data", (bytes: Buffer) => {
      const status = HealthCheckResponse.decode(bytes).status;
      if (status === last) fail(new Error(`health watcher ${w} got ${status} twice in a row`));
      last = status;
      if (k < 0) {
        k = f.from;
        hooks.firstPart(call);
        hooks.up(call);
        return;
      }
      deliver(f, w, k++);
    });
    return call;
  }
  const request = WatchStatusRequest.fromPartial({ group: p.group ?? GROUP });
  const call = client.makeServerStreamRequest(`${SR}/WatchStatus`, raw, raw, Buffer.from(WatchStatusRequest.encode(request).finish()));
  let base = -1;
  let parts = 0;
  call.on("data", (bytes: Buffer) => {
    const message = WatchStatusResponse.decode(bytes);
    const event = message.event;
    if (event?.$case === "statusChanged") {
      // Only the writer changes anything once the watchers are up.
      if (base >= 0) deliver(f, w, Number(message.revision) - base - 1);
    } else if (event?.$case === "snapshot") {
      if (event.value.resync) {
        if (!f.countResyncs) fail(new Error(`watcher ${w} fell behind and resynced`));
        else if (w < f.readers && event.value.last) f.resyncs++;
      }
      if (parts++ === 0) hooks.firstPart(call);
      if (event.value.last && base < 0) {
        base = Number(message.revision);
        hooks.up(call);
      }
    }
  });
  return call;
}

/** Prepares the recording of changes [from, from + changes) by every reader (omit changes: count only). */
function arm(p: { from: number; changes?: number }): void {
  const f = fixture as Fixture;
  f.from = p.from;
  f.changes = p.changes ?? 0;
  f.recv = p.changes ? new Float64Array(p.changes * f.readers).fill(Number.NaN) : undefined;
  f.received = 0;
}

/** Resolves once every reader has every armed change; fails on a stall. */
async function complete(): Promise<{ lastAt: number; received: number }> {
  const f = fixture as Fixture;
  const expected = f.changes * f.readers;
  let seen = -1;
  let progressAt = now();
  while (f.received < expected && !f.failure) {
    if (f.received !== seen) {
      seen = f.received;
      progressAt = now();
    } else if (now() - progressAt > STALL_MS) {
      throw new Error(`stalled: ${f.received} of ${expected} deliveries`);
    }
    await sleep(5);
  }
  if (f.failure) throw f.failure;
  return { lastAt: f.lastAt, received: f.received };
}

/** p50/p99 of delivery - write over every (change, reader). */
function latency(p: { writeAt: number[] }): { p50: number; p99: number; max: number; count: number } {
  const f = fixture as Fixture;
  const recv = f.recv as Float64Array;
  const lat = new Float64Array(recv.length);
  for (let i = 0; i < f.changes; i++) {
    const at = p.writeAt[i] as number;
    for (let w = 0; w < f.readers; w++) lat[i * f.readers + w] = (recv[i * f.readers + w] as number) - at;
  }
  lat.sort();
  return { p50: percentile(lat, 50), p99: percentile(lat, 99), max: lat[lat.length - 1] as number, count: lat.length };
}

/** The deliveries counted since `arm`, for runs that only count. */
function counted(): { received: number; resyncs: number } {
  if (fixture?.failure) throw fixture.failure;
  return { received: fixture?.received ?? 0, resyncs: fixture?.resyncs ?? 0 };
}

async function close(): Promise<void> {
  const f = fixture;
  if (!f) return;
  f.closing = true;
  for (const call of f.calls) call.cancel();
  for (const client of f.clients) client.close();
  for (const session of f.sessions) session.destroy();
  fixture = undefined;
}

// ---- the writer ----

let writer: { client: Client; side: Side } | undefined;

const statusOf = (k: number) => (k % 2 === 0 ? -1 : 1);
const requests = new Map<number, Buffer>();
function writeRequest(side: Side, k: number): [string, Buffer] {
  if (side === "etcd") return [PUT, putRequest(ETCD_KEY, String(k))];
  const status = statusOf(k);
  let request = requests.get(status);
  if (!request) {
    request = Buffer.from(SetStatusRequest.encode(SetStatusRequest.fromPartial({ group: GROUP, identifier: IDENTIFIER, status })).finish());
    requests.set(status, request);
  }
  return [`${SR}/SetStatus`, request];
}

async function writerOpen(p: { side: Side; address: string }): Promise<void> {
  const [client] = await connectAll(p.address, 1);
  writer = { client: client as Client, side: p.side };
}

export interface WriteParams {
  from: number;
  /** Stop after this many changes... */
  changes?: number;
  /** ...or after this long. */
  durationMs?: number;
  /** Changes per second; omitted: each call as soon as the previous one answered. */
  rateHz?: number;
}

/** Writes changes one call at a time; returns the stamp taken before each call and the calls' own time. */
async function write(p: WriteParams): Promise<{ writeAt: number[]; written: number; ms: number }> {
  const w = writer as { client: Client; side: Side };
  const writeAt: number[] = [];
  const start = now();
  const end = p.durationMs === undefined ? Number.POSITIVE_INFINITY : start + p.durationMs;
  for (let i = 0; (p.changes === undefined || i < p.changes) && now() < end; i++) {
    if (p.rateHz) {
      const due = start + (i * 1000) / p.rateHz;
      const wait = due - now();
      if (wait > 0) await sleep(wait);
    }
    const [method, request] = writeRequest(w.side, p.from + i);
    writeAt.push(now());
    await unary(w.client, method, request);
  }
  return { writeAt, written: writeAt.length, ms: now() - start };
}

async function writerClose(): Promise<void> {
  writer?.client.close();
  writer = undefined;
}

export const tasks = { open, arm, complete, latency, counted, close, writerOpen, write, writerClose };
