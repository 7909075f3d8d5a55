/**
 * Load tasks for bench/unary.ts and bench/scale.ts, run in an agent on the load
 * core: `concurrency` loops over one connection, each awaiting one call at a
 * time and cycling through its own encoded requests (its own identifier, so
 * that "every call a change" holds whatever the others do).
 */
import type { Client } from "@grpc/grpc-js";
import { ListStatusRequest, ListStatusResponse } from "../../gen/ts/sr/v1/sr.js";
import { SR, connectAll, unary } from "./grpc.js";
import { now, percentile } from "./stats.js";

let client: Client | undefined;

async function connect(p: { address: string }): Promise<void> {
  client?.close();
  [client] = await connectAll(p.address, 1);
}

export interface CallsParams {
  method: string;
  /** Per loop, the requests it sends in turn (base64); loop j uses requests[j % length]. */
  requests: string[][];
  concurrency: number;
  durationMs: number;
}

/** Calls for `durationMs`; answers calls/s and the latency of each call. */
async function calls(p: CallsParams): Promise<{ calls: number; callsPerS: number; p50Ms: number; p99Ms: number }> {
  const c = client as Client;
  const lat: number[] = [];
  const start = now();
  const end = start + p.durationMs;
  await Promise.all(
    Array.from({ length: p.concurrency }, async (_, j) => {
      const mine = (p.requests[j % p.requests.length] as string[]).map((b) => Buffer.from(b, "base64"));
      for (let i = 0; now() < end; i++) {
        const t = now();
        await unary(c, p.method, mine[i % mine.length] as Buffer);
        lat.push(now() - t);
      }
    }),
  );
  const ms = now() - start;
  const sorted = Float64Array.from(lat).sort();
  return { calls: lat.length, callsPerS: lat.length / (ms / 1000), p50Ms: percentile(sorted, 50), p99Ms: percentile(sorted, 99) };
}

/** Pages through the whole of ListStatus; answers how long it took, the pages and the identifiers seen. */
async function listAll(p: { pageSize?: number }): Promise<{ ms: number; pages: number; identifiers: number }> {
  const c = client as Client;
  const start = now();
  let pages = 0;
  let identifiers = 0;
  let pageToken = "";
  do {
    const request = Buffer.from(ListStatusRequest.encode(ListStatusRequest.fromPartial({ pageSize: p.pageSize ?? 0, pageToken })).finish());
    const page = ListStatusResponse.decode(await unary(c, `${SR}/ListStatus`, request));
    pages++;
    for (const group of page.groups) identifiers += group.identifiers.length;
    pageToken = page.nextPageToken;
  } while (pageToken);
  return { ms: now() - start, pages, identifiers };
}

async function close(): Promise<void> {
  client?.close();
  client = undefined;
}

export const tasks = { connect, calls, listAll, close };
