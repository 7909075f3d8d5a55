/**
 * GET /events tested directly, as `curl -N` reads it: ids, the proto3 JSON
 * mapping of each event, resuming with Last-Event-ID, a resync for an id of
 * another registry, the include_* parameters, refusals naming the parameter,
 * keep-alive comments, a slow reader bounded by the watcher budget, and the
 * Authorization header under auth.
 */
import { readFileSync } from "node:fs";
import { request } from "node:http";
import { gunzipSync } from "node:zlib";
import { fromJson, toBinary } from "@bufbuild/protobuf";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { SrClient } from "../../../clients/ts/index.js";
import { Registry } from "../../../src/domain/registry/registry.js";
import { WatchHub } from "../../../src/domain/watch/hub.js";
import { type HttpServer, startHttpServer } from "../../../src/transport/http/server.js";
import { TOKENS, TOKEN_CONFIG, bearer } from "../../helpers/auth.js";
import { startSrProcess } from "../../helpers/process.js";
import { type TestServer, startServer } from "../../helpers/server.js";
import { waitFor } from "../../helpers/wait.js";
import { SseClient, snapshotEnd } from "./sse.js";

const ALL = "include_details=true&include_reports=true&include_registrations=true";

let srv: TestServer;
let sr: SrClient;
let base: string;
const open: SseClient[] = [];
const sse = (path: string, headers?: Record<string, string>) => {
  const client = new SseClient(base, path, headers);
  open.push(client);
  return client;
};

beforeAll(async () => {
  srv = await startServer((config) => {
    config.http = "127.0.0.1:0";
    config.watch.budgetMessages = 50;
  });
  base = `http://${srv.httpAddress}`;
  sr = new SrClient(srv.address);
  await sr.registerGroup({ group: "billing", status: -1, details: "warming up" });
  await sr.registerIdentifier({ group: "billing", identifier: "db", reportCapacity: 10 });
});

afterAll(async () => {
  for (const client of open) client.close();
  sr?.close();
  await srv?.stop();
});

describe("GET /events", () => {
  it("sends a snapshot first, then every change, each with id REGISTRY_ID:REVISION and the proto3 JSON of WatchStatusResponse", async () => {
    const c = sse("/events?group=billing");
    await c.until("the snapshot", (s) => snapshotEnd(s.events) >= 0);
    expect(c.status).toBe(200);
    expect(c.headers["content-type"]).toMatch(/^text\/event-stream/);
    expect(c.headers["sr-registry-id"]).toBe(srv.registry.id);
    const snapshot = c.events[0]!;
    expect(snapshot.id).toBe(`${srv.registry.id}:${srv.registry.revision}`);
    // The canonical mapping: uint64 as strings, RFC 3339 timestamps, defaults (ready: false, resync: false) omitted.
    expect(snapshot.json).toEqual({
      revision: String(srv.registry.revision),
      snapshot: {
        identifiers: [
          { group: "billing", identifier: "main", status: -1, details: "warming up", revision: expect.any(String), updateTime: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3})?Z$/) },
          { group: "billing", identifier: "db", status: 1, ready: true, revision: expect.any(String), updateTime: expect.any(String) },
        ],
        last: true,
      },
    });
    const { revision } = await sr.setStatus({ group: "billing", identifier: "db", status: -3, details: "lost primary" });
    await c.until("the change", (s) => s.events.length >= 2);
    expect(c.events[1]).toMatchObject({
      id: `${srv.registry.id}:${revision}`,
      json: { revision: String(revision), statusChanged: { group: "billing", identifier: "db", status: -3, oldStatus: 1, details: "lost primary" } },
    });
    expect(c.events[1]!.json.statusChanged.ready).toBeUndefined();
    // The data is a WatchStatusResponse any proto3 JSON parser reads back.
    const { WatchStatusResponseSchema } = await schema();
    expect(() => toBinary(WatchStatusResponseSchema, fromJson(WatchStatusResponseSchema, c.events[1]!.json))).not.toThrow();
    c.close();
  });

  it("resumes after Last-Event-ID with no gap and no duplicate", async () => {
    const first = sse(`/events?group=billing&${ALL}`);
    await first.until("the snapshot", (s) => snapshotEnd(s.events) >= 0);
    await sr.setStatus({ group: "billing", identifier: "db", status: 2, details: "one" });
    await first.until("one change", (s) => s.events.length >= 2);
    const resumeFrom = first.events.at(-1)!.id!;
    first.close();
    const expected: string[] = [];
    for (let i = 0; i < 5; i++) expected.push(String((await sr.addReport({ group: "billing", identifier: "db", text: `r${i}` })).revision));
    expected.push(String((await sr.setStatus({ group: "billing", identifier: "db", status: 3 })).revision));
    const resumed = sse(`/events?group=billing&${ALL}`, { "Last-Event-ID": resumeFrom });
    await resumed.until("the six changes", (s) => s.events.length >= 6);
    expect(resumed.events.some((e) => e.json.snapshot)).toBe(false);
    expect(resumed.events.map((e) => e.json.revision)).toEqual(expected);
    expect(resumed.events.map((e) => e.id)).toEqual(expected.map((r) => `${srv.registry.id}:${r}`));
    expect(resumed.events[0]!.json.reportAdded).toMatchObject({ group: "billing", identifier: "db", report: { text: "r0", sequence: expect.any(String), time: expect.any(String) } });
    resumed.close();
  });

  it("answers an id of another registry (a restarted server) with a fresh snapshot marked resync", async () => {
    const c = sse("/events?group=billing", { "Last-Event-ID": "0b5e7c1e-0000-4000-8000-000000000000:3" });
    await c.until("the snapshot", (s) => snapshotEnd(s.events) >= 0);
    expect(c.events[0]!.json.snapshot).toMatchObject({ resync: true, last: true });
    expect(c.events[0]!.id).toBe(`${srv.registry.id}:${srv.registry.revision}`);
    // Later parts and resyncs follow the usual rules: the next change is live, unmarked.
    await sr.setStatus({ group: "billing", identifier: "db", status: 4 });
    await c.until("the change", (s) => s.events.length >= 2);
    expect(c.events[1]!.json.statusChanged).toMatchObject({ status: 4 });
    c.close();
    // An id of this registry that it cannot resume from (ahead of it) starts over the same way.
    const ahead = sse("/events?group=billing", { "Last-Event-ID": `${srv.registry.id}:${srv.registry.revision + 1000}` });
    await ahead.until("the snapshot", (s) => snapshotEnd(s.events) >= 0);
    expect(ahead.events[0]!.json.snapshot).toMatchObject({ resync: true, last: true });
    ahead.close();
  });

  it("sends details-only changes, reports and registrations only when include_* asks", async () => {
    // The streams of the tests before are closed; their watchers go as the server sees the sockets close.
    await waitFor(() => srv.hub.watcherCount === 0, 5_000, "the earlier streams' watchers to be forgotten");
    const before = 0;
    const plain = sse("/events?group=billing");
    const all = sse(`/events?group=billing&${ALL}`);
    const bare = sse("/events?group=billing&include_details&include_reports=1&include_registrations=true");
    for (const c of [plain, all, bare]) await c.until("the snapshot", (s) => snapshotEnd(s.events) >= 0);
    expect(all.events[0]!.json.snapshot.reports).toBeDefined();
    expect(plain.events[0]!.json.snapshot.reports).toBeUndefined();
    await sr.setStatus({ group: "billing", identifier: "db", status: 4, details: "details only" });
    await sr.addReport({ group: "billing", identifier: "db", text: "a report" });
    await sr.registerIdentifier({ group: "billing", identifier: "cache" });
    await sr.unregisterIdentifier({ group: "billing", identifier: "cache" });
    const last = await sr.setStatus({ group: "billing", identifier: "db", status: 5 });
    const seen = (c: SseClient) => c.events.slice(1).map((e) => Object.keys(e.json).find((k) => k !== "revision"));
    for (const c of [plain, all, bare]) await c.until("the last change", (s) => s.events.at(-1)?.json.revision === String(last.revision));
    expect(seen(plain)).toEqual(["statusChanged"]);
    expect(seen(all)).toEqual(["statusChanged", "reportAdded", "registered", "unregistered", "statusChanged"]);
    expect(seen(bare)).toEqual(seen(all));
    expect(all.events[1]!.json.statusChanged).toMatchObject({ status: 4, oldStatus: 4, details: "details only" });
    expect(srv.hub.watcherCount).toBe(before + 3);
    for (const c of [plain, all, bare]) c.close();
    // A client that goes frees its watcher (and its quota).
    await waitFor(() => srv.hub.watcherCount === before, 5_000, "the watchers of closed streams to be forgotten");
  });

  it("watches one identifier, or everything (internal groups included)", async () => {
    const one = sse("/events?group=BILLING&identifier=DB");
    const everything = sse("/events");
    for (const c of [one, everything]) await c.until("the snapshot", (s) => snapshotEnd(s.events) >= 0);
    expect(one.events[0]!.json.snapshot.identifiers.map((i: any) => i.identifier)).toEqual(["db"]);
    expect(everything.events[0]!.json.snapshot.identifiers.map((i: any) => `${i.group}/${i.identifier}`)).toEqual(["billing/main", "billing/db", "core/main"]);
    for (const c of [one, everything]) c.close();
  });

  it("answers a bad parameter with 400 and a message naming it", async () => {
    const cases: [string, Record<string, string>, RegExp][] = [
      ["/events?include_details=maybe", {}, /^include_details: must be true or false/],
      ["/events?include_reports=yes", {}, /^include_reports: /],
      ["/events?include_registrations=2", {}, /^include_registrations: /],
      ["/events?start_revision=3", {}, /^start_revision: unknown parameter \(known: group, identifier, include_details/],
      ["/events?group=a%2Fb", {}, /^group: a group name must not contain '\/'/],
      ["/events?group=billing&group=core", {}, /^group: given more than once/],
      ["/events?identifier=db", {}, /^identifier: needs a group/],
      ["/events?group=billing&identifier=all", {}, /^identifier: 'all' is not allowed here/],
      [`/events?group=${"g".repeat(256)}`, {}, /^group: must be at most 255 bytes/],
      ["/events", { "Last-Event-ID": "not an id" }, /^Last-Event-ID: must be REGISTRY_ID:REVISION/],
    ];
    for (const [path, headers, message] of cases) {
      const c = sse(path, headers);
      await c.answered();
      expect(c.status, path).toBe(400);
      expect(c.headers["content-type"], path).toMatch(/^text\/plain/);
      expect(c.body, path).toMatch(message);
    }
  });

  it("keeps a slow reader bounded by the watcher's budget, then resyncs it, and writers never wait", async () => {
    const slow = sse(`/events?group=billing&${ALL}`);
    await slow.until("the snapshot", (s) => snapshotEnd(s.events) >= 0);
    slow.pause();
    await sr.registerIdentifier({ group: "billing", identifier: "bulk", reportCapacity: 1 });
    // Enough to fill the socket's buffers, then the watcher's 50-message budget many times over.
    const text = "x".repeat(2000);
    for (let i = 0; i < 6000; i++) srv.registry.addReport({ group: "billing", identifier: "bulk", text });
    const watcher = srv.hub.list().find((w) => w.filter.groupKey === "billing" && w.filter.includeReports);
    expect(watcher).toBeDefined();
    expect(watcher!.maxPending).toBeLessThanOrEqual(50);
    expect(watcher!.state).toBe("over_budget");
    slow.resume();
    await slow.until("the resync snapshot", (s) => s.events.some((e) => e.json.snapshot?.resync === true && e.json.snapshot.last), 20_000);
    const resync = slow.events.find((e) => e.json.snapshot?.resync)!;
    expect(resync.json.snapshot.identifiers.map((i: any) => i.identifier)).toContain("bulk");
    slow.close();
  });
});

describe("GET /events on a quiet stream and under auth", () => {
  let http: HttpServer;
  let registry: Registry;

  beforeAll(async () => {
    registry = new Registry();
    registry.registerGroup({ group: "quiet" });
    http = await startHttpServer(registry, "127.0.0.1:0", { events: { keepAliveMs: 40 } });
  });
  afterAll(async () => {
    await http?.close();
  });

  it("writes a comment line when nothing else was written for a while", async () => {
    const c = new SseClient(`http://${http.address}`, "/events");
    open.push(c);
    await c.until("two keep-alive comments", (s) => s.comments.filter((x) => x === "keep-alive").length >= 2);
    expect(c.events).toHaveLength(1); // the snapshot, nothing else
    c.close();
  });

  it("needs a reader token when tokens are configured, sent as an Authorization header", async () => {
    const authed = await startServer((config) => {
      config.http = "127.0.0.1:0";
      config.tokens = TOKEN_CONFIG;
    });
    try {
      const url = `http://${authed.httpAddress}`;
      const none = new SseClient(url, "/events");
      const wrong = new SseClient(url, "/events", { Authorization: bearer("nope") });
      const good = new SseClient(url, "/events", { Authorization: bearer(TOKENS.dash) });
      open.push(none, wrong, good);
      await none.answered();
      await wrong.answered();
      expect(none.status).toBe(401);
      expect(none.headers["www-authenticate"]).toBe("Bearer");
      expect(wrong.status).toBe(401);
      expect(wrong.headers["www-authenticate"]).toMatch(/invalid_token/);
      await good.until("the snapshot", (s) => snapshotEnd(s.events) >= 0);
      expect(good.status).toBe(200);
      // The page's shell and assets stay open; its state does not.
      for (const path of ["/", "/page/app.js", "/page/view.js", "/page/style.css"]) expect((await fetch(`${url}${path}`)).status, path).toBe(200);
      const shell = await (await fetch(url)).text();
      expect(shell).toContain('data-access="required"');
      expect(shell).not.toContain("core</span>");
      expect((await fetch(url, { method: "POST", body: "{}" })).status).toBe(401);
    } finally {
      await authed.stop();
    }
  });
});

describe("GET /events with a snapshot in several parts", () => {
  let http: HttpServer;
  let registry: Registry;

  beforeAll(async () => {
    registry = new Registry();
    registry.registerGroup({ group: "wide" });
    // 1,500 identifiers with its main: more than one part holds (SNAPSHOT_PART_IDENTIFIERS).
    for (let i = 1; i < 1_500; i++) registry.registerIdentifier({ group: "wide", identifier: `i${i}` });
    http = await startHttpServer(registry, "127.0.0.1:0");
  });
  afterAll(async () => {
    await http?.close();
  });

  /** The id a reader holds after `events` (SSE keeps the previous id for an event without one). */
  const heldId = (before: string | undefined, events: readonly { id: string | undefined }[]) => events.reduce((id, e) => e.id ?? id, before);
  const identifiers = (c: SseClient) => c.events.slice(0, snapshotEnd(c.events) + 1).flatMap((e) => e.json.snapshot.identifiers ?? []);

  it("sends an id only on the last part, so a drop mid-snapshot resumes with the id from before it and gets the whole snapshot", async () => {
    const url = `http://${http.address}`;
    const expected = `${registry.id}:${registry.revision}`;
    for (const before of [undefined, "0b5e7c1e-0000-4000-8000-000000000000:3"]) {
      const first = new SseClient(url, "/events?group=wide", before === undefined ? {} : { "Last-Event-ID": before });
      open.push(first);
      await first.until("the snapshot", (s) => snapshotEnd(s.events) >= 0);
      const end = snapshotEnd(first.events);
      expect(end, String(before)).toBeGreaterThan(0);
      expect(identifiers(first)).toHaveLength(1_500);
      expect(first.events.slice(0, end).map((e) => e.id)).toEqual(first.events.slice(0, end).map(() => undefined));
      expect(first.events[end]!.id).toBe(expected);
      first.close();
      // Dropped after the first part: the reader still holds the id it had before the snapshot.
      const held = heldId(before, first.events.slice(0, 1));
      expect(held).toBe(before);
      const resumed = new SseClient(url, "/events?group=wide", held === undefined ? {} : { "Last-Event-ID": held });
      open.push(resumed);
      await resumed.until("the whole snapshot again", (s) => snapshotEnd(s.events) >= 0);
      expect(identifiers(resumed)).toHaveLength(1_500);
      expect(resumed.events[snapshotEnd(resumed.events)]!.id).toBe(expected);
      resumed.close();
    }
  });
});

describe("GET /events failing", () => {
  it("tells a failure of ours through the listener's log, with its cause", async () => {
    const registry = new Registry();
    registry.registerGroup({ group: "fails" });
    const hub = new WatchHub(registry);
    const failed: { event: unknown; error: unknown }[] = [];
    const http = await startHttpServer(registry, "127.0.0.1:0", { hub, log: { refused() {}, failed: (event, error) => failed.push({ event, error }) } });
    try {
      const c = new SseClient(`http://${http.address}`, "/events?group=fails");
      open.push(c);
      await c.until("the snapshot", (s) => snapshotEnd(s.events) >= 0);
      const bug = new TypeError("a bug in the watcher");
      vi.spyOn(hub.list()[0]!, "next").mockImplementation(() => {
        throw bug;
      });
      registry.setStatus({ group: "fails", identifier: "main", status: 2 });
      await waitFor(() => failed.length > 0, 5_000, "the failure told");
      expect(failed).toEqual([{ event: { method: "GET", path: "/events" }, error: bug }]);
      c.close();
    } finally {
      hub.close();
      await http.close();
    }
  });
});

describe("GET /", () => {
  it("renders the whole state, the URL's filters and selection applied, gzipped when large", async () => {
    const registry = new Registry();
    for (let g = 0; g < 20; g++) {
      registry.registerGroup({ group: `g${g}` });
      for (let i = 1; i < 100; i++) registry.registerIdentifier({ group: `g${g}`, identifier: `i${i}`, status: i % 2 ? 1 : -1 });
    }
    registry.addReport({ group: "g3", identifier: "i7", text: "<b>escaped</b>" });
    const http = await startHttpServer(registry, "127.0.0.1:0");
    try {
      const { headers, body } = await new Promise<{ headers: import("node:http").IncomingHttpHeaders; body: Buffer }>((resolve, reject) => {
        const req = request(`http://${http.address}/?group=g3&notready=1&sel=g3%2Fi7`, { headers: { "Accept-Encoding": "gzip" }, agent: false }, (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (chunk: Buffer) => chunks.push(chunk));
          res.on("end", () => resolve({ headers: res.headers, body: Buffer.concat(chunks) }));
        });
        req.on("error", reject);
        req.end();
      });
      expect(headers["content-encoding"]).toBe("gzip");
      expect(headers.vary).toBe("Accept-Encoding");
      const html = gunzipSync(body).toString("utf8");
      expect(html.match(/<li class="row /g)).toHaveLength(20 * 100);
      // g3's not-ready rows are shown, the rest hidden; i7 (ready, selected) is hidden by the filter but its detail is there.
      expect(html).toContain('<li class="row notready" data-key="g3/i2">');
      expect(html).toContain('<li class="row ready" data-key="g3/i1" hidden>');
      expect(html).toContain('<li class="row notready" data-key="g4/i2" hidden>');
      expect(html).toContain('<li class="row ready selected" data-key="g3/i7" hidden>');
      expect(html).toContain('<h2 id="detail-title"><span class="group-name">g3</span> / i7</h2>');
      expect(html).toContain("&lt;b&gt;escaped&lt;/b&gt;");
      expect(html).not.toContain("<b>escaped</b>");
      expect(html).toContain('Showing <b data-count="shown">49</b> of 2000');
    } finally {
      await http.close();
    }
  });
});

describe("the compiled server (npm start)", () => {
  it("serves the page and its assets from dist/, as built by npm ci, and /events", async () => {
    const { proc } = await startSrProcess({ args: ["--http", "127.0.0.1:0"] });
    try {
      const http = (await proc.waitForLine(/HTTP listening on (\S+)/))[1] as string;
      const page = await fetch(`http://${http}/`);
      expect(page.status).toBe(200);
      expect(page.headers.get("content-security-policy")).toContain("script-src 'self'");
      expect(await page.text()).toContain('data-key="core/main"');
      for (const name of ["app.js", "view.js", "style.css"]) {
        const asset = await fetch(`http://${http}/page/${name}`);
        expect(asset.status, name).toBe(200);
        expect(Buffer.from(await asset.arrayBuffer()).equals(readFileSync(new URL(`../../../src/transport/http/page/assets/${name}`, import.meta.url))), name).toBe(true);
        const again = await fetch(`http://${http}/page/${name}`, { headers: { "If-None-Match": asset.headers.get("etag") ?? "" } });
        expect(again.status, name).toBe(304);
      }
      const c = new SseClient(`http://${http}`, "/events?group=core");
      open.push(c);
      await c.until("the snapshot", (s) => snapshotEnd(s.events) >= 0);
      expect(c.events[0]!.json.snapshot.identifiers[0]).toMatchObject({ group: "core", identifier: "main", status: 1, ready: true, details: "running" });
      c.close();
    } finally {
      await proc.kill();
    }
  }, 60_000);
});

async function schema() {
  const { createFileRegistry, fromBinary, create } = await import("@bufbuild/protobuf");
  const { FileDescriptorProtoSchema, FileDescriptorSetSchema } = await import("@bufbuild/protobuf/wkt");
  const { descriptorFiles } = await import("../../../src/transport/grpc/reflection.js");
  const files = descriptorFiles().map((b) => fromBinary(FileDescriptorProtoSchema, b));
  const registry = createFileRegistry(create(FileDescriptorSetSchema, { file: files }));
  return { WatchStatusResponseSchema: registry.getMessage("sr.v1.WatchStatusResponse")! };
}
