// WatchStatus end to end (docs/watch.md): through SrClient.watch
// over a real socket, against an in-process server: the snapshot, filters, what
// is sent, start_revision, errors, limits, progress and freeing a watcher. (The
// hub's own rules are tested without a socket in test/domain/watch.)
//
// Every watch here is opened with `resume: false`: the stream the test reads
// is then exactly one server stream, so what it shows (and how it ends) is the
// server's doing, not the client's reconnection logic.
import { status as GrpcStatus } from "@grpc/grpc-js";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  type IdentifierStatus,
  SrClient,
  type SrClientOptions,
  type WatchStatusRequest,
  WatchStatusResponse,
} from "../../../clients/ts/index.js";
import { revisionOf } from "../../helpers/rpc.js";
import { type TestServer, startServer } from "../../helpers/server.js";
import { collect, nextEvent, streamError, untilEnd, waitFor } from "../../helpers/wait.js";

type Msg = WatchStatusResponse;
type Request = Partial<WatchStatusRequest>;

const MiB = 1024 * 1024;

let srv: TestServer;
let sr: SrClient;
/** Servers a test started for its own configuration: checked and stopped after it. */
const ownServers: TestServer[] = [];
/** Clients a test created: closed after it. */
const ownClients: SrClient[] = [];
/** Every watch's abort controller: aborted after each test, once the check is done. */
const controllers: AbortController[] = [];

beforeAll(async () => {
  srv = await startServer();
  sr = new SrClient(srv.address);
});

afterEach(async () => {
  try {
    // Every watch a test opened must be gone from the server once the test is over.
    for (const server of [srv, ...ownServers]) {
      await waitFor(() => server.hub.watcherCount === 0, 5_000, () => `the server freed every watcher (${server.hub.watcherCount} left)`);
    }
  } finally {
    for (const controller of controllers.splice(0)) controller.abort();
    for (const client of ownClients.splice(0)) client.close();
    for (const server of ownServers.splice(0)) server.forceStop();
  }
});

afterAll(() => {
  sr?.close();
  srv?.forceStop();
});

let seq = 0;
/** A group name no other test uses. */
const fresh = (prefix: string) => `${prefix}-${++seq}`;

async function ownServer(tune: Parameters<typeof startServer>[0]): Promise<TestServer> {
  const server = await startServer(tune);
  ownServers.push(server);
  return server;
}

function client(address: string, options: SrClientOptions = {}): SrClient {
  const c = new SrClient(address, options);
  ownClients.push(c);
  return c;
}

/**
 * A client with a connection of its own. (grpc-js shares one connection
 * between channels with the same target and options, so two plain SrClients
 * in one process are one connection to the server.)
 */
function ownConnection(address: string): SrClient {
  return client(address, { channelOptions: { "grpc.use_local_subchannel_pool": 1 } });
}

interface Watch {
  events: AsyncGenerator<Msg>;
  abort(): void;
}

function watch(request: Request, via: SrClient = sr): Watch {
  const controller = new AbortController();
  controllers.push(controller);
  return { events: via.watch(request, { signal: controller.signal, resume: false }), abort: () => controller.abort() };
}

const isLastPart = (m: Msg) => m.event?.$case === "snapshot" && m.event.value.last;

/** The snapshot parts, up to and including the one marked last. */
async function snapshotOf(w: Watch, timeoutMs = 10_000): Promise<Msg[]> {
  const parts = await collect(w.events, isLastPart, timeoutMs);
  for (const part of parts) expect(part.event?.$case, "only snapshot parts before the last one").toBe("snapshot");
  return parts;
}

function snapshotValue(m: Msg) {
  if (m.event?.$case !== "snapshot") throw new Error(`expected a snapshot part, got ${m.event?.$case}`);
  return m.event.value;
}

function statusChanged(m: Msg) {
  if (m.event?.$case !== "statusChanged") throw new Error(`expected status_changed, got ${JSON.stringify(m.event, big)}`);
  return m.event.value;
}

const big = (_k: string, v: unknown) => (typeof v === "bigint" ? Number(v) : v);
const identifiersOf = (parts: Msg[]): IdentifierStatus[] => parts.flatMap((p) => snapshotValue(p).identifiers);
const names = (ids: IdentifierStatus[]) => ids.map((i) => `${i.group}/${i.identifier}`);
/** The encoded size of a message, as the server sent it. */
const encodedSize = (m: Msg) => WatchStatusResponse.encode(m).finish().length;

/** List order within a group: `main` first, then by the lowercased name's code points. */
function listOrder(identifiers: string[]): string[] {
  const key = (n: string) => (n === "main" ? "" : n.replace(/[A-Z]/g, (c) => c.toLowerCase()));
  return [...identifiers].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}

/** Every identifier of `group` through ListIdentifiers, following the pages. */
async function listedIdentifiers(group: string): Promise<string[]> {
  const out: string[] = [];
  let pageToken = "";
  do {
    const page = await sr.listIdentifiers({ group, pageToken });
    for (const g of page.groups) out.push(...g.identifiers);
    pageToken = page.nextPageToken;
  } while (pageToken);
  return out;
}

describe("snapshot", () => {
  it("comes in parts of at most 1,000 identifiers, all at one revision, only the final one last, together the group in list order", async () => {
    const group = fresh("big");
    srv.registry.registerGroup({ group });
    // Registered out of order and in mixed case: the snapshot must still be in list order.
    const registered: string[] = [];
    for (let i = 0; i < 2_500; i++) {
      const n = (i * 7919) % 2_500;
      const name = `${n % 3 === 0 ? "Node" : "node"}-${String(n).padStart(4, "0")}`;
      srv.registry.registerIdentifier({ group, identifier: name, status: n % 5 === 0 ? -1 : 2 });
      registered.push(name);
    }
    const revision = srv.registry.revision;

    const w = watch({ group });
    const parts = await snapshotOf(w);

    expect(parts.length).toBeGreaterThanOrEqual(3); // 2,501 identifiers
    for (const part of parts) {
      expect(part.revision).toBe(BigInt(revision));
      expect(snapshotValue(part).identifiers.length).toBeGreaterThan(0);
      expect(snapshotValue(part).identifiers.length).toBeLessThanOrEqual(1_000);
      expect(snapshotValue(part).resync).toBe(false);
    }
    expect(parts.map((p) => snapshotValue(p).last)).toEqual([...parts.slice(1).map(() => false), true]);

    const ids = identifiersOf(parts);
    const expected = listOrder(["main", ...registered]);
    expect(ids.map((i) => i.identifier)).toEqual(expected);
    expect(ids.map((i) => i.identifier)).toEqual(await listedIdentifiers(group));
    expect(new Set(ids.map((i) => i.group))).toEqual(new Set([group]));
    const n0 = ids.find((i) => i.identifier === "Node-0000");
    expect(n0).toMatchObject({ status: -1, ready: false });

    // Then live: the next change after the snapshot.
    const write = await sr.setStatus({ group, identifier: "node-0001", status: 7 });
    const event = await nextEvent(w.events);
    expect(event.revision).toBe(write.revision);
    expect(statusChanged(event)).toMatchObject({ group, identifier: "node-0001", status: 7, oldStatus: 2, ready: true });
    w.abort();
  });

  it("keeps every part under 1 MiB when identifiers carry large details", async () => {
    const group = fresh("wide");
    const details = "é".repeat(1_024); // 2,048 bytes of UTF-8, the maximum
    srv.registry.registerGroup({ group, details });
    for (let i = 0; i < 800; i++) {
      srv.registry.registerIdentifier({ group, identifier: `id-${String(i).padStart(3, "0")}`, details });
    }

    const w = watch({ group });
    const parts = await snapshotOf(w);

    expect(parts.length).toBeGreaterThanOrEqual(2); // 801 × 2 KiB > 1 MiB
    for (const part of parts) expect(encodedSize(part)).toBeLessThan(MiB);
    expect(new Set(parts.map((p) => p.revision)).size).toBe(1);
    const ids = identifiersOf(parts);
    expect(ids).toHaveLength(801);
    expect(ids.every((i) => i.details === details)).toBe(true);
    expect(ids.map((i) => i.identifier)).toEqual(await listedIdentifiers(group));
    w.abort();
  });

  it("with include_reports, carries the reports (oldest first, capacity, FIFO drop) and then sends report_added", async () => {
    const group = fresh("rep");
    await sr.registerGroup({ group, reportCapacity: 5 });
    await sr.registerIdentifier({ group, identifier: "db", reportCapacity: 3 });
    await sr.registerIdentifier({ group, identifier: "quiet", reportCapacity: 0 });
    await sr.addReport({ group, text: "main one" });
    let lastDbReport = { revision: 0n };
    for (const text of ["db 1", "db 2", "db 3", "db 4"]) lastDbReport = await sr.addReport({ group, identifier: "db", text });

    const w = watch({ group, includeReports: true });
    const parts = await snapshotOf(w);
    const reports = parts.flatMap((p) => snapshotValue(p).reports);
    expect(reports.map((r) => r.group)).toEqual([group]);
    const entries = reports.flatMap((r) => r.identifiers);
    expect(entries.map((e) => [e.identifier, e.capacity, e.reports.map((r) => r.text)])).toEqual([
      ["main", 5, ["main one"]],
      ["db", 3, ["db 2", "db 3", "db 4"]], // capacity 3: the oldest was dropped
      ["quiet", 0, []],
    ]);
    const db = entries[1]?.reports ?? [];
    expect(db.map((r) => r.sequence)).toEqual([2n, 3n, 4n]);
    expect(db.every((r) => r.time instanceof Date)).toBe(true);
    // An identifier's revision is that of its last change of any kind, a report included.
    expect(identifiersOf(parts).find((i) => i.identifier === "db")?.revision).toBe(lastDbReport.revision);

    const added = await sr.addReport({ group, identifier: "db", text: "db 5" });
    const event = await nextEvent(w.events);
    expect(event.revision).toBe(added.revision);
    expect(event.event?.$case).toBe("reportAdded");
    if (event.event?.$case !== "reportAdded") return;
    expect(event.event.value).toMatchObject({ group, identifier: "db", report: { sequence: added.sequence, text: "db 5" } });
    expect(event.event.value.report?.time).toBeInstanceOf(Date);
    w.abort();
  });

  it("splits one identifier's reports across parts rather than send a part over 1 MiB", async () => {
    const group = fresh("log");
    const text = "r".repeat(2_048);
    srv.registry.registerGroup({ group, reportCapacity: 1_000 });
    for (let i = 0; i < 700; i++) srv.registry.addReport({ group, identifier: "main", text: `${i} ${text}`.slice(0, 2_048) });

    const w = watch({ group, identifier: "main", includeReports: true });
    const parts = await snapshotOf(w);

    expect(parts.length).toBeGreaterThanOrEqual(2); // 700 × 2 KiB > 1 MiB
    for (const part of parts) expect(encodedSize(part)).toBeLessThan(MiB);
    expect(names(identifiersOf(parts))).toEqual([`${group}/main`]);
    const reports = parts.flatMap((p) => snapshotValue(p).reports.flatMap((g) => g.identifiers.flatMap((i) => i.reports)));
    expect(reports.map((r) => Number(r.sequence))).toEqual(Array.from({ length: 700 }, (_, i) => i + 1));
    expect(reports.every((r, i) => r.text.startsWith(`${i} `) && r.text.length === 2_048)).toBe(true);
    w.abort();
  });
});

describe("filters", () => {
  it("everything (empty group) includes the internal core group and every group's changes", async () => {
    const a = fresh("all-a");
    const b = fresh("all-b");
    await sr.registerGroup({ group: a });
    await sr.registerGroup({ group: b });

    const w = watch({});
    const ids = identifiersOf(await snapshotOf(w));
    expect(ids.find((i) => i.group === "core" && i.identifier === "main")).toMatchObject({ status: 1, details: "running", ready: true });
    expect(names(ids)).toEqual(expect.arrayContaining([`${a}/main`, `${b}/main`]));
    // Groups in order of their lowercased names, each group's identifiers together.
    const groups = ids.map((i) => i.group).filter((g, i, all) => all.indexOf(g) === i);
    expect(groups).toEqual([...groups].sort());
    expect(ids.length).toBe(srv.registry.totalIdentifiers);

    const late = fresh("all-late");
    await sr.registerGroup({ group: late }); // a registration: not sent by default
    const wb = await sr.setStatus({ group: b, status: -1 });
    const wa = await sr.setStatus({ group: a, status: -2 });
    const wl = await sr.setStatus({ group: late, status: -1 }); // a group that appeared after the snapshot
    const events = await collect(w.events, 3);
    expect(events.map((e) => [e.revision, statusChanged(e).group, statusChanged(e).status])).toEqual([
      [wb.revision, b, -1],
      [wa.revision, a, -2],
      [wl.revision, late, -1],
    ]);
    w.abort();
  });

  it("a group: only its identifiers, matched case-insensitively, in one snapshot at the current revision, then each change with the write's revision", async () => {
    const a = fresh("grp-a");
    const b = fresh("grp-b");
    await sr.registerGroup({ group: a, details: "d" });
    await sr.registerIdentifier({ group: a, identifier: "x", status: -2 });
    await sr.registerGroup({ group: b });
    const at = await revisionOf(sr);

    const w = watch({ group: a.toUpperCase() });
    const parts = await snapshotOf(w);
    expect(parts).toHaveLength(1);
    expect(parts[0]?.revision).toBe(at);
    expect(snapshotValue(parts[0] as Msg)).toMatchObject({ last: true, resync: false });
    expect(identifiersOf(parts).map((i) => [i.group, i.identifier, i.status, i.details])).toEqual([
      [a, "main", 1, "d"],
      [a, "x", -2, undefined],
    ]);

    await sr.setStatus({ group: b, status: -1 }); // another group: not sent
    const write = await sr.setStatus({ group: a, identifier: "X", status: 3, details: "up" });
    expect(await nextEvent(w.events)).toEqual({
      revision: write.revision,
      event: { $case: "statusChanged", value: { group: a, identifier: "x", status: 3, oldStatus: -2, details: "up", ready: true } },
    });
    w.abort();
  });

  it("a group and identifier: only that identifier; an empty identifier: the whole group", async () => {
    const group = fresh("one");
    await sr.registerGroup({ group });
    await sr.registerIdentifier({ group, identifier: "x" });
    await sr.registerIdentifier({ group, identifier: "y" });

    const w = watch({ group, identifier: "X" });
    const whole = watch({ group, identifier: "" });
    expect(names(identifiersOf(await snapshotOf(w)))).toEqual([`${group}/x`]);
    expect(names(identifiersOf(await snapshotOf(whole)))).toEqual([`${group}/main`, `${group}/x`, `${group}/y`]);

    const main = await sr.setStatus({ group, status: -1 }); // main: not sent to w
    const y = await sr.setStatus({ group, identifier: "y", status: -1 }); // y: not sent to w
    const write = await sr.setStatus({ group, identifier: "x", status: -4 });
    const event = await nextEvent(w.events);
    expect(event.revision).toBe(write.revision);
    expect(statusChanged(event)).toMatchObject({ group, identifier: "x", status: -4 });
    const all = await collect(whole.events, 3);
    expect(all.map((e) => [e.revision, statusChanged(e).identifier])).toEqual([
      [main.revision, "main"],
      [y.revision, "y"],
      [write.revision, "x"],
    ]);
    w.abort();
    whole.abort();
  });
});

describe("what a watch sends", () => {
  it("by default only status value changes: no details-only change, report or registration", async () => {
    const group = fresh("quiet");
    await sr.registerGroup({ group, details: "d0" });
    await sr.addReport({ group, text: "before" });

    const w = watch({ group });
    const parts = await snapshotOf(w);
    expect(parts.flatMap((p) => snapshotValue(p).reports)).toEqual([]); // no reports without include_reports
    expect(identifiersOf(parts)).toMatchObject([{ identifier: "main", status: 1, details: "d0" }]);

    await sr.setStatus({ group, status: 1, details: "d1" }); // details only
    await sr.setStatus({ group, status: 1 }); // details cleared: still details only
    await sr.addReport({ group, text: "after" });
    await sr.registerIdentifier({ group, identifier: "n" });
    await sr.setStatus({ group, identifier: "n", status: 1 }); // changes nothing
    await sr.unregisterIdentifier({ group, identifier: "n" });
    const write = await sr.setStatus({ group, status: -3, details: "down" });

    const event = await nextEvent(w.events);
    expect(event.revision).toBe(write.revision);
    expect(statusChanged(event)).toEqual({ group, identifier: "main", status: -3, oldStatus: 1, details: "down", ready: false });
    w.abort();
  });

  it("include_details adds details-only changes as status_changed with status == old_status", async () => {
    const group = fresh("details");
    await sr.registerGroup({ group, status: 3 });

    const w = watch({ group, includeDetails: true });
    await snapshotOf(w);

    const r1 = await sr.setStatus({ group, status: 3, details: "warming" });
    const r2 = await sr.setStatus({ group, status: 3, details: "" }); // empty details, not "no details"
    const r3 = await sr.setStatus({ group, status: 3 }); // no details
    const r4 = await sr.setStatus({ group, status: -3 });
    const events = await collect(w.events, 4);
    expect(events.map((e) => e.revision)).toEqual([r1.revision, r2.revision, r3.revision, r4.revision]);
    expect(events.map(statusChanged)).toEqual([
      { group, identifier: "main", status: 3, oldStatus: 3, details: "warming", ready: true },
      { group, identifier: "main", status: 3, oldStatus: 3, details: "", ready: true },
      { group, identifier: "main", status: 3, oldStatus: 3, details: undefined, ready: true },
      { group, identifier: "main", status: -3, oldStatus: 3, details: undefined, ready: false },
    ]);
    w.abort();
  });

  it("include_registrations adds registered (the IdentifierStatus) and unregistered (empty identifier for a whole group)", async () => {
    const group = fresh("reg");
    await sr.registerGroup({ group });

    const w = watch({ group, includeRegistrations: true });
    await snapshotOf(w);

    const created = await sr.registerIdentifier({ group, identifier: "Worker", status: -1, details: "booting" });
    const again = await sr.registerIdentifier({ group, identifier: "worker" }); // exists: no change, no event
    expect(again.created).toBe(false);
    const removed = await sr.unregisterIdentifier({ group, identifier: "WORKER" });
    const gone = await sr.unregisterGroup({ group });

    const events = await collect(w.events, 3);
    expect(events.map((e) => e.revision)).toEqual([created.revision, removed.revision, gone.revision]);
    expect(events[0]?.event).toEqual({
      $case: "registered",
      value: {
        group,
        identifier: "Worker",
        status: -1,
        details: "booting",
        ready: false,
        revision: created.revision,
        updateTime: created.status?.updateTime,
      },
    });
    expect(events[1]?.event).toEqual({ $case: "unregistered", value: { group, identifier: "Worker" } });
    expect(events[2]?.event).toEqual({ $case: "unregistered", value: { group, identifier: "" } });
    w.abort();
  });

  it("a watched identifier removed with its whole group gets unregistered with an empty identifier", async () => {
    const group = fresh("doomed");
    await sr.registerGroup({ group });
    await sr.registerIdentifier({ group, identifier: "x" });

    const w = watch({ group, identifier: "x", includeRegistrations: true });
    expect(names(identifiersOf(await snapshotOf(w)))).toEqual([`${group}/x`]);
    const gone = await sr.unregisterGroup({ group });
    const event = await nextEvent(w.events);
    expect(event.revision).toBe(gone.revision);
    expect(event.event).toEqual({ $case: "unregistered", value: { group, identifier: "" } });
    w.abort();
  });

  it("a group that does not exist yet: an empty final snapshot, then its changes once it is registered", async () => {
    const group = fresh("later");
    const before = srv.registry.revision;

    const plain = watch({ group });
    const withRegs = watch({ group, includeRegistrations: true });
    for (const w of [plain, withRegs]) {
      const parts = await snapshotOf(w);
      expect(parts).toHaveLength(1);
      expect(parts[0]?.revision).toBe(BigInt(before));
      expect(snapshotValue(parts[0] as Msg)).toEqual({ identifiers: [], resync: false, last: true, reports: [] });
    }

    const reg = await sr.registerGroup({ group, status: 2 });
    const set = await sr.setStatus({ group, status: -2, details: "not yet" });

    const first = await nextEvent(plain.events); // the registration is not a status change
    expect(first.revision).toBe(set.revision);
    expect(statusChanged(first)).toMatchObject({ group, identifier: "main", status: -2, oldStatus: 2, details: "not yet" });

    const events = await collect(withRegs.events, 2);
    expect(events.map((e) => e.revision)).toEqual([reg.revision, set.revision]);
    expect(events[0]?.event).toMatchObject({ $case: "registered", value: { group, identifier: "main", status: 2, ready: true } });
    plain.abort();
    withRegs.abort();
  });

  it("revisions strictly increase and are the ones the writes returned; writes that change nothing send nothing", async () => {
    const group = fresh("rev");
    const w = watch({ group, includeDetails: true, includeReports: true, includeRegistrations: true });
    const [snapshot] = await snapshotOf(w);

    const writes: bigint[] = [];
    writes.push((await sr.registerGroup({ group })).revision);
    expect((await sr.registerGroup({ group })).created).toBe(false); // no change
    writes.push((await sr.registerIdentifier({ group, identifier: "a" })).revision);
    writes.push((await sr.setStatus({ group, identifier: "a", status: -1 })).revision);
    const noop = await sr.setStatus({ group, identifier: "a", status: -1 });
    expect(noop).toMatchObject({ changed: false, oldStatus: -1, revision: writes[writes.length - 1] });
    writes.push((await sr.setStatus({ group, identifier: "a", status: -1, details: "why" })).revision);
    writes.push((await sr.addReport({ group, identifier: "a", text: "r" })).revision);
    writes.push((await sr.unregisterIdentifier({ group, identifier: "a" })).revision);
    writes.push((await sr.unregisterGroup({ group })).revision);

    const events = await collect(w.events, writes.length);
    expect(events.map((e) => e.event?.$case)).toEqual([
      "registered",
      "registered",
      "statusChanged",
      "statusChanged",
      "reportAdded",
      "unregistered",
      "unregistered",
    ]);
    expect(events.map((e) => e.revision)).toEqual(writes);
    const revisions = [snapshot?.revision ?? 0n, ...writes];
    for (let i = 1; i < revisions.length; i++) expect(revisions[i]).toBeGreaterThan(revisions[i - 1] as bigint);
    w.abort();
  });
});

describe("start_revision", () => {
  it("R: every retained matching change after R, then live", async () => {
    const group = fresh("from");
    await sr.registerGroup({ group });
    const from = await revisionOf(sr);
    const s1 = await sr.setStatus({ group, status: -1 });
    await sr.addReport({ group, text: "not watched" });
    const s2 = await sr.setStatus({ group, status: 2 });

    const w = watch({ group, startRevision: from });
    expect((await nextEvent(w.events)).revision).toBe(s1.revision);
    expect((await nextEvent(w.events)).revision).toBe(s2.revision);
    const s3 = await sr.setStatus({ group, status: -3 });
    expect(await nextEvent(w.events)).toMatchObject({ revision: s3.revision, event: { value: { status: -3, oldStatus: 2 } } });
    w.abort();
  });

  it("equal to the current revision is allowed: nothing until the next change", async () => {
    const group = fresh("now");
    await sr.registerGroup({ group });
    const w = watch({ group, startRevision: await revisionOf(sr) });
    const set = await sr.setStatus({ group, status: -4 });
    expect((await nextEvent(w.events)).revision).toBe(set.revision);
    w.abort();
  });

  it("above the current revision is INVALID_ARGUMENT naming start_revision, and changes nothing", async () => {
    const before = await revisionOf(sr);
    const error = await streamError(watch({ group: "core", startRevision: before + 1n }).events);
    expect(error.code, error.message).toBe(GrpcStatus.INVALID_ARGUMENT);
    expect(error.details).toMatch(/start_revision/);
    expect(await revisionOf(sr)).toBe(before);
    expect(srv.hub.watcherCount).toBe(0);
  });

  it("older than the history is OUT_OF_RANGE naming the oldest revision still resumable, from which resuming works", async () => {
    const HISTORY = 5;
    const server = await ownServer((config) => {
      config.watch.history = HISTORY;
    });
    const c = client(server.address);
    const group = fresh("old");
    await c.registerGroup({ group });
    const old = await revisionOf(c);
    for (let i = 0; i < HISTORY + 2; i++) await c.setStatus({ group, status: i % 2 ? 1 : -1 });
    const now = await revisionOf(c);
    const oldest = now - BigInt(HISTORY);

    const error = await streamError(watch({ group, startRevision: old }, c).events);
    expect(error.code, error.message).toBe(GrpcStatus.OUT_OF_RANGE);
    expect(error.details).toMatch(/start_revision/);
    expect(error.details).toContain(String(oldest));
    expect(await revisionOf(c)).toBe(now);

    const w = watch({ group, startRevision: oldest }, c);
    expect((await nextEvent(w.events)).revision).toBe(oldest + 1n);
    w.abort();
  });
});

describe("errors", () => {
  it.each<[string, Request, RegExp]>([
    ["identifier 'all'", { group: "core", identifier: "all" }, /identifier.*all/],
    ["identifier 'ALL' (any case)", { group: "core", identifier: "ALL" }, /identifier.*all/],
    ["an identifier without a group", { identifier: "x" }, /identifier.*group|group.*identifier/],
    ["main without a group", { identifier: "main" }, /identifier.*group|group.*identifier/],
    ["a group name with '/'", { group: "a/b" }, /group/],
    ["a group name with a control character", { group: "bad\u0007name" }, /group.*control/],
    ["a group name over 255 bytes", { group: "x".repeat(256) }, /group.*255/],
    ["an identifier name with a control character", { group: "g", identifier: "x\u007f" }, /identifier.*control/],
    ["an identifier name with a NUL", { group: "core", identifier: "a\u0000" }, /identifier.*control/],
  ])("%s is INVALID_ARGUMENT naming the field, and changes nothing", async (_what, request, message) => {
    const before = await revisionOf(sr);
    const error = await streamError(watch(request).events);
    expect(error.code, error.message).toBe(GrpcStatus.INVALID_ARGUMENT);
    expect(error.details).toMatch(message);
    expect(await revisionOf(sr)).toBe(before);
    expect(srv.hub.watcherCount).toBe(0);
  });
});

describe("limits", () => {
  it("max_watchers_per_connection: the next watch on that connection is RESOURCE_EXHAUSTED, another connection still watches", async () => {
    const server = await ownServer((c) => {
      c.watch.maxWatchersPerConnection = 2;
    });
    const first = ownConnection(server.address);
    const w1 = watch({}, first);
    const w2 = watch({}, first);
    await snapshotOf(w1);
    await snapshotOf(w2);

    const error = await streamError(watch({}, first).events);
    expect(error.code, error.message).toBe(GrpcStatus.RESOURCE_EXHAUSTED);
    expect(error.details).toMatch(/max_watchers_per_connection/);

    const other = ownConnection(server.address);
    const w3 = watch({}, other);
    await snapshotOf(w3);
    expect(server.hub.watcherCount).toBe(3);

    // Ending one watch frees its place on the first connection.
    w1.abort();
    await waitFor(() => server.hub.watcherCount === 2);
    const w4 = watch({}, first);
    await snapshotOf(w4);
    for (const w of [w2, w3, w4]) w.abort();
  });

  it("max_watchers: past it every connection gets RESOURCE_EXHAUSTED naming the limit", async () => {
    const server = await ownServer((c) => {
      c.watch.maxWatchers = 2;
    });
    const first = ownConnection(server.address);
    const second = ownConnection(server.address);
    const w1 = watch({}, first);
    const w2 = watch({}, second);
    await snapshotOf(w1);
    await snapshotOf(w2);

    for (const via of [first, second, ownConnection(server.address)]) {
      const error = await streamError(watch({}, via).events);
      expect(error.code, error.message).toBe(GrpcStatus.RESOURCE_EXHAUSTED);
      expect(error.details).toMatch(/max_watchers\b/);
      expect(error.details).not.toMatch(/per_connection/);
    }

    w2.abort();
    await waitFor(() => server.hub.watcherCount === 1);
    const w3 = watch({}, first);
    await snapshotOf(w3);
    w1.abort();
    w3.abort();
  });
});

describe("progress", () => {
  it("an idle watcher gets progress with the current revision, which moves on with changes it does not watch", async () => {
    const server = await ownServer((c) => {
      c.watch.progressIntervalMs = 200;
    });
    const c = ownConnection(server.address);
    await c.registerGroup({ group: "watched" });
    await c.registerGroup({ group: "other" });

    const w = watch({ group: "watched" }, c);
    await snapshotOf(w);
    const quietSince = Date.now();
    const progress = await nextEvent(w.events, 3_000);
    expect(Date.now() - quietSince).toBeGreaterThanOrEqual(150); // sent after the idle time, not at once
    expect(progress.event).toEqual({ $case: "progress", value: {} });
    expect(progress.revision).toBe(BigInt(server.registry.revision));

    // Changes the watcher does not see still move the revision its progress reports.
    // (A progress already due before the write may carry the older revision.)
    const other = await c.setStatus({ group: "other", status: -1 });
    const progresses = await collect(w.events, (m) => m.revision === other.revision, 3_000);
    expect(progresses.map((m) => m.event?.$case)).toEqual(progresses.map(() => "progress"));
    expect(progresses.length).toBeLessThanOrEqual(2);

    // A watched change resets the idle time; progress follows it again.
    const set = await c.setStatus({ group: "watched", status: -1 });
    const [change, after] = await collect(w.events, 2, 3_000);
    expect(change?.revision).toBe(set.revision);
    expect(after?.event?.$case).toBe("progress");
    expect(after?.revision).toBe(set.revision);
    w.abort();
  });
});

describe("the server frees a watcher", () => {
  it("when the client aborts the watch; the iteration just ends", async () => {
    const w = watch({});
    await snapshotOf(w);
    expect(srv.hub.watcherCount).toBe(1);
    w.abort();
    await waitFor(() => srv.hub.watcherCount === 0, 5_000, "the server freed the aborted watcher");
    const ending = await untilEnd(w.events);
    expect(ending.error).toBeUndefined();
  });

  it("when the consumer stops iterating (break out of for await)", async () => {
    const group = fresh("brk");
    await sr.registerGroup({ group });
    const controller = new AbortController();
    controllers.push(controller);
    let seen = 0;
    for await (const message of sr.watch({ group }, { signal: controller.signal, resume: false })) {
      seen++;
      if (isLastPart(message)) break;
    }
    expect(seen).toBe(1);
    await waitFor(() => srv.hub.watcherCount === 0, 5_000, "the server freed the watcher of a loop that broke out");
  });

  it("when the client is closed while a watch is open", async () => {
    const c = new SrClient(srv.address, { channelOptions: { "grpc.use_local_subchannel_pool": 1 } });
    const w = watch({}, c);
    try {
      await snapshotOf(w);
      expect(srv.hub.watcherCount).toBe(1);
      c.close();
      await waitFor(() => srv.hub.watcherCount === 0, 3_000, "the server freed the watcher of a closed client");
      // And the iteration of a closed client settles instead of hanging.
      await untilEnd(w.events, 3_000);
    } finally {
      w.abort(); // lets the next tests start clean even when this one fails
    }
  });
});
