// The TypeScript runner of the behaviour table (scenarios.json), on
// clients/ts: carries out every scenario and prints one JSON line each.
//
//   tsx test/crosslang/behaviour/runner.ts --target ADDR --proxy ADDR --control URL
import { parseArgs } from "node:util";
import { status } from "@grpc/grpc-js";
import { SrClient, SrError } from "../../../clients/ts/index.js";
import type { DeepPartial, WatchStatusRequest, WatchStatusResponse } from "../../../gen/ts/sr/v1/sr.js";
import { type EventJson, eventJson } from "../shapes.js";

const { values: args } = parseArgs({ options: { target: { type: "string" }, proxy: { type: "string" }, control: { type: "string" } } });
const sr = new SrClient(args.target!);
const viaProxy = new SrClient(args.proxy!);

type Result = Record<string, unknown>;

function errorResult(error: unknown): Result {
  if (!(error instanceof SrError)) throw error;
  const resource = error.resourceInfo ? { type: error.resourceInfo.resourceType, name: error.resourceInfo.resourceName } : null;
  return {
    code: status[error.code], // grpc-js names the codes as google.rpc.Code does
    reason: error.reason ?? "",
    domain: error.domain ?? "",
    metadata: { ...error.errorMetadata },
    resource,
    fields: error.fieldViolations.map((v) => v.field),
  };
}

async function failure(call: () => Promise<unknown>): Promise<Result> {
  try {
    await call();
  } catch (error) {
    return errorResult(error);
  }
  throw new Error("the call succeeded");
}

/** A watch read one message at a time, with revisions relative to its first message. */
class Watched {
  private readonly stop = new AbortController();
  private readonly messages: AsyncGenerator<WatchStatusResponse>;
  private base: number | undefined;

  constructor(client: SrClient, request: DeepPartial<WatchStatusRequest>, resume = true) {
    this.messages = client.watch(request, { signal: this.stop.signal, resume, backoff: { initialMs: 50, maxMs: 500 } });
  }

  async next(): Promise<EventJson> {
    const { value, done } = await this.messages.next();
    if (done) throw new Error("the watch ended");
    const event = eventJson(value);
    this.base ??= event.revision as number;
    return { ...event, revision: (event.revision as number) - this.base };
  }

  async take(n: number): Promise<EventJson[]> {
    const out: EventJson[] = [];
    while (out.length < n) out.push(await this.next());
    return out;
  }

  close(): void {
    this.stop.abort();
  }
}

async function harness(action: "drop" | "accept"): Promise<void> {
  const answer = await fetch(`${args.control}/${action}`, { method: "POST" });
  if (!answer.ok) throw new Error(`harness ${action}: ${answer.status}`);
}

const scenarios: Record<string, () => Promise<Result>> = {
  async connect() {
    const server = await sr.checkStatus({ group: "core" });
    const created = (await sr.registerGroup({ group: "bt-connect", status: -1, details: "starting", reportCapacity: 5 })).created;
    const again = (await sr.registerGroup({ group: "bt-connect", reportCapacity: 5 })).created;
    const identifier = (await sr.registerIdentifier({ group: "bt-connect", identifier: "db", status: 1 })).created;
    return { server: { ready: server.ready, status: server.status }, created, created_again: again, identifier_created: identifier };
  },

  async publish_read() {
    const g = "bt-read";
    await sr.registerGroup({ group: g, status: -1, details: "starting", reportCapacity: 2 });
    const set = await sr.setStatus({ group: g, status: 1, details: "running" });
    const same = await sr.setStatus({ group: g, status: 1, details: "running" });
    const sequences: number[] = [];
    for (const text of ["one", "two", "three"]) sequences.push(Number((await sr.addReport({ group: g, text })).sequence));
    const read = (await sr.getStatus({ group: g })).status!;
    await sr.setStatus({ group: g, status: 1 });
    const cleared = (await sr.getStatus({ group: g })).status!;
    const all = await sr.checkStatus({ group: g, identifier: "all" });
    return {
      set: { changed: set.changed, old_status: set.oldStatus },
      set_same: { changed: same.changed, same_revision: same.revision === set.revision },
      report_sequences: sequences,
      read: { status: read.status, details: read.details ?? null, ready: read.ready },
      cleared_details: cleared.details ?? null,
      check_all: { ready: all.ready, status: all.status },
    };
  },

  async errors() {
    const g = "bt-errors";
    await sr.registerGroup({ group: g, reportCapacity: 0 });
    return {
      group_not_found: await failure(() => sr.getStatus({ group: "bt-nope" })),
      identifier_not_found: await failure(() => sr.getStatus({ group: g, identifier: "nope" })),
      status_zero: await failure(() => sr.setStatus({ group: g, status: 0 })),
      name_reserved: await failure(() => sr.registerIdentifier({ group: g, identifier: "all" })),
      reports_disabled: await failure(() => sr.addReport({ group: g, text: "x" })),
      internal_group: await failure(() => sr.setStatus({ group: "core", status: 1 })),
      capacity_mismatch: await failure(() => sr.registerGroup({ group: g, reportCapacity: 7 })),
    };
  },

  async watch() {
    const g = "bt-watch";
    await sr.registerGroup({ group: g, status: -1, details: "starting" });
    const w = new Watched(sr, { group: g, includeDetails: true, includeReports: true, includeRegistrations: true });
    const snapshot = await w.next();
    await sr.setStatus({ group: g, status: 1, details: "up" });
    await sr.addReport({ group: g, text: "hello" });
    await sr.registerIdentifier({ group: g, identifier: "db", status: 2 });
    await sr.setStatus({ group: g, status: 1, details: "" });
    const events = await w.take(4);
    w.close();
    return { snapshot, events };
  },

  async resume() {
    const g = "bt-resume";
    await sr.registerGroup({ group: g });
    const w = new Watched(viaProxy, { group: g, includeReports: true });
    await w.next(); // the snapshot
    await sr.setStatus({ group: g, status: -2, details: "one" });
    const before = await w.take(1);
    await harness("drop");
    await sr.setStatus({ group: g, status: -3, details: "two" });
    await sr.addReport({ group: g, text: "while away" });
    await harness("accept");
    const after = await w.take(2);
    w.close();
    return { before_drop: before, after_drop: after };
  },

  async resync() {
    const g = "bt-resync";
    const start = (await sr.registerGroup({ group: g })).revision;
    for (let n = 1; n <= 6; n++) await sr.setStatus({ group: g, status: -n, details: `n${n}` });
    const once = new Watched(sr, { group: g, startRevision: start }, false);
    const compacted = await once.next().then(
      () => {
        throw new Error("the watch from a compacted revision succeeded");
      },
      (error: unknown) => error,
    );
    const { code, reason, domain } = errorResult(compacted);
    const oldest = (compacted as SrError).oldestRevision;
    const resumed = new Watched(sr, { group: g, startRevision: start });
    const first = await resumed.next();
    resumed.close();
    return { compacted: { code, reason, domain, oldest_after_start: oldest !== undefined && oldest > start }, first };
  },

  async lease() {
    const g = "bt-lease";
    await sr.registerGroup({ group: g, status: -1 });
    const shortTtl = await failure(() => sr.setStatus({ group: g, status: 1, ttl: { seconds: 0n, nanos: 500_000_000 } }));
    const notArmed = await failure(() => sr.refreshLease({ group: g }));
    const publisher = await sr.publish({ group: g, status: 1, details: "leased", ttlMs: 1000 });
    const refreshed = await deadlineMoves(g);
    await sr.setStatus({ group: g, status: 2, details: "other" }); // another writer
    await deadlineMoves(g); // the publisher refreshed after that write...
    const kept = (await sr.getStatus({ group: g })).status!; // ...and did not overwrite it
    const w = new Watched(sr, { group: g, startRevision: kept.revision });
    publisher.stop();
    const { type, status, old_status, details, ready } = await w.next();
    w.close();
    return {
      short_ttl: { code: shortTtl.code, reason: shortTtl.reason },
      not_armed: { code: notArmed.code, reason: notArmed.reason },
      refreshed,
      kept: { status: kept.status, details: kept.details ?? null },
      expired: { type, status, old_status, details, ready },
    };
  },
};

/** Polls the lease's deadline until a refresh moves it past where it is now (true), or 10 s pass. */
async function deadlineMoves(group: string): Promise<boolean> {
  const deadline = async () => (await sr.getStatus({ group })).status?.leaseExpireTime?.getTime() ?? 0;
  const now = await deadline();
  for (const giveUp = Date.now() + 10_000; Date.now() < giveUp; await new Promise((r) => setTimeout(r, 25))) {
    if ((await deadline()) > now) return true;
  }
  return false;
}

try {
  for (const [name, run] of Object.entries(scenarios)) {
    console.log(JSON.stringify({ scenario: name, result: await run() }));
  }
} finally {
  sr.close();
  viaProxy.close();
}
