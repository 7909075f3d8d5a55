/**
 * Watcher tasks for bench/soak.ts, run in agents on the load core. Each
 * watcher is the TS client's resuming watch (clients/ts) on one group, or on
 * everything (""), with details and registrations, and keeps the state it is
 * told: the snapshot, then every change applied in order (a resync drops it
 * and starts again from the new snapshot's first part). At the end the orchestrator hands
 * over the registry as ListStatus read it, and every watcher compares.
 */
import { SrClient, type WatchStatusResponse } from "../../clients/ts/index.js";
import { now, sleep } from "./stats.js";

interface Entry {
  status: number;
  details: string | undefined;
}

interface Watcher {
  group: string;
  /** `group/identifier` -> what the watcher believes. */
  state: Map<string, Entry>;
  revision: bigint;
  live: boolean;
  /** Between the first and the last part of a snapshot. */
  inSnapshot: boolean;
  messages: number;
  changes: number;
  resyncs: number;
  error?: string;
}

/** One identifier of the registry as ListStatus answered it: [group, identifier, status, details]. */
export type Listed = [string, string, number, string | null];

let clients: SrClient[] = [];
let watchers: Watcher[] = [];
let stopper = new AbortController();

const key = (group: string, identifier: string) => `${group}/${identifier}`;

function apply(w: Watcher, m: WatchStatusResponse): void {
  w.messages++;
  w.revision = m.revision;
  const event = m.event;
  switch (event?.$case) {
    case "snapshot":
      // A snapshot (the first, or a resync) replaces everything: start over at its first part.
      // (The client's onResync comes only with the last part, after the others were handed over.)
      if (!w.inSnapshot) w.state.clear();
      w.inSnapshot = !event.value.last;
      for (const s of event.value.identifiers) w.state.set(key(s.group, s.identifier), { status: s.status, details: s.details });
      if (event.value.last) w.live = true;
      break;
    case "statusChanged":
      w.changes++;
      w.state.set(key(event.value.group, event.value.identifier), { status: event.value.status, details: event.value.details });
      break;
    case "registered":
      w.changes++;
      w.state.set(key(event.value.group, event.value.identifier), { status: event.value.status, details: event.value.details });
      break;
    case "unregistered": {
      w.changes++;
      const { group, identifier } = event.value;
      if (identifier) w.state.delete(key(group, identifier));
      else for (const k of [...w.state.keys()]) if (k.startsWith(`${group}/`)) w.state.delete(k);
      break;
    }
    default:
      break; // progress, reports: nothing to keep
  }
}

async function run(w: Watcher, sr: SrClient, signal: AbortSignal): Promise<void> {
  const onResync = () => void w.resyncs++;
  try {
    for await (const m of sr.watch({ group: w.group, includeDetails: true, includeRegistrations: true }, { signal, onResync })) apply(w, m);
  } catch (error) {
    w.error = (error as Error).message;
  }
}

/** Opens one watcher per entry of `groups` ("" watches everything), `perConnection` to a client; resolves once all are live. */
async function open(p: { address: string; groups: string[]; perConnection: number; timeoutMs?: number }): Promise<{ openMs: number }> {
  const started = now();
  stopper = new AbortController();
  const count = Math.ceil(p.groups.length / p.perConnection);
  clients = Array.from({ length: count }, () => new SrClient(p.address, { channelOptions: { "grpc.use_local_subchannel_pool": 1, "grpc.max_receive_message_length": 64 * 1024 * 1024 } }));
  watchers = p.groups.map((group) => ({ group, state: new Map(), revision: 0n, live: false, inSnapshot: false, messages: 0, changes: 0, resyncs: 0 }));
  watchers.forEach((w, i) => void run(w, clients[Math.floor(i / p.perConnection)] as SrClient, stopper.signal));
  const deadline = started + (p.timeoutMs ?? 60_000);
  while (!watchers.every((w) => w.live)) {
    const failed = watchers.find((w) => w.error);
    if (failed) throw new Error(`watcher of '${failed.group}': ${failed.error}`);
    if (now() > deadline) throw new Error(`${watchers.filter((w) => !w.live).length} of ${watchers.length} watchers not live after ${p.timeoutMs ?? 60_000} ms`);
    await sleep(20);
  }
  return { openMs: now() - started };
}

/**
 * Waits until every watcher has reached `revision` (a change or, once quiet,
 * a progress event carries it: the soak's server sends progress after a
 * short idle time), or `timeoutMs`. Answers how many are still behind.
 */
async function settle(p: { revision: string; timeoutMs: number }): Promise<{ behind: number; ms: number }> {
  const started = now();
  const target = BigInt(p.revision);
  const behind = () => watchers.filter((w) => w.revision < target).length;
  while (behind() > 0 && now() - started < p.timeoutMs) await sleep(20);
  return { behind: behind(), ms: now() - started };
}

/**
 * Compares every watcher's state with the registry (`listed`, all of it):
 * identifiers missing, extra, or with another status or details.
 */
async function compare(p: { listed: Listed[] }): Promise<{ watchers: number; mismatched: number; entries: number; examples: string[] }> {
  const byGroup = new Map<string, Map<string, Entry>>();
  const all = new Map<string, Entry>();
  for (const [group, identifier, status, details] of p.listed) {
    const entry = { status, details: details ?? undefined };
    if (!byGroup.has(group)) byGroup.set(group, new Map());
    byGroup.get(group)?.set(key(group, identifier), entry);
    all.set(key(group, identifier), entry);
  }
  let mismatched = 0;
  let entries = 0;
  const examples: string[] = [];
  for (const w of watchers) {
    const expected = w.group === "" ? all : (byGroup.get(w.group) ?? new Map<string, Entry>());
    let wrong = 0;
    const note = (what: string) => {
      wrong++;
      if (examples.length < 5) examples.push(`watcher of '${w.group}': ${what}`);
    };
    for (const [k, e] of expected) {
      const seen = w.state.get(k);
      if (!seen) note(`${k} missing`);
      else if (seen.status !== e.status || seen.details !== e.details) note(`${k} is ${seen.status} '${seen.details}', registry ${e.status} '${e.details}'`);
    }
    for (const k of w.state.keys()) if (!expected.has(k)) note(`${k} not in the registry`);
    if (w.error) note(`ended: ${w.error}`);
    if (wrong) mismatched++;
    entries += wrong;
  }
  return { watchers: watchers.length, mismatched, entries, examples };
}

async function stats(): Promise<{ messages: number; changes: number; resyncs: number; errors: number }> {
  let messages = 0;
  let changes = 0;
  let resyncs = 0;
  for (const w of watchers) {
    messages += w.messages;
    changes += w.changes;
    resyncs += w.resyncs;
  }
  return { messages, changes, resyncs, errors: watchers.filter((w) => w.error).length };
}

async function close(): Promise<void> {
  stopper.abort();
  for (const c of clients) c.close();
  clients = [];
  watchers = [];
}

export const tasks = { open, settle, compare, stats, close };
