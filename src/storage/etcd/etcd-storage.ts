/**
 * etcd mode (`--etcd`, docs/storage.md): replicas share one registry kept in
 * an etcd cluster. The registry's rules decide each write on the replica that
 * took it (src/domain/replication/writer.ts); this adapter commits the batch
 * in one etcd transaction conditional on the log key's mod revision being the
 * one this replica applied last (so the cluster's commits form one sequence
 * and every replica decided on top of all of them), follows that key with an
 * etcd watch to apply every batch in order, loads the state at start, watches
 * the cluster's health, and stays within etcd's limits (history trimmed,
 * etcd compacted). Loaded (`import()`) only in this mode.
 */
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { ConsecutiveBreaker, ExponentialBackoff, type IBackoff, circuitBreaker, handleWhen, noop, retry } from "cockatiel";
import { Etcd3, type IKeyValue, type IOptions, type IRequestOp, type Watcher, isRecoverableError } from "etcd3";
import type { EtcdConfig } from "../../app/config.js";
import type { Registry } from "../../domain/registry/registry.js";
import type { Change } from "../../domain/registry/types.js";
import { type Entry, type GroupRow, type IdentifierRow, entryRevision } from "../../domain/replication/entry.js";
import type { CommitOutcome, EngineEvent, Replication } from "../../domain/replication/log.js";
import { storageUnavailable } from "../../domain/replication/writer.js";
import type { ReportEntry } from "../../domain/report-ring.js";
import type { Storage, StoredGroup, StoredIdentifier, StoredState } from "../../domain/storage/storage.js";
import { Keys, prefixEnd } from "./keys.js";

/** Each call to etcd but the watch gives up after this long. */
const CALL_TIMEOUT_MS = 5_000;
/** The cluster's health is read this often; two failed reads in a row (each within PROBE_TIMEOUT_MS) mean it is lost. */
const PROBE_INTERVAL_MS = 1_000;
const PROBE_TIMEOUT_MS = 2_000;
const PROBE_FAILURES = 2;
/** etcd's own history is compacted every this many commits of this replica, keeping this many etcd revisions. */
const COMPACT_EVERY = 1_000;
const COMPACT_KEEP = 10_000;
/** The change history is trimmed when a batch crosses a multiple of this. */
const TRIM_EVERY = 64;
/** etcd's default limit of operations in one transaction. */
const MAX_OPS = 128;
/** Batch ids remembered as applied, for a commit whose answer was lost. */
const RECENT_IDS = 1_024;
/**
 * Health rounds in a row in which the log's head is ahead of what this replica applied:
 * after LAG_REWATCH its watch is opened again (it may sit on a member cut off from the
 * others, which keeps a watch open and silent); after LAG_LOST the replica counts as lost.
 */
const LAG_REWATCH = 3;
const LAG_LOST = 6;
/** Watches opened again within a minute before the replica gives up (a watch that keeps failing). */
const MAX_REWATCHES = 10;

const bytes = (text: string) => Buffer.from(text);
const put = (key: string, value: string): IRequestOp => ({ request_put: { key: bytes(key), value: bytes(value) } });
const deleteKey = (key: string): IRequestOp => ({ request_delete_range: { key: bytes(key) } });
const deletePrefix = (prefix: string): IRequestOp => ({ request_delete_range: { key: bytes(prefix), range_end: prefixEnd(bytes(prefix)) } });
/** An error's message without grpc-js's resolution notes (`...,name resolution: 0.002s,remote_addr=...`). */
const messageOf = (error: unknown) =>
  (error instanceof Error ? error.message : String(error)).replace(/,name resolution:.*$/s, "").replace(/\.? Resolution note:.*$/s, "").trim();

/** The value of `P/log`: the last committed batch. */
interface Batch {
  id: string;
  entries: Entry[];
}

interface Waiter {
  done: () => boolean;
  resolve: (reached: boolean) => void;
  timer: NodeJS.Timeout;
}

function clientOptions(config: EtcdConfig, hosts: string[], single: boolean): IOptions {
  const tls = config.tls;
  return {
    hosts,
    ...(tls?.ca || tls?.cert
      ? {
          credentials: {
            rootCertificate: tls.ca ? readFileSync(tls.ca) : (undefined as unknown as Buffer),
            ...(tls.cert && tls.key ? { certChain: readFileSync(tls.cert), privateKey: readFileSync(tls.key) } : {}),
          },
        }
      : {}),
    ...(config.username !== undefined && config.password !== undefined ? { auth: { username: config.username, password: config.password } } : {}),
    dialTimeout: CALL_TIMEOUT_MS,
    defaultCallOptions: (context) => (context.isStream ? {} : { deadline: Date.now() + (single ? PROBE_TIMEOUT_MS : CALL_TIMEOUT_MS) }),
    faultHandling: single
      ? { host: () => noop, global: noop }
      : {
          // A member that keeps failing is left alone for a second; a call that failed on one is tried once on another.
          host: () => circuitBreaker(handleWhen(isRecoverableError), { halfOpenAfter: 1_000, breaker: new ConsecutiveBreaker(3) }),
          global: retry(handleWhen(isRecoverableError), { maxAttempts: 2 }),
          // etcd3 calls `next()` on it, as on a factory (its typings say an IBackoff).
          watchBackoff: new ExponentialBackoff({ initialDelay: 100, maxDelay: 2_000 }) as unknown as IBackoff<unknown>,
        },
  };
}

/** Opens the cluster's registry (creating it on first use) and loads its state. */
export async function openEtcdStorage(config: EtcdConfig, options: { history: number }): Promise<EtcdStorage> {
  const prefix = config.prefix.endsWith("/") ? config.prefix : `${config.prefix}/`;
  const client = new Etcd3(clientOptions(config, config.endpoints, false));
  const storage = new EtcdStorage(config, client, new Keys(prefix), options.history);
  try {
    await storage.open();
  } catch (error) {
    storage.close();
    throw new Error(`cannot open the registry in etcd at ${config.endpoints.join(",")} (prefix ${prefix}): ${messageOf(error)}`);
  }
  return storage;
}

export class EtcdStorage implements Storage, Replication {
  readonly durable = false;
  readonly replication = this;
  private state: StoredState | undefined;
  /** The mod revision of the last `P/log` this replica applied. */
  private position = 0;
  private registry: Registry | undefined;
  private watcher: Watcher | undefined;
  private readonly waiters = new Set<Waiter>();
  private readonly recent: string[] = [];
  private readonly recentSet = new Set<string>();
  private readonly listeners: ((event: EngineEvent) => void)[] = [];
  /** Why the cluster is lost (no quorum), or undefined. */
  private quorumLost: string | undefined;
  /** Why this replica cannot follow the cluster (its watch is behind), or undefined. */
  private behind: string | undefined;
  private failures = 0;
  private lagRounds = 0;
  /** The log's head as the last health round read it. */
  private seenHead = 0;
  /** The etcd revision the state was loaded at: the watch starts after it. */
  private loadedAt = 0;
  private rewatches: number[] = [];
  private probeTimer: NodeJS.Timeout | undefined;
  private probes: Etcd3[] = [];
  private commits = 0;
  private closed = false;

  constructor(
    private readonly config: EtcdConfig,
    private readonly client: Etcd3,
    private readonly keys: Keys,
    private readonly history: number,
  ) {}

  get unavailable(): string | undefined {
    return this.quorumLost ?? this.behind;
  }

  // ---- Storage ----

  load(): StoredState | undefined {
    const state = this.state;
    this.state = undefined;
    return state;
  }

  commit(): void {
    throw new Error("etcd storage: changes are committed through the replicated writer");
  }

  saveLease(): void {}

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.probeTimer) clearTimeout(this.probeTimer);
    for (const waiter of this.waiters) this.settle(waiter, false);
    void this.watcher?.cancel().catch(() => {});
    for (const probe of this.probes) probe.close();
    this.client.close();
  }

  // ---- Replication ----

  onEngine(listener: (event: EngineEvent) => void): void {
    this.listeners.push(listener);
  }

  /** Starts applying the cluster's commits to `registry` (built from `load()`), and watching the cluster's health. */
  async follow(registry: Registry): Promise<void> {
    this.registry = registry;
    // From the revision the state was read at: the log key may not have moved for long (an idle
    // registry), and etcd may have compacted past its last commit since.
    await this.watch(this.loadedAt + 1);
    this.probes = this.config.endpoints.map((endpoint) => new Etcd3(clientOptions(this.config, [endpoint], true)));
    this.scheduleProbe();
  }

  /** Watches the log key from `revision`, the handlers attached before the watch is created (no event missed). */
  private async watch(revision: number): Promise<void> {
    const watcher = this.client.watch().key(this.keys.log).startRevision(String(revision)).watcher();
    this.watcher = watcher;
    watcher.on("put", (kv) => this.applyLog(kv));
    watcher.on("error", (error) => {
      if (this.watcher === watcher) void this.rewatch(`the etcd watch failed: ${messageOf(error)}`);
    });
    await new Promise<void>((resolve, reject) => {
      watcher.once("connected", () => resolve());
      watcher.once("error", reject);
    });
  }

  /**
   * The watch was cancelled (etcd compacted past where it was) or is stuck: open it again
   * after what this replica applied, when etcd still has that; when it does not and the
   * log moved meanwhile, the commits in between are gone and the replica cannot go on.
   */
  private async rewatch(why: string): Promise<void> {
    if (this.closed) return;
    const now = Date.now();
    this.rewatches = this.rewatches.filter((at) => now - at < 60_000);
    if (this.rewatches.push(now) > MAX_REWATCHES) return this.fatal(`${why} (the watch was opened again ${MAX_REWATCHES} times within a minute)`);
    const old = this.watcher;
    this.watcher = undefined;
    void old?.cancel().catch(() => {});
    try {
      const head = await this.client.kv.range({ key: bytes(this.keys.log) });
      const at = Number(head.kvs[0]?.mod_revision ?? 0);
      const current = Number(head.header.revision);
      // Nothing committed since this replica's last batch: watch on from now. Else from after that batch,
      // which etcd answers with a cancel again if it compacted it away (then the replica must restart).
      if (at <= this.position) await this.watch(current + 1);
      else await this.watch(this.position + 1);
    } catch (error) {
      if (!this.closed && this.watcher === undefined) this.fatal(`${why}; cannot follow the cluster's log any more: ${messageOf(error)}`);
    }
  }

  async clusterRevision(): Promise<number> {
    try {
      return Number((await this.client.get(this.keys.rev).string()) ?? 0);
    } catch (error) {
      throw storageUnavailable(`cannot read the cluster's revision from etcd: ${messageOf(error)}`);
    }
  }

  reached(revision: number, timeoutMs: number): Promise<boolean> {
    return this.waitFor(() => (this.registry?.revision ?? 0) >= revision, timeoutMs);
  }

  caughtUp(position: number, timeoutMs: number): Promise<boolean> {
    return this.waitFor(() => this.position >= position, timeoutMs);
  }

  applied(id: string): boolean {
    return this.recentSet.has(id);
  }

  async commitBatch(id: string, entries: Entry[]): Promise<CommitOutcome> {
    const ops = this.opsOf(id, entries);
    let response;
    try {
      response = await this.client.kv.txn({
        compare: [{ key: bytes(this.keys.log), target: "Mod", result: "Equal", mod_revision: this.position }],
        success: ops,
        failure: [{ request_range: { key: bytes(this.keys.log) } }],
      });
    } catch (error) {
      throw storageUnavailable(`etcd did not answer the commit (the write may or may not have been kept): ${messageOf(error)}`);
    }
    if (response.succeeded) {
      const position = Number(response.header.revision);
      if (++this.commits % COMPACT_EVERY === 0 && position > COMPACT_KEEP) {
        this.client.kv.compact({ revision: position - COMPACT_KEEP }).catch(() => {});
      }
      return { committed: true, position };
    }
    const head = response.responses[0]?.response_range.kvs[0];
    return { committed: false, position: Number(head?.mod_revision ?? 0) };
  }

  // ---- internals ----

  /** Creates the registry on first use (its id, revision 0, an empty log), then loads it at one etcd revision. */
  async open(): Promise<void> {
    const keys = this.keys;
    await this.client.kv.txn({
      compare: [{ key: bytes(keys.id), target: "Version", result: "Equal", version: 0 }],
      success: [put(keys.id, randomUUID()), put(keys.rev, "0"), put(keys.log, JSON.stringify({ id: "", entries: [] } satisfies Batch))],
      failure: [],
    });
    const { kvs, revision: loadedAt } = await this.rangeAll(keys.prefix);
    this.loadedAt = loadedAt;
    let registryId = "";
    let revision = 0;
    const groups = new Map<string, StoredGroup>();
    const identifiers = new Map<string, { groupKey: string; row: IdentifierRow }>();
    const reports = new Map<string, ReportEntry[]>();
    const batches: Change[][] = [];
    for (const kv of kvs) {
      const key = kv.key.toString();
      const value = kv.value.toString();
      if (key === keys.id) registryId = value;
      else if (key === keys.rev) revision = Number(value);
      else if (key === keys.log) this.position = Number(kv.mod_revision);
      else if (key.startsWith(keys.history)) batches.push(JSON.parse(value) as Change[]);
      else if (key.startsWith(keys.groups)) {
        const row = JSON.parse(value) as GroupRow;
        groups.set(Keys.split(key.slice(keys.groups.length))[0] as string, { ...row, identifiers: [] });
      } else if (key.startsWith(keys.identifiers)) {
        const [groupKey, identifierKey] = Keys.split(key.slice(keys.identifiers.length)) as [string, string];
        identifiers.set(`${groupKey}\u0000${identifierKey}`, { groupKey, row: JSON.parse(value) as IdentifierRow });
      } else if (key.startsWith(keys.reports)) {
        const [groupKey, identifierKey] = Keys.split(key.slice(keys.reports.length)) as [string, string];
        const at = `${groupKey}\u0000${identifierKey}`;
        const list = reports.get(at) ?? [];
        list.push(JSON.parse(value) as ReportEntry);
        reports.set(at, list);
      }
    }
    for (const [at, { groupKey, row }] of identifiers) {
      const group = groups.get(groupKey);
      if (!group) continue;
      // Oldest first; the ring keeps the last `capacity` of them (ReportRing.restore).
      const kept = (reports.get(at) ?? []).sort((a, b) => a.sequence - b.sequence);
      const lease = row.lease && { ttlMs: row.lease.ttlMs, removeAfterMs: row.lease.removeAfterMs, armed: row.lease.armed };
      const identifier: StoredIdentifier = { ...row, reports: kept, lease };
      group.identifiers.push(identifier);
    }
    this.state = { registryId, revision, groups: [...groups.values()], history: historyOf(batches.flat(), revision, this.history) };
  }

  /** Every key under `prefix`, in pages, all at the revision of the first page (given back). */
  private async rangeAll(prefix: string): Promise<{ kvs: IKeyValue[]; revision: number }> {
    const out: IKeyValue[] = [];
    let key = bytes(prefix);
    const end = prefixEnd(key);
    let revision: string | undefined;
    for (;;) {
      const page = await this.client.kv.range({ key, range_end: end, limit: 1_000, ...(revision ? { revision } : {}) });
      revision ??= String(page.header.revision);
      out.push(...page.kvs);
      const last = page.kvs.at(-1);
      if (!page.more || !last) return { kvs: out, revision: Number(revision) };
      key = Buffer.concat([last.key, Buffer.from([0])]);
    }
  }

  /** One transaction's operations: the rows the entries leave, the history, the revision and the log. */
  private opsOf(id: string, entries: Entry[]): IRequestOp[] {
    const keys = this.keys;
    const values = new Map<string, string | null>();
    const prefixes: string[] = [];
    const dropUnder = (prefix: string) => {
      for (const key of values.keys()) if (key.startsWith(prefix)) values.delete(key);
      prefixes.push(prefix);
    };
    const changes: Change[] = [];
    for (const entry of entries) {
      const g = entry.groupKey;
      if (entry.group === null) {
        values.set(keys.group(g), null);
        dropUnder(keys.identifiersOf(g));
        dropUnder(keys.reportsOfGroup(g));
      } else {
        values.set(keys.group(g), JSON.stringify(entry.group));
      }
      const i = entry.identifierKey;
      if (i !== undefined && entry.identifier === null) {
        values.set(keys.identifier(g, i), null);
        dropUnder(keys.reportsOf(g, i));
      } else if (i !== undefined && entry.identifier) {
        const row = entry.identifier;
        values.set(keys.identifier(g, i), JSON.stringify(row));
        for (const change of entry.changes) {
          if (change.kind !== "report" || change.identifierKey !== i) continue;
          values.set(keys.report(g, i, change.report.sequence), JSON.stringify(change.report));
          const evicted = change.report.sequence - row.capacity;
          if (evicted >= 1) values.set(keys.report(g, i, evicted), null);
        }
      }
      changes.push(...entry.changes);
    }
    const first = entries[0] as Entry;
    const last = entryRevision(entries.at(-1) as Entry);
    const ops: IRequestOp[] = [];
    if (changes.length > 0) {
      values.set(keys.rev, String(last));
      values.set(keys.historyAt(first.base + 1), JSON.stringify(changes));
      const keep = last - this.history + 1;
      if (Math.floor(last / TRIM_EVERY) > Math.floor(first.base / TRIM_EVERY) && keep > 1 && keep <= first.base + 1) {
        ops.push({ request_delete_range: { key: bytes(keys.history), range_end: bytes(keys.historyAt(keep)) } });
      }
    }
    values.set(keys.log, JSON.stringify({ id, entries } satisfies Batch));
    for (const [key, value] of values) ops.push(value === null ? deleteKey(key) : put(key, value));
    for (const prefix of prefixes) ops.push(deletePrefix(prefix));
    if (ops.length > MAX_OPS) throw new Error(`etcd storage: ${ops.length} operations in one transaction (etcd takes ${MAX_OPS})`);
    return ops;
  }

  /** A committed batch, from the watch: applied in order, each entry on top of the one before. */
  private applyLog(kv: IKeyValue): void {
    const position = Number(kv.mod_revision);
    if (position <= this.position || !this.registry) return;
    try {
      const batch = JSON.parse(kv.value.toString()) as Batch;
      for (const entry of batch.entries) this.registry.applyEntry(entry);
      this.remember(batch.id);
    } catch (error) {
      this.fatal(`cannot apply the cluster's commit at etcd revision ${position}: ${messageOf(error)}`);
      return;
    }
    this.position = position;
    for (const waiter of this.waiters) if (waiter.done()) this.settle(waiter, true);
  }

  private remember(id: string): void {
    if (!id) return;
    this.recent.push(id);
    this.recentSet.add(id);
    if (this.recent.length > RECENT_IDS) this.recentSet.delete(this.recent.shift() as string);
  }

  private waitFor(done: () => boolean, timeoutMs: number): Promise<boolean> {
    if (done()) return Promise.resolve(true);
    if (this.closed) return Promise.resolve(false);
    return new Promise((resolve) => {
      const waiter: Waiter = { done, resolve, timer: setTimeout(() => this.settle(waiter, false), timeoutMs) };
      this.waiters.add(waiter);
    });
  }

  private settle(waiter: Waiter, reached: boolean): void {
    if (!this.waiters.delete(waiter)) return;
    clearTimeout(waiter.timer);
    waiter.resolve(reached);
  }

  private scheduleProbe(): void {
    if (this.closed) return;
    this.probeTimer = setTimeout(() => void this.probe(), PROBE_INTERVAL_MS);
    this.probeTimer.unref();
  }

  /**
   * A linearizable read of the log key through any member: it answers only while the
   * cluster has a quorum, and says whether this replica's watch keeps up with the log.
   */
  private async probe(): Promise<void> {
    const was = this.unavailable;
    try {
      const head = await Promise.any(this.probes.map((probe) => probe.kv.range({ key: bytes(this.keys.log) })));
      this.failures = 0;
      this.quorumLost = undefined;
      this.checkLag(Number(head.kvs[0]?.mod_revision ?? 0));
    } catch (error) {
      const causes = error instanceof AggregateError ? error.errors.map(messageOf) : [messageOf(error)];
      if (++this.failures >= PROBE_FAILURES && this.quorumLost === undefined && !this.closed) {
        this.quorumLost = `etcd at ${this.config.endpoints.join(",")} does not answer (quorum lost?): ${[...new Set(causes)].join("; ")}`;
      }
    }
    const now = this.unavailable;
    if (!this.closed && now !== was) this.emit(now === undefined ? { kind: "recovered" } : { kind: "lost", cause: now });
    this.scheduleProbe();
  }

  /**
   * The log's head is at `head`. A commit the last round saw and this replica has still
   * not applied (a round later: normally it takes milliseconds) means its watch is behind:
   * it opens the watch again, then counts as lost until it has caught up.
   */
  private checkLag(head: number): void {
    const late = this.position < this.seenHead;
    this.seenHead = head;
    if (!late) {
      this.lagRounds = 0;
      this.behind = undefined;
      return;
    }
    this.lagRounds++;
    if (this.lagRounds === LAG_REWATCH) void this.rewatch("the etcd watch fell behind the log");
    if (this.lagRounds >= LAG_LOST) {
      this.behind ??= `this replica's etcd watch is behind the cluster's log (applied up to etcd revision ${this.position}, the log is at ${head})`;
    }
  }

  private fatal(reason: string): void {
    if (this.closed) return;
    this.emit({ kind: "fatal", cause: reason });
  }

  private emit(event: EngineEvent): void {
    for (const listener of this.listeners) listener(event);
  }
}

/** The kept changes, one revision apart and ending at `revision`, at most `size` of them. */
function historyOf(changes: Change[], revision: number, size: number): Change[] {
  changes.sort((a, b) => a.revision - b.revision);
  const out: Change[] = [];
  for (let i = changes.length - 1; i >= 0 && out.length < size; i--) {
    const change = changes[i] as Change;
    const expected = (out.at(-1)?.revision ?? revision + 1) - 1;
    if (change.revision !== expected) break;
    out.push(change);
  }
  return out.reverse();
}
