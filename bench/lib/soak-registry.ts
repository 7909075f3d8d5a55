/**
 * The loader and checker of bench/soak.ts, run in an agent on the load core:
 * bulk registration (groups of identifiers, each with a lease when a ttl is
 * given) and the registry as a paged ListStatus reads it.
 */
import { SrClient } from "../../clients/ts/index.js";
import type { Listed } from "./soak-watchers.js";
import { now } from "./stats.js";

let sr: SrClient | undefined;

async function connect(p: { address: string }): Promise<void> {
  sr?.close();
  sr = new SrClient(p.address, { channelOptions: { "grpc.use_local_subchannel_pool": 1, "grpc.max_receive_message_length": 64 * 1024 * 1024 } });
}

const duration = (ms: number) => ({ seconds: BigInt(Math.floor(ms / 1000)), nanos: (ms % 1000) * 1e6 });

/**
 * Registers `groups` groups `PREFIXg` of `perGroup` identifiers `i0`.. (their
 * `main` besides), `concurrency` calls in flight; with `ttlMs` each identifier
 * is registered with a lease. Answers how long it took.
 */
async function register(p: { prefix: string; groups: number; perGroup: number; ttlMs: number; concurrency: number }): Promise<{ ms: number; callsPerS: number }> {
  const client = sr as SrClient;
  const started = now();
  for (let g = 0; g < p.groups; g++) await client.registerGroup({ group: `${p.prefix}${g}` });
  const total = p.groups * p.perGroup;
  let next = 0;
  const ttl = p.ttlMs > 0 ? duration(p.ttlMs) : undefined;
  await Promise.all(
    Array.from({ length: p.concurrency }, async () => {
      for (let k = next++; k < total; k = next++) {
        await client.registerIdentifier({ group: `${p.prefix}${Math.floor(k / p.perGroup)}`, identifier: `i${k % p.perGroup}`, ttl, reportCapacity: 0 });
      }
    }),
  );
  const ms = now() - started;
  return { ms, callsPerS: (total + p.groups) / (ms / 1000) };
}

/** The whole registry, paged: every identifier with its status and details, the revision it reflects, and the identifiers a lease expiry wrote. */
async function list(p: { expiredStatus: number; expiredDetails: string }): Promise<{ listed: Listed[]; revision: string; expired: string[] }> {
  const client = sr as SrClient;
  const listed: Listed[] = [];
  const expired: string[] = [];
  let pageToken = "";
  let revision = 0n;
  do {
    const page = await client.listStatus({ pageSize: 10_000, pageToken });
    if (page.revision > revision) revision = page.revision;
    for (const group of page.groups) {
      for (const s of group.identifiers) {
        listed.push([s.group, s.identifier, s.status, s.details ?? null]);
        if (s.status === p.expiredStatus && s.details === p.expiredDetails) expired.push(`${s.group}/${s.identifier}`);
      }
    }
    pageToken = page.nextPageToken;
  } while (pageToken);
  return { listed, revision: String(revision), expired };
}

async function close(): Promise<void> {
  sr?.close();
  sr = undefined;
}

export const tasks = { connect, register, list, close };
