/**
 * Hostile input against every RPC, property-based (fast-check, fixed seed and
 * run count): random and huge strings, control characters, names that are
 * Object.prototype's own, extreme and zero integers, missing fields, random
 * and forged page tokens, extreme durations. Whatever comes, the server
 * answers: OK, or an error whose code is its reason's (docs/errors.md), or
 * grpc-js's own RESOURCE_EXHAUSTED for a message over the receive limit; never
 * UNKNOWN or INTERNAL. A failed call changes nothing (the registry and its
 * revision as before), and a read changes nothing either.
 */
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SrClient } from "../../../clients/ts/index.js";
import {
  RECEIVE_LIMIT,
  SEED,
  answered,
  duration,
  expectOwnAnswer,
  fingerprint,
  int32,
  name,
  optional,
  pageToken,
  request,
  text,
  uint32,
  uint64,
} from "../../helpers/hostile.js";
import { type TestServer, startServer } from "../../helpers/server.js";
import { waitFor } from "../../helpers/wait.js";

const RUNS = 40;

let srv: TestServer;
let c: SrClient;

beforeAll(async () => {
  srv = await startServer((config) => {
    // Small limits, so random registrations reach them within the run count.
    config.limits.maxGroups = 30;
    config.limits.maxIdentifiersPerGroup = 6;
    config.limits.maxIdentifiers = 60;
    config.limits.maxReceiveMessageBytes = RECEIVE_LIMIT;
  });
  c = new SrClient(srv.address);
  await c.registerGroup({ group: "alpha" });
  await c.registerIdentifier({ group: "alpha", identifier: "x" });
  await c.registerIdentifier({ group: "alpha", identifier: "nocap", reportCapacity: 0 });
  await c.addReport({ group: "alpha", identifier: "x", text: "seeded" });
  await c.registerGroup({ group: "Beta", status: -3, details: "d" });
});

afterAll(async () => {
  c?.close();
  await srv?.stop();
});

interface Rpc {
  name: string;
  arbitrary: fc.Arbitrary<Record<string, unknown>>;
  call(request: Record<string, unknown>): Promise<unknown>;
  writes: boolean;
}

const target = { group: name, identifier: name };
const listing = { group: name, pageSize: int32, pageToken };
const lease = { ttl: optional(duration), removeAfter: optional(duration) };
const registration = { status: optional(int32), details: optional(text), reportCapacity: optional(uint32), ...lease };

const RPCS: Rpc[] = [
  { name: "GetStatus", arbitrary: request(target), call: (r) => c.getStatus(r), writes: false },
  { name: "CheckStatus", arbitrary: request(target), call: (r) => c.checkStatus(r), writes: false },
  { name: "ListStatus", arbitrary: request(listing), call: (r) => c.listStatus(r), writes: false },
  { name: "ListIdentifiers", arbitrary: request(listing), call: (r) => c.listIdentifiers(r), writes: false },
  { name: "ListReports", arbitrary: request({ ...listing, identifier: name }), call: (r) => c.listReports(r), writes: false },
  { name: "RegisterGroup", arbitrary: request({ group: name, ...registration }), call: (r) => c.registerGroup(r), writes: true },
  { name: "RegisterIdentifier", arbitrary: request({ ...target, ...registration }), call: (r) => c.registerIdentifier(r), writes: true },
  { name: "SetStatus", arbitrary: request({ ...target, status: int32, details: optional(text), ...lease }), call: (r) => c.setStatus(r), writes: true },
  { name: "AddReport", arbitrary: request({ ...target, text }), call: (r) => c.addReport(r), writes: true },
  { name: "UnregisterIdentifier", arbitrary: request(target), call: (r) => c.unregisterIdentifier(r), writes: true },
  { name: "UnregisterGroup", arbitrary: request({ group: name }), call: (r) => c.unregisterGroup(r), writes: true },
  { name: "RefreshLease", arbitrary: request({ ...target, ttl: optional(duration) }), call: (r) => c.refreshLease(r), writes: true },
];

describe("every RPC answers random requests with its own answer, and a failure changes nothing", () => {
  it.each(RPCS.map((rpc) => [rpc.name, rpc] as const))("%s", async (_, rpc) => {
    await fc.assert(
      fc.asyncProperty(rpc.arbitrary, (req) => answered(srv.registry, () => rpc.call(req), rpc.writes)),
      { seed: SEED, numRuns: RUNS },
    );
  });

  it("WatchStatus: a stream opens or fails with its reason, and every watcher is freed once cancelled", async () => {
    const watchRequest = request({ ...target, startRevision: optional(uint64), includeDetails: fc.boolean(), includeReports: fc.boolean(), includeRegistrations: fc.boolean() });
    await fc.assert(
      fc.asyncProperty(watchRequest, async (req) => {
        const before = fingerprint(srv.registry);
        const stop = new AbortController();
        const opened = srv.hub.watcherCount + 1;
        const stream = c.watch(req, { resume: false, signal: stop.signal })[Symbol.asyncIterator]();
        const first = stream.next().then(() => "event", (error: unknown) => error);
        // Watching from the current revision sends nothing yet: the server's own count says it is open.
        const outcome = await Promise.race([first, waitFor(() => srv.hub.watcherCount >= opened).then(() => "open")]);
        if (outcome !== "open" && outcome !== "event") expectOwnAnswer(outcome);
        stop.abort();
        await first;
        await waitFor(() => srv.hub.watcherCount === 0, 5_000, "every watcher freed");
        expect(fingerprint(srv.registry)).toBe(before);
      }),
      { seed: SEED, numRuns: RUNS },
    );
  });

  it("the server still answers, as before", async () => {
    expect((await c.getStatus({ group: "core" })).status?.status).toBe(1);
    expect(srv.stats()).toMatchObject({ watchers: 0, hubTimers: 0, registryListeners: 1 });
  });
});
