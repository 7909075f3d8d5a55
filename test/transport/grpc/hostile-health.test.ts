/**
 * Hostile names against grpc.health.v1 and reflection. Names are data: a
 * group called `__proto__` (or `constructor`, `toString`) is listed by health
 * List as any other (List's map is read here from the wire bytes, into a Map,
 * since a plain object cannot hold such a key either), and Check finds it. Then
 * random service names (fast-check, fixed seed and run count): Check answers a
 * status or NOT_FOUND with its reason, Watch sends at once the status Check
 * gives (SERVICE_UNKNOWN for an unknown name) and frees its watcher when
 * cancelled, and reflection answers every request in-band.
 */
import { BinaryReader } from "@bufbuild/protobuf/wire";
import { Client, Metadata, type ServiceError, credentials, status as Code } from "@grpc/grpc-js";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SrClient, SrError } from "../../../clients/ts/index.js";
import { HealthCheckResponse, HealthCheckResponse_ServingStatus as Serving, HealthClient } from "../../../gen/ts/health/v1/health.js";
import { HOSTILE, KNOWN, SEED, expectOwnAnswer, fingerprint, name } from "../../helpers/hostile.js";
import { type TestServer, startServer } from "../../helpers/server.js";
import { waitFor, withTimeout } from "../../helpers/wait.js";

const RUNS = 60;
const PROTOTYPE_NAMES = ["__proto__", "constructor", "toString", "hasOwnProperty", "valueOf"];

let srv: TestServer;
let c: SrClient;
let health: HealthClient;
let raw: Client;

beforeAll(async () => {
  srv = await startServer();
  c = new SrClient(srv.address);
  health = new HealthClient(srv.address, credentials.createInsecure());
  raw = new Client(srv.address, credentials.createInsecure());
  for (const group of PROTOTYPE_NAMES) await c.registerGroup({ group });
  await c.setStatus({ group: "__proto__", status: -1 });
  await c.registerGroup({ group: "alpha" });
  await c.registerIdentifier({ group: "alpha", identifier: "x", status: -2 });
});

afterAll(async () => {
  raw?.close();
  health?.close();
  c?.close();
  await srv?.stop();
});

const identity = (b: Buffer) => b;

/** HealthListResponse's `statuses` map as sent: entry key → HealthCheckResponse.status. */
function listEntries(bytes: Buffer): Map<string, number> {
  const entries = new Map<string, number>();
  const response = new BinaryReader(bytes);
  while (response.pos < response.len) {
    const [field, wireType] = response.tag();
    if (field !== 1) {
      response.skip(wireType);
      continue;
    }
    const entry = new BinaryReader(response.bytes());
    let key = "";
    let serving = 0;
    while (entry.pos < entry.len) {
      const [f, w] = entry.tag();
      if (f === 1) key = entry.string();
      else if (f === 2) serving = HealthCheckResponse.decode(entry.bytes()).status;
      else entry.skip(w);
    }
    entries.set(key, serving);
  }
  return entries;
}

function healthList(): Promise<Map<string, number>> {
  return new Promise((resolve, reject) => {
    raw.makeUnaryRequest("/grpc.health.v1.Health/List", identity, identity, Buffer.alloc(0), (error: ServiceError | null, bytes?: Buffer) =>
      error ? reject(error) : resolve(listEntries(bytes as Buffer)),
    );
  });
}

function check(service: string): Promise<Serving> {
  return new Promise((resolve, reject) => {
    health.check({ service }, new Metadata(), { deadline: Date.now() + 5_000 }, (error: ServiceError | null, response: HealthCheckResponse) =>
      error ? reject(error) : resolve(response.status),
    );
  });
}

describe("names are data: Object.prototype's names are groups like any other", () => {
  it("health List answers every one of them, with its status", async () => {
    const listed = await healthList();
    expect(listed.get("__proto__")).toBe(Serving.NOT_SERVING);
    for (const group of PROTOTYPE_NAMES.slice(1)) expect(listed.get(group), group).toBe(Serving.SERVING);
    expect(listed.get("")).toBe(Serving.SERVING);
    expect(listed.size).toBe(PROTOTYPE_NAMES.length + 3); // "", core, alpha
  });

  it("Check finds each of them, as List lists them", async () => {
    const listed = await healthList();
    for (const group of PROTOTYPE_NAMES) expect(await check(group), group).toBe(listed.get(group));
  });
});

describe("a service name far too long to name anything", () => {
  it("Check answers NOT_FOUND at once, naming it cut short, and the next Check answers too", async () => {
    for (const length of [20_000, 65_000, 2_049]) {
      const error = SrError.from(await check("t".repeat(length)).then(() => expect.fail("a status"), (e: ServiceError) => e));
      expect(error.code, error.details).toBe(Code.NOT_FOUND);
      expect(error.reason).toBe("GROUP_NOT_FOUND");
      expect(error.details).toContain(`(${length} bytes)`);
      expect(error.errorMetadata.group?.length).toBeLessThan(100);
    }
    expect(await check("alpha")).toBe(Serving.NOT_SERVING);
  });
});

/** Health service names: a group, `group/identifier`, or anything at all. */
const service = fc.oneof(
  name,
  fc.tuple(fc.constantFrom(...KNOWN, ...PROTOTYPE_NAMES, ...HOSTILE), name).map(([g, i]) => `${g}/${i}`),
  fc.constantFrom("", "sr.v1.StatusReportService", "alpha/x", "alpha/X", "ALPHA/main", "alpha/all", "/", "//", "core/"),
);

/** Check's answer, or undefined when it answers NOT_FOUND (an unknown name). */
async function checked(name: string): Promise<Serving | undefined> {
  try {
    return await check(name);
  } catch (error) {
    expectOwnAnswer(error);
    const e = SrError.from(error as ServiceError);
    expect(e.code).toBe(Code.NOT_FOUND);
    expect(["GROUP_NOT_FOUND", "IDENTIFIER_NOT_FOUND"]).toContain(e.reason);
    return undefined;
  }
}

describe("random service names", () => {
  it("Check: a status, or NOT_FOUND naming what is missing; nothing changes", async () => {
    await fc.assert(
      fc.asyncProperty(service, async (name) => {
        const before = fingerprint(srv.registry);
        const serving = await checked(name);
        if (serving !== undefined) expect([Serving.SERVING, Serving.NOT_SERVING]).toContain(serving);
        expect(fingerprint(srv.registry)).toBe(before);
      }),
      { seed: SEED, numRuns: RUNS },
    );
  });

  it("Watch: the status Check gives (SERVICE_UNKNOWN when it says NOT_FOUND) at once, and the watcher freed once cancelled", async () => {
    await fc.assert(
      fc.asyncProperty(service, async (name) => {
        const expected = (await checked(name)) ?? Serving.SERVICE_UNKNOWN;
        const stream = health.watch({ service: name });
        const first = await withTimeout(
          new Promise<Serving>((resolve, reject) => {
            stream.once("data", (m: HealthCheckResponse) => resolve(m.status));
            stream.once("error", reject);
          }),
          5_000,
          `the first status of Watch(${JSON.stringify(name)})`,
        );
        stream.on("error", () => {}); // the cancel below
        stream.cancel();
        expect(first).toBe(expected);
        await waitFor(() => srv.hub.watcherCount === 0, 5_000, "the health watcher freed");
      }),
      { seed: SEED, numRuns: RUNS },
    );
  });

  it("reflection answers every random symbol and file name in-band, and goes on serving", async () => {
    const stream = raw.makeBidiStreamRequest("/grpc.reflection.v1.ServerReflection/ServerReflectionInfo", identity, identity);
    const answers: Buffer[] = [];
    stream.on("data", (b: Buffer) => answers.push(b));
    stream.on("error", () => {});
    const field = (tag: number, value: string) => {
      const bytes = Buffer.from(value, "utf8");
      return Buffer.concat([Buffer.from([(tag << 3) | 2]), encodeVarint(bytes.length), bytes]);
    };
    // file_by_filename (3), file_containing_symbol (4), list_services (7).
    const requests = fc.sample(fc.tuple(fc.constantFrom(3, 4, 7), name), { seed: SEED, numRuns: RUNS });
    for (const [tag, value] of requests) stream.write(field(tag, value));
    await waitFor(() => answers.length === requests.length, 10_000, () => `${requests.length} reflection answers, got ${answers.length}`);
    stream.end();
    expect((await c.getStatus({ group: "core" })).status?.status).toBe(1);
  });
});

function encodeVarint(n: number): Buffer {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  out.push(n);
  return Buffer.from(out);
}
