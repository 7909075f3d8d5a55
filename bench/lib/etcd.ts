/**
 * The few etcd v3 messages the fan-out baseline needs (etcdserverpb, rpc.proto
 * and mvccpb/kv.proto), encoded by hand: Put, a Watch create request, and the
 * events of a WatchResponse. Field numbers are etcd's.
 *
 * And the load tasks of the etcd-mode cases of bench/storage.ts, run in an
 * agent on the load core (`new Agent("bench/lib/etcd.ts")`): calls spread over
 * several replicas, and bare etcd Puts and transactions through etcd3, the
 * client etcd mode itself uses (loaded only by those tasks).
 */
import type { Client } from "@grpc/grpc-js";
import { BinaryReader, BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import type { Etcd3 } from "etcd3";
import { connectAll, unary } from "./grpc.js";
import { now, percentile } from "./stats.js";

export const PUT = "/etcdserverpb.KV/Put";
export const WATCH = "/etcdserverpb.Watch/Watch";

/** PutRequest { key = 1; value = 2 } */
export function putRequest(key: string, value: string): Buffer {
  return Buffer.from(new BinaryWriter().uint32(10).string(key).uint32(18).string(value).finish());
}

/** WatchRequest { create_request = 1: WatchCreateRequest { key = 1 } } */
export function watchCreate(key: string): Buffer {
  const create = new BinaryWriter().uint32(10).string(key).finish();
  return Buffer.from(new BinaryWriter().uint32(10).bytes(create).finish());
}

export interface WatchResponse {
  created: boolean;
  canceled: boolean;
  /** The `value` of each event's key-value, in order. */
  values: string[];
}

/** WatchResponse { created = 3; canceled = 4; events = 11: Event { kv = 2: KeyValue { value = 5 } } } */
export function decodeWatchResponse(bytes: Uint8Array): WatchResponse {
  const out: WatchResponse = { created: false, canceled: false, values: [] };
  const r = new BinaryReader(bytes);
  while (r.pos < r.len) {
    const [field, wire] = r.tag();
    if (field === 3 && wire === WireType.Varint) out.created = r.bool();
    else if (field === 4 && wire === WireType.Varint) out.canceled = r.bool();
    else if (field === 11 && wire === WireType.LengthDelimited) out.values.push(eventValue(r.bytes()));
    else r.skip(wire);
  }
  return out;
}

function eventValue(event: Uint8Array): string {
  const r = new BinaryReader(event);
  while (r.pos < r.len) {
    const [field, wire] = r.tag();
    if (field !== 2 || wire !== WireType.LengthDelimited) {
      r.skip(wire);
      continue;
    }
    const kv = new BinaryReader(r.bytes());
    while (kv.pos < kv.len) {
      const [f, w] = kv.tag();
      if (f === 5 && w === WireType.LengthDelimited) return Buffer.from(kv.bytes()).toString();
      kv.skip(w);
    }
  }
  return "";
}

// ---- load tasks for the etcd-mode scenarios (bench/storage.ts), run in an agent on the load core ----

interface Timed {
  calls: number;
  callsPerS: number;
  p50Ms: number;
  p99Ms: number;
}

/** `concurrency` loops for `durationMs`, each awaiting one `call(j, i)` at a time; calls/s and the latency of each call. */
async function timedLoops(concurrency: number, durationMs: number, call: (j: number, i: number) => Promise<unknown>): Promise<Timed> {
  const lat: number[] = [];
  const start = now();
  const end = start + durationMs;
  await Promise.all(
    Array.from({ length: concurrency }, async (_, j) => {
      for (let i = 0; now() < end; i++) {
        const t = now();
        await call(j, i);
        lat.push(now() - t);
      }
    }),
  );
  const ms = now() - start;
  const sorted = Float64Array.from(lat).sort();
  return { calls: lat.length, callsPerS: lat.length / (ms / 1000), p50Ms: percentile(sorted, 50), p99Ms: percentile(sorted, 99) };
}

let replicas: Client[] = [];

/** One connection to each replica (the `addresses`), as bench/lib/unary-load.ts makes one to a server. */
async function replicasConnect(p: { addresses: string[] }): Promise<void> {
  for (const client of replicas) client.close();
  replicas = [];
  for (const address of p.addresses) replicas.push(...(await connectAll(address, 1)));
}

/**
 * bench/lib/unary-load.ts `calls` over several replicas: loop j sends its i-th
 * call to replica (j + i) mod n (a round-robin balancer per call), cycling
 * through its own requests (base64) as there.
 */
async function replicasCalls(p: { method: string; requests: string[][]; concurrency: number; durationMs: number }): Promise<Timed> {
  const mine = Array.from({ length: p.concurrency }, (_, j) => (p.requests[j % p.requests.length] as string[]).map((b) => Buffer.from(b, "base64")));
  return timedLoops(p.concurrency, p.durationMs, (j, i) => {
    const requests = mine[j] as Buffer[];
    return unary(replicas[(j + i) % replicas.length] as Client, p.method, requests[i % requests.length] as Buffer);
  });
}

let etcd: Etcd3 | undefined;
/** Each loop's log key's mod revision after its last transaction (bare txn). */
let logRevision: string[] = [];

/** An etcd3 client (the npm package etcd mode uses) to one etcd member. */
async function etcdConnect(p: { address: string }): Promise<void> {
  etcd?.close();
  const { Etcd3 } = await import("etcd3");
  etcd = new Etcd3({ hosts: `http://${p.address}` });
  logRevision = [];
}

/** Values the size of those one SetStatus commits in etcd mode (measured: identifier row 96 B, history 170 B, log 502 B). */
const ROW = Buffer.alloc(96, "r");
const HISTORY = Buffer.alloc(170, "h");
const LOG = Buffer.alloc(502, "l");

/**
 * Bare etcd writes through etcd3 for `durationMs`, `concurrency` loops, each on keys of its own:
 * - `put`: one Put of a 96-byte value;
 * - `txn`: what one SetStatus commit is in etcd mode: a transaction conditional on
 *   the mod revision of the loop's log key (the one its last transaction left),
 *   putting the log (502 B), a row (96 B), a history entry (170 B) and a revision.
 */
async function etcdCalls(p: { op: "put" | "txn"; concurrency: number; durationMs: number; prefix: string }): Promise<Timed> {
  const client = etcd as Etcd3;
  const key = (name: string, j: number) => Buffer.from(`${p.prefix}${name}/${j}`);
  return timedLoops(p.concurrency, p.durationMs, async (j, i) => {
    if (p.op === "put") return client.kv.put({ key: key("row", j), value: ROW });
    const log = key("log", j);
    const r = await client.kv.txn({
      compare: [{ key: log, target: "Mod", result: "Equal", mod_revision: logRevision[j] ?? "0" }],
      success: [
        { request_put: { key: key("row", j), value: ROW } },
        { request_put: { key: key("rev", j), value: Buffer.from(String(i)) } },
        { request_put: { key: Buffer.from(`${p.prefix}h/${j}/${String(i).padStart(16, "0")}`), value: HISTORY } },
        { request_put: { key: log, value: LOG } },
      ],
      failure: [],
    });
    if (!r.succeeded) throw new Error(`bare txn ${j}/${i}: the compare failed (mod revision ${logRevision[j] ?? "0"})`);
    logRevision[j] = r.header.revision;
  });
}

async function close(): Promise<void> {
  for (const client of replicas) client.close();
  replicas = [];
  etcd?.close();
  etcd = undefined;
}

export const tasks = { replicasConnect, replicasCalls, etcdConnect, etcdCalls, close };
