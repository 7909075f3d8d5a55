/**
 * `--etcd` end to end (docs/storage.md, docs/watch.md, docs/errors.md): a real three-member
 * etcd cluster (test/helpers/etcd.ts, data dirs on /dev/shm, raft timeouts
 * raised for a loaded machine) and real replicas (`node dist/src/main.js
 * --etcd ... --etcd-prefix P`), driven through the API only: the TypeScript
 * client (clients/ts) and grpc.health.v1.
 *
 * One cluster for the file; every test has a key prefix of its own, so its
 * replicas share one registry that no other test touches. The tests run one
 * at a time (they kill replicas and etcd members).
 *
 * How a sequence is compared: a watcher of everything with every kind of
 * change (details, reports, registrations) gets one event per change, so the
 * revisions of the changes it sees come one apart; `core` is left out, since
 * each replica's `core` is its own and its events carry the replica's last
 * applied revision (docs/storage.md).
 */
import { Metadata, type ServiceError, credentials, status as GrpcStatus } from "@grpc/grpc-js";
import { Etcd3 } from "etcd3";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  type GroupReports,
  type GroupStatus,
  REGISTRY_ID_HEADER,
  SrClient,
  SrError,
  type WatchStatusRequest,
  type WatchStatusResponse,
} from "../../../clients/ts/index.js";
import { HealthCheckResponse_ServingStatus as Serving, HealthClient } from "../../../gen/ts/health/v1/health.js";
import { type DeepPartial } from "../../../gen/ts/sr/v1/sr.js";
import { EtcdCluster, startReplica, uniquePrefix } from "../../helpers/etcd.js";
import { type Started, killAllProcesses, removeTempFiles, writeTempFile } from "../../helpers/process.js";
import { startProxy } from "../../helpers/proxy.js";
import { describeEvents, waitFor, withTimeout } from "../../helpers/wait.js";

/** Per test: replicas to start, etcd members to kill and bring back, on a busy 2-core machine. */
const SLOW = 150_000;
/** Every unary call: a server that hangs fails the call instead of the whole test. */
const CALL = { timeoutMs: 10_000 };
/** How long another replica may take to apply what one replica acknowledged. */
const APPLY_MS = 20_000;
/** docs/storage.md: the loss of etcd's quorum shows within 10 s (plus what polling on a loaded machine adds). */
const QUORUM_LOSS_MS = 12_000;
/** How long the cluster may take to serve again once the quorum is back (etcd elects within seconds). */
const RECOVERY_MS = 45_000;

/** A watcher budget no burst of this file's writers fills (a resync would then hide what the test checks). */
const ROOMY = ["--config", writeTempFile("roomy.yaml", "watch:\n  budget_messages: 200000\n  budget_bytes: 268435456\n")];

/** A channel of its own per client: grpc-js would otherwise share one per address, still backing off from a killed replica. */
const OWN_CHANNEL = { "grpc.use_local_subchannel_pool": 1 };

let etcd: EtcdCluster;
/** What the current test opened: closed, and its replicas killed, after it (passed or failed), so no test loads the next. */
const closers: { close(): void }[] = [];
const started: Started[] = [];

beforeAll(async () => {
  etcd = await EtcdCluster.start(3);
}, 60_000);

afterEach(async () => {
  for (const c of closers.splice(0)) c.close();
  await Promise.all(started.splice(0).map((r) => r.proc.kill()));
  // A test that failed with etcd members down leaves the next one a whole cluster.
  const down = etcd ? etcd.members.flatMap((m, i) => (m.running ? [] : [i])) : [];
  for (const i of down) etcd.restart(i);
  if (down.length) await etcd.ready();
});

afterAll(async () => {
  await killAllProcesses();
  await etcd?.stop();
  removeTempFiles();
});

function client(target: string): SrClient {
  const c = new SrClient(target, { channelOptions: OWN_CHANNEL });
  closers.push(c);
  return c;
}

function healthClient(address: string): HealthClient {
  const c = new HealthClient(address, credentials.createInsecure(), OWN_CHANNEL);
  closers.push(c);
  return c;
}

function healthCheck(c: HealthClient, service = ""): Promise<Serving> {
  return new Promise((resolve, reject) => {
    c.check({ service }, new Metadata(), { deadline: Date.now() + 5_000 }, (error: ServiceError | null, response) =>
      error ? reject(error) : resolve(response.status),
    );
  });
}

/** `n` replicas on `prefix`, started at once (so they also race to create the registry). */
async function replicas(n: number, prefix: string, endpoints: readonly string[] = etcd.endpoints): Promise<Started[]> {
  return Promise.all(Array.from({ length: n }, () => replica(prefix, endpoints)));
}

async function replica(prefix: string, endpoints: readonly string[] = etcd.endpoints): Promise<Started> {
  const r = await startReplica(endpoints, prefix, ROOMY);
  started.push(r);
  return r;
}

/** kill -9 of a replica, and its exit. */
async function crash(replica: Started): Promise<void> {
  process.kill(replica.proc.pid, "SIGKILL");
  const exit = await replica.proc.waitForExit();
  expect(exit.signal).toBe("SIGKILL");
}

/** The `sr-registry-id` a WatchStatus answers with. */
function registryIdOf(c: SrClient): Promise<string> {
  return new Promise((resolve, reject) => {
    const call = c.raw.watchStatus({ group: "core", identifier: "", includeDetails: false, includeReports: false, includeRegistrations: false });
    call.on("error", (error: ServiceError) => {
      if (error.code !== GrpcStatus.CANCELLED) reject(error);
    });
    call.once("metadata", (metadata: Metadata) => {
      const id = metadata.get(REGISTRY_ID_HEADER)[0];
      call.cancel();
      if (typeof id === "string" && id !== "") resolve(id);
      else reject(new Error(`no ${REGISTRY_ID_HEADER} header`));
    });
  });
}

/** The group an event is about (undefined for snapshots and progress). */
function groupOf(m: WatchStatusResponse): string | undefined {
  const e = m.event;
  if (!e || e.$case === "snapshot" || e.$case === "progress") return undefined;
  return e.value.group;
}

/** One change as every replica must show it: revision, kind, what it touched, what it wrote. */
function summary(m: WatchStatusResponse): string {
  const e = m.event;
  if (!e) return `${m.revision} ?`;
  switch (e.$case) {
    case "statusChanged":
      return `${m.revision} status ${e.value.group}/${e.value.identifier} ${e.value.oldStatus}->${e.value.status} ${JSON.stringify(e.value.details ?? null)}`;
    case "reportAdded":
      return `${m.revision} report ${e.value.group}/${e.value.identifier} #${e.value.report?.sequence} ${JSON.stringify(e.value.report?.text)} ${e.value.report?.time?.getTime()}`;
    case "registered":
      return `${m.revision} registered ${e.value.group}/${e.value.identifier} ${e.value.status} ${JSON.stringify(e.value.details ?? null)}`;
    case "unregistered":
      return `${m.revision} unregistered ${e.value.group}/${e.value.identifier}`;
    default:
      return `${m.revision} ${e.$case}`;
  }
}

const EVERYTHING: DeepPartial<WatchStatusRequest> = { includeDetails: true, includeReports: true, includeRegistrations: true };

/** A watch through the TypeScript client (resuming by itself), recording what it delivers. */
class Recorder {
  readonly seen: WatchStatusResponse[] = [];
  resyncs = 0;
  failure: unknown;
  ended = false;
  private readonly abort = new AbortController();
  readonly done: Promise<void>;

  constructor(
    readonly client: SrClient,
    request: DeepPartial<WatchStatusRequest> = EVERYTHING,
    readonly name = "watcher",
  ) {
    this.done = (async () => {
      try {
        for await (const m of client.watch(request, { signal: this.abort.signal, onResync: () => this.resyncs++, backoff: { initialMs: 50, maxMs: 500 } })) {
          this.seen.push(m);
        }
      } catch (error) {
        this.failure = error;
      } finally {
        this.ended = true;
      }
    })();
  }

  /** The revision of the snapshot's last part (the first one, if it resynced: a resync fails the tests anyway). */
  get from(): bigint {
    const last = this.seen.find((m) => m.event?.$case === "snapshot" && m.event.value.last);
    if (!last) throw new Error(`${this.name}: no whole snapshot yet`);
    return last.revision;
  }

  /** Every change but `core`'s, in the order delivered. */
  changes(): WatchStatusResponse[] {
    return this.seen.filter((m) => {
      const group = groupOf(m);
      return group !== undefined && group !== "core";
    });
  }

  /** The changes of one group. */
  changesOf(group: string): WatchStatusResponse[] {
    return this.seen.filter((m) => groupOf(m) === group);
  }

  private alive(): void {
    if (this.ended) throw new Error(`${this.name} ended: ${this.failure instanceof Error ? this.failure.message : String(this.failure)}`);
  }

  async synced(timeoutMs = APPLY_MS): Promise<void> {
    await waitFor(
      () => {
        this.alive();
        return this.seen.some((m) => m.event?.$case === "snapshot" && m.event.value.last);
      },
      timeoutMs,
      () => `${this.name}: a whole snapshot; got ${describeEvents(this.seen)}`,
    );
  }

  /** Resolves once the watcher is at `revision` or later: its snapshot's, or a change's (not core's). */
  async reach(revision: bigint, timeoutMs = APPLY_MS): Promise<void> {
    await waitFor(
      () => {
        this.alive();
        const snapshot = this.seen.find((m) => m.event?.$case === "snapshot" && m.event.value.last);
        return (snapshot !== undefined && snapshot.revision >= revision) || this.changes().some((m) => m.revision >= revision);
      },
      timeoutMs,
      () => `${this.name}: a change at revision ${revision}; got ${describeEvents(this.changes())}`,
    );
  }

  /** Resolves once `test` holds for a delivered event. */
  async until(what: string, test: (m: WatchStatusResponse) => boolean, timeoutMs = APPLY_MS): Promise<void> {
    await waitFor(
      () => {
        this.alive();
        return this.seen.some(test);
      },
      timeoutMs,
      () => `${this.name}: ${what}; got ${describeEvents(this.seen)}`,
    );
  }

  /** Asserts what every watcher of these tests must hold: no resync, no failure, changes one revision apart after the snapshot. */
  expectGapless(): void {
    expect(this.resyncs, `${this.name} resynced`).toBe(0);
    expect(this.failure, `${this.name} failed`).toBeUndefined();
    const snapshots = this.seen.filter((m) => m.event?.$case === "snapshot");
    expect(
      snapshots.every((m) => m.event?.$case === "snapshot" && !m.event.value.resync),
      `${this.name}: a resync snapshot`,
    ).toBe(true);
    expect(snapshots.filter((m) => m.event?.$case === "snapshot" && m.event.value.last), `${this.name}: one snapshot, at the start`).toHaveLength(1);
    const revisions = this.changes().map((m) => Number(m.revision));
    const from = Number(this.from);
    expect(revisions, `${this.name}: changes one revision apart from the snapshot's ${from}`).toEqual(Array.from({ length: revisions.length }, (_, i) => from + 1 + i));
  }

  stop(): Promise<void> {
    this.abort.abort();
    return this.done;
  }
}

/** Every group but `core` as ListStatus pages them, merged, and the revision of the first page. */
async function stateOf(c: SrClient): Promise<{ revision: bigint; groups: GroupStatus[] }> {
  const groups = new Map<string, GroupStatus>();
  let pageToken = "";
  let revision: bigint | undefined;
  do {
    const page = await c.listStatus({ pageSize: 1_000, pageToken }, CALL);
    revision ??= page.revision;
    for (const g of page.groups) {
      if (g.group === "core") continue;
      const known = groups.get(g.group);
      if (known) known.identifiers.push(...g.identifiers);
      else groups.set(g.group, { ...g, identifiers: [...g.identifiers] });
    }
    pageToken = page.nextPageToken;
  } while (pageToken);
  return { revision: revision ?? 0n, groups: [...groups.values()] };
}

/** Every report of every group but `core`, as ListReports pages them. */
async function reportsOf(c: SrClient): Promise<GroupReports[]> {
  const groups: GroupReports[] = [];
  let pageToken = "";
  do {
    const page = await c.listReports({ pageSize: 1_000, pageToken }, CALL);
    groups.push(...page.groups.filter((g) => g.group !== "core"));
    pageToken = page.nextPageToken;
  } while (pageToken);
  return groups;
}

/** The revision this replica has applied (ListStatus answers it; core takes none in this mode). */
async function appliedOf(c: SrClient): Promise<bigint> {
  return (await c.listStatus({ group: "core" }, CALL)).revision;
}

/** The SrError `call` fails with (undefined when it succeeds). */
async function failureOf(call: Promise<unknown>): Promise<SrError | undefined> {
  try {
    await call;
    return undefined;
  } catch (error) {
    if (error instanceof SrError) return error;
    throw error;
  }
}

/** An acknowledged write: its revision and what a watcher must show for it. */
interface Ack {
  revision: bigint;
  /** `status g/i 5` or `report g/i text`: the part of `summary` that does not depend on the state before. */
  what: string;
}

function matchesAck(m: WatchStatusResponse, ack: Ack): boolean {
  const e = m.event;
  if (m.revision !== ack.revision || !e) return false;
  if (e.$case === "statusChanged") return ack.what === `status ${e.value.group}/${e.value.identifier} ${e.value.status}`;
  if (e.$case === "reportAdded") return ack.what === `report ${e.value.group}/${e.value.identifier} ${e.value.report?.text}`;
  if (e.$case === "registered") return ack.what === `registered ${e.value.group}/${e.value.identifier}`;
  return false;
}

/** Each acknowledged write after `w`'s snapshot (or start revision) appears in `w` once, at its revision, as written. */
function expectAcksSeen(w: Recorder, acks: readonly Ack[], after = w.from): void {
  const byRevision = new Map(w.changes().map((m) => [m.revision, m]));
  for (const ack of acks.filter((a) => a.revision > after)) {
    const m = byRevision.get(ack.revision);
    expect(m && matchesAck(m, ack), `${w.name}: the write acknowledged at revision ${ack.revision} (${ack.what}) shows as ${m ? summary(m) : "nothing"}`).toBe(true);
  }
}

async function setStatus(c: SrClient, acks: Ack[], group: string, identifier: string, status: number, details?: string): Promise<bigint> {
  const r = await c.setStatus({ group, identifier, status, details }, CALL);
  acks.push({ revision: r.revision, what: `status ${group}/${identifier || "main"} ${status}` });
  return r.revision;
}

async function addReport(c: SrClient, acks: Ack[], group: string, identifier: string, text: string): Promise<bigint> {
  const r = await c.addReport({ group, identifier, text }, CALL);
  acks.push({ revision: r.revision, what: `report ${group}/${identifier || "main"} ${text}` });
  return r.revision;
}

const maxOf = (revisions: Iterable<bigint>) => [...revisions].reduce((a, b) => (b > a ? b : a), 0n);

describe.sequential("three etcd members, three replicas", { timeout: SLOW }, () => {
  it("writes on every replica at once: every replica's watcher sees the same changes in order, none lost or doubled, and the final states are equal (and etcd's)", async () => {
    const prefix = uniquePrefix("fanin");
    const reps = await replicas(3, prefix);
    const writers = reps.map((r) => client(r.address));
    const ids = await Promise.all(writers.map(registryIdOf));
    expect(new Set(ids).size, `one registry id for the cluster: ${ids.join(", ")}`).toBe(1);

    const watchers = reps.map((r, i) => new Recorder(client(r.address), EVERYTHING, `watcher on replica ${i}`));
    await Promise.all(watchers.map((w) => w.synced()));

    // Set-up through one replica; the others are awaited before writing on top of it (they read their own applied state).
    const acks: Ack[] = [];
    const SHARED = 5;
    const reg = async (group: string, identifier = "") => {
      const r = identifier
        ? await writers[0]!.registerIdentifier({ group, identifier, reportCapacity: 1_000 }, CALL)
        : await writers[0]!.registerGroup({ group, reportCapacity: 1_000 }, CALL);
      acks.push({ revision: r.revision, what: `registered ${group}/${identifier || "main"}` });
      return r.revision;
    };
    await reg("shared");
    for (let k = 0; k < SHARED; k++) await reg("shared", `id-${k}`);
    for (let i = 0; i < 3; i++) await reg(`own-${i}`);
    const setUp = maxOf(acks.map((a) => a.revision));
    await Promise.all(watchers.map((w) => w.reach(setUp)));

    // Three writers at once, one per replica: status changes and reports, on identifiers of their own and shared ones,
    // and all three registering the same new identifiers (one of them creates each, the others find it there).
    const N = 100;
    const created = new Map<string, boolean[]>();
    await Promise.all(
      writers.map(async (c, i) => {
        for (let n = 0; n < N; n++) {
          const shared = `id-${n % SHARED}`;
          switch (n % 4) {
            case 0:
              await setStatus(c, acks, "shared", shared, (i + 1) * 1_000 + n, `writer ${i} write ${n}`);
              break;
            case 1:
              await addReport(c, acks, "shared", shared, `writer ${i} report ${n}`);
              break;
            case 2:
              await setStatus(c, acks, `own-${i}`, "", (i + 1) * 1_000 + n);
              break;
            default:
              await addReport(c, acks, `own-${i}`, "", `writer ${i} own report ${n}`);
          }
          if (n % 10 === 5) {
            const identifier = `race-${(n - 5) / 10}`;
            const r = await c.registerIdentifier({ group: "shared", identifier }, CALL);
            created.set(identifier, [...(created.get(identifier) ?? []), r.created]);
            if (r.created) acks.push({ revision: r.revision, what: `registered shared/${identifier}` });
          }
        }
      }),
    );

    // Every acknowledged write has a revision of its own.
    const revisions = acks.map((a) => a.revision);
    const sharing = acks.filter((a) => acks.some((b) => b !== a && b.revision === a.revision));
    expect(sharing.map((a) => `${a.revision}: ${a.what}`).sort(), "acknowledged writes that share a revision").toEqual([]);
    for (const [identifier, outcomes] of created) expect(outcomes.filter(Boolean), `${identifier} created exactly once of ${outcomes.length}`).toHaveLength(1);
    const final = maxOf(revisions);
    // No write but these: the cluster's revisions are exactly the acknowledged ones.
    expect(final).toBe(BigInt(acks.length));

    await Promise.all(watchers.map((w) => w.reach(final)));
    const sequences = watchers.map((w) => w.changes().filter((m) => m.revision > setUp).map(summary));
    for (const w of watchers) {
      w.expectGapless();
      expectAcksSeen(w, acks);
    }
    expect(sequences[0]).toHaveLength(Number(final - setUp));
    expect(sequences[1], "replica 1 saw what replica 0 saw").toEqual(sequences[0]);
    expect(sequences[2], "replica 2 saw what replica 0 saw").toEqual(sequences[0]);

    // The final states, each replica's own copy, are equal, at the same revision; the reports too.
    const states = await Promise.all(writers.map(stateOf));
    for (const s of states) expect(s.revision).toBe(final);
    expect(states[1]).toEqual(states[0]);
    expect(states[2]).toEqual(states[0]);
    const reports = await Promise.all(writers.map(reportsOf));
    expect(reports[1]).toEqual(reports[0]);
    expect(reports[2]).toEqual(reports[0]);
    // The last status each writer acknowledged is what every replica reads.
    for (let i = 0; i < 3; i++) {
      const status = (await writers[(i + 1) % 3]!.getStatus({ group: `own-${i}` }, CALL)).status;
      expect(status?.status).toBe((i + 1) * 1_000 + N - 2);
    }

    // etcd's copy: a replica started now builds its state from etcd alone, and it is the same.
    const [late] = await replicas(1, prefix);
    const lateClient = client(late!.address);
    expect(await registryIdOf(lateClient)).toBe(ids[0]);
    // It may serve before it has caught up (reads may be stale, docs/storage.md); once it has, its state is etcd's.
    await waitFor(async () => (await appliedOf(lateClient)) >= final, APPLY_MS, `the new replica applying revision ${final}`);
    expect(await stateOf(lateClient)).toEqual(states[0]);
    expect(await reportsOf(lateClient)).toEqual(reports[0]);

    await Promise.all(watchers.map((w) => w.stop()));
    await Promise.all([...reps, late!].map(crash));
  });

  it("kill -9 of the replica a watcher is on: the TypeScript client resumes on another replica, no gap and no resync", async () => {
    const prefix = uniquePrefix("failover");
    const reps = await replicas(3, prefix);
    const writers = reps.map((r) => client(r.address));
    const acks: Ack[] = [];
    const group = "failover";
    const r0 = await writers[0]!.registerGroup({ group }, CALL);
    acks.push({ revision: r0.revision, what: `registered ${group}/main` });

    // One client for all three replicas: it connects to one, and may move to the others.
    const target = `ipv4:${reps.map((r) => r.address).join(",")}`;
    const watcher = new Recorder(client(target), EVERYTHING, "watcher on the multi-address target");
    await watcher.synced();
    await watcher.reach(r0.revision);
    const on = peerOf(watcher.client);
    const victim = reps.find((r) => r.address === on);
    expect(victim, `the watch's peer ${on} is one of the replicas ${reps.map((r) => r.address).join(", ")}`).toBeDefined();
    const survivors = reps.filter((r) => r !== victim).map((r) => writers[reps.indexOf(r)]!);

    // Writers on the two other replicas keep going while the watcher's replica dies.
    let stop = false;
    let writes = 0;
    const loops = survivors.map(async (c, j) => {
      for (let n = 0; !stop || n < 10; n++) {
        await setStatus(c, acks, group, "", (j + 1) * 10_000 + n);
        writes++;
      }
    });
    await waitFor(() => writes >= 10, APPLY_MS, "writes before the kill");
    await crash(victim!);
    await waitFor(() => writes >= 60, APPLY_MS, "writes after the kill");
    stop = true;
    await Promise.all(loops);

    const final = maxOf(acks.map((a) => a.revision));
    await watcher.reach(final, 30_000);
    expect(peerOf(watcher.client), "the watch moved to another replica").not.toBe(on);
    watcher.expectGapless();
    expectAcksSeen(watcher, acks);
    expect(watcher.changes().at(-1)?.revision).toBe(final);
    await watcher.stop();
  });

  it("REVISION_AHEAD above the cluster's revision, on any replica; a revision only the cluster has yet is served, not refused", async () => {
    const prefix = uniquePrefix("ahead");
    const reps = await replicas(2, prefix);
    const [a, b] = reps.map((r) => client(r.address)) as [SrClient, SrClient];
    const acks: Ack[] = [];
    await a.registerGroup({ group: "ahead" }, CALL);
    for (let n = 1; n <= 5; n++) await setStatus(a, acks, "ahead", "", n + 1);
    const now = maxOf(acks.map((x) => x.revision));

    for (const [name, c] of [["the writer's replica", a], ["another replica", b]] as const) {
      await waitFor(async () => (await appliedOf(c)) >= now, APPLY_MS, `${name} applying revision ${now}`);
      const error = await failureOf(withTimeout(c.watch({ group: "ahead", startRevision: now + 1n }, { resume: false }).next(), APPLY_MS, `${name}: the watch's answer`));
      expect(error, `${name}: start_revision ${now + 1n}`).toBeInstanceOf(SrError);
      expect(error).toMatchObject({ code: GrpcStatus.INVALID_ARGUMENT, reason: "REVISION_AHEAD" });
      expect(error?.details).toMatch(/start_revision/);
    }

    // Written on a, asked of b at once: b may not have applied it yet, but the cluster has it, so b serves it.
    const latest = await setStatus(a, acks, "ahead", "", 100);
    const fromLatest = b.watch({ group: "ahead", startRevision: latest - 2n, includeDetails: true }, { resume: false });
    const replayed: bigint[] = [];
    for (let i = 0; i < 2; i++) {
      const next = await withTimeout(fromLatest.next(), APPLY_MS, `replica b replaying revision ${latest - 1n + BigInt(i)}`);
      expect(next.done).toBe(false);
      replayed.push((next.value as WatchStatusResponse).revision);
    }
    expect(replayed).toEqual([latest - 1n, latest]);
    await fromLatest.return(undefined);
  });

  it("kill -9 of every replica, then a restart: every acknowledged write is there, with the same registry id and revision; a watcher resumes across it", async () => {
    const prefix = uniquePrefix("restart");
    const reps = await replicas(3, prefix);
    const writers = reps.map((r) => client(r.address));
    const idBefore = await registryIdOf(writers[0]!);
    const acks: Ack[] = [];
    for (let i = 0; i < 3; i++) await writers[0]!.registerGroup({ group: `g${i}`, reportCapacity: 100 }, CALL);
    await waitFor(async () => (await Promise.all(writers.map(appliedOf))).every((r) => r >= 3n), APPLY_MS, "every replica applying the groups");
    await Promise.all(
      writers.map(async (c, i) => {
        for (let n = 1; n <= 30; n++) {
          if (n % 3 === 0) await addReport(c, acks, `g${(i + n) % 3}`, "", `replica ${i} report ${n}`);
          else await setStatus(c, acks, `g${(i + n) % 3}`, "", i * 100 + n, `replica ${i} write ${n}`);
        }
      }),
    );
    const final = maxOf(acks.map((a) => a.revision));
    await waitFor(async () => (await appliedOf(writers[0]!)) >= final, APPLY_MS, `replica 0 applying revision ${final}`);
    const before = await stateOf(writers[0]!);
    const reportsBefore = await reportsOf(writers[0]!);
    expect(before.revision).toBe(final);

    await Promise.all(reps.map(crash));
    const again = await replicas(3, prefix);
    const readers = again.map((r) => client(r.address));
    for (const [i, c] of readers.entries()) {
      expect(await registryIdOf(c), `replica ${i}: the registry id`).toBe(idBefore);
      await waitFor(async () => (await appliedOf(c)) >= final, APPLY_MS, `replica ${i} applying revision ${final} again`);
      const state = await stateOf(c);
      expect(state.revision, `replica ${i}: the revision`).toBe(final);
      expect(state, `replica ${i}: the state`).toEqual(before);
      expect(await reportsOf(c), `replica ${i}: the reports`).toEqual(reportsBefore);
    }
    for (let i = 0; i < 3; i++) {
      // The status of each group is the one its last acknowledged status write (by revision) wrote.
      const writes = acks.filter((a) => a.what.startsWith(`status g${i}/`));
      const last = writes.find((a) => a.revision === maxOf(writes.map((w) => w.revision)))!;
      expect((await readers[1]!.getStatus({ group: `g${i}` }, CALL)).status?.status, `g${i}`).toBe(Number(last.what.split(" ")[2]));
    }

    // A watcher resuming from a revision before the crash, on a replica started after it: every change since, in order.
    const from = final - 20n;
    const resumed = new Recorder(readers[2]!, { ...EVERYTHING, startRevision: from }, "watcher resuming across the restart");
    await resumed.reach(final);
    expect(resumed.resyncs).toBe(0);
    expect(resumed.seen.filter((m) => m.event?.$case === "snapshot")).toEqual([]);
    expect(resumed.changes().map((m) => m.revision)).toEqual(Array.from({ length: 20 }, (_, i) => from + 1n + BigInt(i)));
    expectAcksSeen(resumed, acks, from);
    const after = await setStatus(readers[0]!, acks, "g0", "", -5);
    await resumed.reach(after);
    expect(resumed.changes().at(-1)?.revision).toBe(after);
    await resumed.stop();
  });

  it("a registry left idle while other writes to the cluster are compacted away: its replicas start again and follow it", async () => {
    const prefix = uniquePrefix("idle");
    const [first] = await replicas(1, prefix);
    const writer = client(first!.address);
    const written = await writer.registerGroup({ group: "idle" }, CALL);
    await crash(first!);
    // Another user of the cluster writes, and etcd's history is compacted past the idle registry's last commit.
    const other = new Etcd3({ hosts: [...etcd.endpoints] });
    try {
      for (let i = 0; i < 50; i++) await other.put(`/not-sr/${i}`).value(String(i));
      const head = Number((await other.kv.range({ key: Buffer.from("/not-sr/0") })).header.revision);
      await other.kv.compact({ revision: head });
    } finally {
      other.close();
    }
    const again = await replicas(2, prefix);
    const [a, b] = again.map((r) => client(r.address)) as [SrClient, SrClient];
    expect((await a.getStatus({ group: "idle" }, CALL)).revision).toBe(written.revision);
    const set = await a.setStatus({ group: "idle", status: 7 }, CALL);
    await waitFor(async () => (await appliedOf(b)) >= set.revision, APPLY_MS, "the other replica following the registry's new commit");
    expect((await b.getStatus({ group: "idle" }, CALL)).status?.status).toBe(7);
    for (const r of again) expect(r.proc.exit, "a replica stopped").toBeUndefined();
  });

  it("a lease set through one replica expires once for the cluster; RefreshLease on any replica keeps one alive everywhere", async () => {
    const prefix = uniquePrefix("lease");
    const reps = await replicas(3, prefix);
    const cs = reps.map((r) => client(r.address));
    const group = "leased";
    let last = (await cs[0]!.registerGroup({ group }, CALL)).revision;
    for (const identifier of ["sentinel", "once", "kept"]) last = (await cs[0]!.registerIdentifier({ group, identifier }, CALL)).revision;
    const watchers = reps.map((r, i) => new Recorder(client(r.address), { group, includeDetails: true, includeReports: true }, `watcher on replica ${i}`));
    await Promise.all(watchers.map((w) => w.synced()));
    await waitFor(async () => (await Promise.all(cs.map(appliedOf))).every((r) => r >= last), APPLY_MS, "every replica applying the set-up");

    const ttl = (seconds: number) => ({ seconds: BigInt(seconds), nanos: 0 });
    const statusOf = (m: WatchStatusResponse, identifier: string) => (m.event?.$case === "statusChanged" && m.event.value.identifier === identifier ? m.event.value : undefined);
    const expiredOf = (w: Recorder, identifier: string) => w.changesOf(group).filter((m) => statusOf(m, identifier)?.status === -1);
    const expiryReportsOf = (w: Recorder, identifier: string) =>
      w.changesOf(group).filter((m) => m.event?.$case === "reportAdded" && m.event.value.identifier === identifier && /lease expired/.test(m.event.value.report?.text ?? ""));

    // "once": a 1 s lease set through replica 1 and never refreshed.
    await cs[1]!.setStatus({ group, identifier: "once", status: 5, ttl: ttl(1) }, CALL);
    // "kept": a 2 s lease set through replica 0 and refreshed through replicas 1 and 2 in turn, for twice its ttl.
    await cs[0]!.setStatus({ group, identifier: "kept", status: 6, ttl: ttl(2) }, CALL);
    const refreshUntil = Date.now() + 4_000;
    for (let n = 0; Date.now() < refreshUntil; n++) {
      await cs[1 + (n % 2)]!.refreshLease({ group, identifier: "kept" }, CALL);
      // A publisher's pace (clients/ts's publisher refreshes every third of the ttl); not a synchronisation.
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    for (const w of watchers) {
      await w.until('"once" expired', (m) => statusOf(m, "once")?.status === -1, 10_000);
      expect(expiredOf(w, "kept"), `${w.name}: "kept" expired although refreshed`).toEqual([]);
    }
    const keptStopped = Date.now();
    for (const w of watchers) await w.until('"kept" expired once no longer refreshed', (m) => statusOf(m, "kept")?.status === -1, 10_000);

    // Expiry is at most 1 s late (docs/model.md, Leases): past that, any second expiry by another replica would have been
    // written. Then a sentinel write, after which each watcher must have seen exactly one expiry of each.
    const quiet = keptStopped + 2_000 + 1_000 + 500;
    await waitFor(() => Date.now() >= quiet, 10_000, "the end of the window in which a second expiry would come");
    const sentinel = await cs[2]!.setStatus({ group, identifier: "sentinel", status: 9 }, CALL);
    for (const w of watchers) {
      await w.reach(sentinel.revision);
      for (const identifier of ["once", "kept"]) {
        expect(expiredOf(w, identifier).map(summary), `${w.name}: "${identifier}" went to -1 once`).toHaveLength(1);
        expect(expiryReportsOf(w, identifier).map(summary), `${w.name}: one "lease expired" report for "${identifier}"`).toHaveLength(1);
        expect(statusOf(expiredOf(w, identifier)[0]!, identifier)?.details).toBe("lease expired");
      }
      w.expectGapless();
    }
    // Every replica shows the same single expiry, at the same revision.
    const expiries = watchers.map((w) => [...expiredOf(w, "once"), ...expiredOf(w, "kept")].map(summary));
    expect(expiries[1]).toEqual(expiries[0]);
    expect(expiries[2]).toEqual(expiries[0]);
    for (const c of cs) {
      const reports = (await c.listReports({ group, identifier: "once" }, CALL)).groups[0]?.identifiers[0]?.reports ?? [];
      expect(reports.filter((r) => /lease expired/.test(r.text))).toHaveLength(1);
      expect((await c.getStatus({ group, identifier: "once" }, CALL)).status).toMatchObject({ status: -1, details: "lease expired" });
    }
    await Promise.all(watchers.map((w) => w.stop()));
  });

  it("a replica cut off from etcd while the quorum holds: its writes fail STORAGE_UNAVAILABLE, it reads on and refuses a resume it cannot serve; reconnected, it catches up by itself", async () => {
    const prefix = uniquePrefix("cutoff");
    // Replica 2 reaches each etcd member through a TCP proxy of its own, which the test can close.
    const proxies = await Promise.all(etcd.endpoints.map((url) => startProxy(url.replace("http://", ""))));
    closers.push({ close: () => void Promise.all(proxies.map((p) => p.close())) });
    const reps = await Promise.all([replica(prefix), replica(prefix), replica(prefix, proxies.map((p) => `http://${p.address}`))]);
    const cs = reps.map((r) => client(r.address));
    const cutOff = cs[2]!;
    const health = healthClient(reps[2]!.address);
    const group = "cut";
    const acks: Ack[] = [];
    const setUp = (await cs[0]!.registerGroup({ group, reportCapacity: 500 }, CALL)).revision;
    const watcher = new Recorder(client(reps[2]!.address), EVERYTHING, "watcher on the cut-off replica");
    await watcher.synced();
    await watcher.reach(setUp);
    for (let n = 0; n < 3; n++) await setStatus(cutOff, acks, group, "", 10 + n);
    const before = maxOf(acks.map((a) => a.revision));

    await Promise.all(proxies.map((p) => p.drop()));
    const lost = Date.now();
    let last: unknown;
    await waitFor(
      async () => {
        const error = await failureOf(cutOff.setStatus({ group, status: 99 }, { timeoutMs: 3_000 }));
        last = error ?? "the write succeeded";
        return error?.code === GrpcStatus.UNAVAILABLE && error.reason === "STORAGE_UNAVAILABLE";
      },
      QUORUM_LOSS_MS,
      () => `the cut-off replica failing a write UNAVAILABLE STORAGE_UNAVAILABLE (last: ${last instanceof Error ? `${(last as SrError).reason} ${last.message}` : String(last)})`,
    );
    await waitFor(async () => (await healthCheck(health)) === Serving.NOT_SERVING, Math.max(1, lost + QUORUM_LOSS_MS - Date.now()), 'the cut-off replica: health "" NOT_SERVING');
    // The others write on, many changes the cut-off one misses (more than one etcd watch response holds).
    for (let n = 0; n < 60; n++) await (n % 2 ? addReport(cs[0]!, acks, group, "", `while cut off ${n}`) : setStatus(cs[1]!, acks, group, "", 100 + n));
    const ahead = maxOf(acks.map((a) => a.revision));
    // It reads its last applied state...
    expect((await cutOff.getStatus({ group }, CALL)).status?.revision).toBeGreaterThanOrEqual(before);
    expect((await cutOff.getStatus({ group: "core" }, CALL)).status).toMatchObject({ status: -1, details: expect.stringMatching(/etcd|storage|quorum/i) });
    // ...and a resume from a revision the cluster has and it has not is refused as retryable (the TypeScript client then
    // retries, or moves to another replica), not as REVISION_AHEAD (which would make a client drop its state and resync).
    const behind = await failureOf(withTimeout(cutOff.watch({ group, startRevision: ahead }, { resume: false }).next(), 15_000, "the cut-off replica's answer to a resume it cannot serve"));
    expect(behind, "a resume from a revision the cut-off replica lacks").toBeInstanceOf(SrError);
    expect(behind?.code).toBe(GrpcStatus.UNAVAILABLE);
    expect(["REPLICA_BEHIND", "STORAGE_UNAVAILABLE"]).toContain(behind?.reason);

    // Reconnected: it applies everything it missed, in order, serves again and takes writes, by itself.
    await Promise.all(proxies.map((p) => p.accept()));
    await watcher.reach(ahead, RECOVERY_MS);
    await waitFor(async () => (await failureOf(setStatus(cutOff, acks, group, "", 7))) === undefined, RECOVERY_MS, "the reconnected replica taking writes again");
    await waitFor(async () => (await healthCheck(health)) === Serving.SERVING, RECOVERY_MS, 'the reconnected replica: health "" SERVING');
    const final = maxOf(acks.map((a) => a.revision));
    await watcher.reach(final);
    watcher.expectGapless();
    expectAcksSeen(watcher, acks);
    const states = await Promise.all(
      cs.map(async (c, i) => {
        await waitFor(async () => (await appliedOf(c)) >= final, APPLY_MS, `replica ${i} applying the last write`);
        return stateOf(c);
      }),
    );
    expect(states[2]).toEqual(states[0]);
    expect(states[1]).toEqual(states[0]);
    await watcher.stop();
    await Promise.all(reps.map(crash));
  });

  it("losing etcd's quorum: one member down, writes go on; two down, writes fail STORAGE_UNAVAILABLE, health NOT_SERVING, reads answer; both back, everything recovers", async () => {
    const prefix = uniquePrefix("quorum");
    const reps = await replicas(3, prefix);
    const cs = reps.map((r) => client(r.address));
    const health = reps.map((r) => healthClient(r.address));
    const group = "q";
    const acks: Ack[] = [];
    const r0 = await cs[0]!.registerGroup({ group }, CALL);
    for (let i = 0; i < 3; i++) await cs[0]!.registerIdentifier({ group, identifier: `r${i}` }, CALL);
    const watchers = reps.map((r, i) => new Recorder(client(r.address), EVERYTHING, `watcher on replica ${i}`));
    await Promise.all(watchers.map((w) => w.synced()));
    await Promise.all(watchers.map((w) => w.reach(r0.revision + 3n)));
    let n = 0;
    /**
     * Each replica writes its own identifier, a new status each time. Only answered writes are
     * acknowledged: one that failed may still be committed once the quorum is back, and watchers then
     * see it like any other change.
     */
    const write = (i: number, status: number, timeoutMs = CALL.timeoutMs) => cs[i]!.setStatus({ group, identifier: `r${i}`, status }, { timeoutMs });
    const writeAcked = async (i: number) => {
      const status = 1_000 + ++n;
      const r = await write(i, status);
      acks.push({ revision: r.revision, what: `status ${group}/r${i} ${status}` });
    };
    for (let i = 0; i < 3; i++) await writeAcked(i);

    // One member down (the first of every replica's endpoints): the quorum holds, and writes go on, on every replica.
    await etcd.kill(0);
    for (let i = 0; i < 3; i++) {
      await waitFor(async () => (await failureOf(writeAcked(i))) === undefined, 30_000, `replica ${i} writing with one etcd member down`);
      for (let k = 0; k < 5; k++) await writeAcked(i);
    }
    const lastAcked = maxOf(acks.map((a) => a.revision));
    await Promise.all(watchers.map((w) => w.reach(lastAcked)));

    // Two down: no quorum. Within 10 s every replica refuses writes with STORAGE_UNAVAILABLE and turns NOT_SERVING.
    await etcd.kill(1);
    const lost = Date.now();
    await Promise.all(
      reps.map(async (_, i) => {
        let last: unknown;
        await waitFor(
          async () => {
            const error = await failureOf(write(i, 1_000 + ++n, 3_000));
            last = error ?? "the write succeeded";
            return error?.code === GrpcStatus.UNAVAILABLE && error.reason === "STORAGE_UNAVAILABLE";
          },
          QUORUM_LOSS_MS,
          () => `replica ${i}: a write failing UNAVAILABLE STORAGE_UNAVAILABLE (last: ${last instanceof Error ? `${(last as SrError).reason} ${last.message}` : String(last)})`,
        );
        await waitFor(async () => (await healthCheck(health[i]!)) === Serving.NOT_SERVING, Math.max(1, lost + QUORUM_LOSS_MS - Date.now()), `replica ${i}: health "" NOT_SERVING`);
      }),
    );
    for (const [i, c] of cs.entries()) {
      const core = (await c.getStatus({ group: "core" }, CALL)).status;
      expect(core?.status, `replica ${i}: core/main`).toBe(-1);
      expect(core?.details, `replica ${i}: core/main's details name the cause`).toMatch(/etcd|storage|quorum/i);
      // Reads answer from the last applied state.
      const mine = acks.filter((a) => a.what.startsWith(`status ${group}/r${i} `)).at(-1)!;
      const read = (await c.getStatus({ group, identifier: `r${i}` }, CALL)).status;
      expect(read?.revision).toBeGreaterThanOrEqual(mine.revision);
      expect((await c.listStatus({ group }, CALL)).groups[0]?.identifiers).toHaveLength(4);
      await expect(c.checkStatus({ group }, CALL)).resolves.toMatchObject({ ready: true });
      await watchers[i]!.until("core/main going to -1", (m) => m.event?.$case === "statusChanged" && m.event.value.group === "core" && m.event.value.status === -1, 5_000);
    }

    // Both back: every replica writes again, turns SERVING, core/main back to 1, by itself.
    etcd.restart(0);
    etcd.restart(1);
    await Promise.all(
      reps.map(async (_, i) => {
        await waitFor(async () => (await failureOf(writeAcked(i))) === undefined, RECOVERY_MS, `replica ${i} writing again once the quorum is back`);
        await waitFor(async () => (await healthCheck(health[i]!)) === Serving.SERVING, RECOVERY_MS, `replica ${i}: health "" SERVING again`);
        expect((await cs[i]!.getStatus({ group: "core" }, CALL)).status?.status).toBe(1);
      }),
    );
    for (let i = 0; i < 3; i++) for (let k = 0; k < 3; k++) await writeAcked(i);
    const final = maxOf(acks.map((a) => a.revision));
    await Promise.all(watchers.map((w) => w.reach(final, RECOVERY_MS)));
    for (const w of watchers) {
      w.expectGapless();
      expectAcksSeen(w, acks);
    }
    // The same sequence everywhere, the writes that failed but were committed after all included.
    const sequences = watchers.map((w) => w.changes().filter((m) => m.revision > r0.revision + 3n && m.revision <= final).map(summary));
    expect(sequences[1]).toEqual(sequences[0]);
    expect(sequences[2]).toEqual(sequences[0]);
    await Promise.all(watchers.map((w) => w.stop()));
    await etcd.ready();
  });
});

/**
 * The replica the client's open watch is on (`HOST:PORT`). The client keeps its calls to itself;
 * the test reads the one open call's peer to know which replica to kill.
 */
function peerOf(c: SrClient): string {
  const calls = (c as unknown as { watches: Set<{ getPeer(): string }> }).watches;
  const [call] = [...calls];
  if (!call || calls.size !== 1) throw new Error(`expected one open watch on the client, found ${calls.size}`);
  return call.getPeer();
}
