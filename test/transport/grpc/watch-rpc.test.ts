/**
 * End to end: WatchStatus's normal path and each of its error codes (SPEC
 * section 3), through grpc-js streams of the generated client. The finer
 * points of watching (parts, filters, slow readers) live in test/watch*.ts.
 */
import { type ClientReadableStream, type ServiceError, status as Code } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SrClient, WatchStatusRequest, type WatchStatusResponse } from "../../../clients/ts/index.js";
import { revisionOf, uniqueNames } from "../../helpers/rpc.js";
import { type TestServer, startServer } from "../../helpers/server.js";

const HISTORY = 5;

let srv: TestServer;
let c: SrClient;
const streams: ClientReadableStream<WatchStatusResponse>[] = [];

beforeAll(async () => {
  srv = await startServer((config) => {
    config.watch.history = HISTORY;
  });
  c = new SrClient(srv.address);
});

afterAll(async () => {
  for (const s of streams) s.cancel();
  c?.close();
  await srv?.stop();
});

const uniq = uniqueNames();

const revision = () => revisionOf(c);

/** A watch as a pull-based reader of its messages (no retrying, unlike SrClient.watch). */
function open(request: Partial<WatchStatusRequest>) {
  const stream = c.raw.watchStatus(WatchStatusRequest.fromPartial(request));
  stream.on("error", () => {}); // read through the iterator below
  streams.push(stream);
  const it = stream[Symbol.asyncIterator]() as AsyncIterator<WatchStatusResponse>;
  return {
    async next(): Promise<WatchStatusResponse> {
      const r = await it.next();
      if (r.done) throw new Error("the stream ended");
      return r.value;
    },
    cancel: () => stream.cancel(),
  };
}

/** Expects the watch to fail before its first message with `code` and a message matching `pattern`. */
async function watchFails(request: Partial<WatchStatusRequest>, code: Code, pattern: RegExp): Promise<ServiceError> {
  const before = await revision();
  const w = open(request);
  const error = await w.next().then(
    (m) => {
      throw new Error(`expected ${Code[code]}, got a message: ${JSON.stringify(m.event?.$case)}`);
    },
    (e: ServiceError) => e,
  );
  expect(error).toMatchObject({ code, details: expect.stringMatching(pattern) });
  expect(await revision()).toBe(before);
  return error;
}

describe("WatchStatus", () => {
  it("sends a snapshot at the current revision, then each status change with the write's revision", async () => {
    const g = uniq("w");
    await c.registerGroup({ group: g, details: "d" });
    await c.registerIdentifier({ group: g, identifier: "b", status: -2 });
    const at = await revision();
    const w = open({ group: g.toUpperCase() });
    const snap = await w.next();
    expect(snap.revision).toBe(at);
    expect(snap.event?.$case).toBe("snapshot");
    if (snap.event?.$case !== "snapshot") return;
    expect(snap.event.value.last).toBe(true);
    expect(snap.event.value.resync).toBe(false);
    expect(snap.event.value.identifiers.map((i) => [i.group, i.identifier, i.status, i.details])).toEqual([
      [g, "main", 1, "d"],
      [g, "b", -2, undefined],
    ]);
    const set = await c.setStatus({ group: g, identifier: "b", status: 3, details: "up" });
    const change = await w.next();
    expect(change).toEqual({
      revision: set.revision,
      event: { $case: "statusChanged", value: { group: g, identifier: "b", status: 3, oldStatus: -2, details: "up", ready: true } },
    });
    w.cancel();
  });

  it("an empty identifier watches the whole group; a named one only itself", async () => {
    const g = uniq("wf");
    await c.registerGroup({ group: g });
    await c.registerIdentifier({ group: g, identifier: "a" });
    const whole = open({ group: g, identifier: "" });
    const one = open({ group: g, identifier: "A" });
    expect((await whole.next()).event?.$case).toBe("snapshot");
    const snapOne = await one.next();
    expect(snapOne.event?.$case === "snapshot" && snapOne.event.value.identifiers.map((i) => i.identifier)).toEqual(["a"]);
    await c.setStatus({ group: g, status: -1 });
    const a = await c.setStatus({ group: g, identifier: "a", status: -1 });
    expect((await whole.next()).event).toMatchObject({ value: { identifier: "main" } });
    expect((await whole.next()).event).toMatchObject({ value: { identifier: "a" } });
    const first = await one.next(); // main's change is not for this watcher
    expect(first.revision).toBe(a.revision);
    expect(first.event).toMatchObject({ $case: "statusChanged", value: { identifier: "a" } });
    whole.cancel();
    one.cancel();
  });

  it("an empty group and identifier watch everything, internal groups included", async () => {
    const w = open({});
    const snap = await w.next();
    expect(snap.event?.$case).toBe("snapshot");
    if (snap.event?.$case !== "snapshot") return;
    expect(snap.event.value.identifiers.map((i) => i.group)).toContain("core");
    const g = uniq("wall");
    await c.registerGroup({ group: g });
    const set = await c.setStatus({ group: g, status: -1 });
    expect(await w.next()).toMatchObject({ revision: set.revision, event: { $case: "statusChanged", value: { group: g } } });
    w.cancel();
  });

  it("with start_revision R: the retained matching changes after R, then live", async () => {
    const g = uniq("wr");
    await c.registerGroup({ group: g });
    const from = await revision();
    const s1 = await c.setStatus({ group: g, status: -1 });
    await c.addReport({ group: g, text: "not watched" });
    const s2 = await c.setStatus({ group: g, status: 2 });
    const w = open({ group: g, startRevision: from });
    expect((await w.next()).revision).toBe(s1.revision);
    expect((await w.next()).revision).toBe(s2.revision);
    const s3 = await c.setStatus({ group: g, status: -3 });
    expect(await w.next()).toMatchObject({ revision: s3.revision, event: { value: { status: -3, oldStatus: 2 } } });
    w.cancel();
  });

  it("start_revision equal to the current revision is allowed: nothing until the next change", async () => {
    const g = uniq("wnow");
    await c.registerGroup({ group: g });
    const w = open({ group: g, startRevision: await revision() });
    const set = await c.setStatus({ group: g, status: -4 });
    expect((await w.next()).revision).toBe(set.revision);
    w.cancel();
  });

  it("`all` as identifier is INVALID_ARGUMENT naming identifier", async () => {
    for (const identifier of ["all", "ALL"]) {
      await watchFails({ group: "core", identifier }, Code.INVALID_ARGUMENT, /identifier.*all/);
    }
  });

  it("an identifier without a group, or a malformed name, is INVALID_ARGUMENT naming the field", async () => {
    await watchFails({ identifier: "main" }, Code.INVALID_ARGUMENT, /identifier/);
    await watchFails({ group: "a/b" }, Code.INVALID_ARGUMENT, /group/);
    await watchFails({ group: "x".repeat(256) }, Code.INVALID_ARGUMENT, /group/);
    await watchFails({ group: "core", identifier: "a\u0000" }, Code.INVALID_ARGUMENT, /identifier/);
  });

  it("start_revision above the current revision is INVALID_ARGUMENT naming start_revision", async () => {
    const now = await revision();
    await watchFails({ group: "core", startRevision: now + 1n }, Code.INVALID_ARGUMENT, /start_revision/);
  });

  it("start_revision older than the history is OUT_OF_RANGE naming the oldest revision still resumable", async () => {
    const g = uniq("wold");
    await c.registerGroup({ group: g });
    const old = await revision();
    for (let i = 0; i < HISTORY + 2; i++) await c.setStatus({ group: g, status: i % 2 ? 1 : -1 });
    const now = await revision();
    const oldest = now - BigInt(HISTORY);
    const error = await watchFails({ group: g, startRevision: old }, Code.OUT_OF_RANGE, /start_revision/);
    expect(error.details).toContain(String(oldest));
    // ... and resuming from exactly that revision works.
    const w = open({ group: g, startRevision: oldest });
    const first = await w.next();
    expect(first.revision).toBe(oldest + 1n);
    w.cancel();
  });
});
