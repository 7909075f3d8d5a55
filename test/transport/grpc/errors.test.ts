/**
 * The rich error model (docs/errors.md). End to end, every reason the server
 * produces today, through the TypeScript client against in-process servers,
 * with `grpc-status-details-bin` decoded by the generated google.rpc types:
 * the code, a google.rpc.Status equal to the call's code and message, the
 * ErrorInfo, and BadRequest or ResourceInfo where they belong. Then
 * transport/grpc/errors.ts without a socket, the answers grpc-js gives of its
 * own, and the documents that must name every reason.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import { Client, type Metadata, Server, ServerCredentials, credentials, status as Code } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SrClient, WatchStatusRequest } from "../../../clients/ts/index.js";
import { BadRequest, ErrorInfo, ResourceInfo } from "../../../gen/ts/google/rpc/error_details.js";
import { Status } from "../../../gen/ts/google/rpc/status.js";
import { defaultConfig } from "../../../src/app/config.js";
import { AccessPolicy } from "../../../src/domain/access.js";
import { SrError, groupNotFound, identifierNotFound, invalidArgument, limitReached } from "../../../src/domain/errors.js";
import { Registry } from "../../../src/domain/registry/registry.js";
import { WatchHub } from "../../../src/domain/watch/hub.js";
import { ERROR_DOMAIN, REASONS, type Reason, STATUS_DETAILS_KEY } from "../../../src/protocol/wire.js";
import { Admission } from "../../../src/transport/grpc/admission.js";
import { grpcErrorOf, internalCauseOf, toGrpcError } from "../../../src/transport/grpc/errors.js";
import { createGrpcServer } from "../../../src/transport/grpc/server.js";
import { CallError, ReflectionClient, invokeUnary } from "../../helpers/grpcurl/index.js";
import { revisionOf, uniqueNames } from "../../helpers/rpc.js";
import { type TestServer, startServer } from "../../helpers/server.js";

/** What a failed call leaves to look at: a ServiceError, a CallError, or errors.ts's own status. */
type Failed = { code: number; details: string; metadata?: Metadata | undefined };

interface Expected {
  metadata: Record<string, string>;
  /** ResourceInfo's resource_type and resource_name, for NOT_FOUND. */
  resource?: [string, string];
}

const TYPE = "type.googleapis.com/google.rpc.";

/** The google.rpc.Status of the trailer, with its details unpacked by type. */
function richOf(metadata: Metadata | undefined) {
  const [bytes] = metadata?.get(STATUS_DETAILS_KEY) ?? [];
  expect(bytes, STATUS_DETAILS_KEY).toBeInstanceOf(Buffer);
  const status = Status.decode(bytes as Buffer);
  for (const d of status.details) expect(["ErrorInfo", "BadRequest", "ResourceInfo"].map((t) => TYPE + t)).toContain(d.typeUrl);
  expect(new Set(status.details.map((d) => d.typeUrl)).size, "one detail of each type").toBe(status.details.length);
  const unpack = <T>(name: string, fns: { decode(bytes: Uint8Array): T }) => {
    const found = status.details.find((d) => d.typeUrl === TYPE + name);
    return found && fns.decode(found.value);
  };
  return { status, info: unpack("ErrorInfo", ErrorInfo), badRequest: unpack("BadRequest", BadRequest), resource: unpack("ResourceInfo", ResourceInfo) };
}

/** The whole rich error: code, Status, ErrorInfo, and BadRequest (INVALID_ARGUMENT) or ResourceInfo (NOT_FOUND). */
function expectReason(error: Failed, reason: Reason, expected: Expected): void {
  const code = Code[REASONS[reason].code];
  expect(error.code).toBe(code);
  const rich = richOf(error.metadata);
  expect(rich.status).toMatchObject({ code, message: error.details });
  expect(rich.info).toEqual({ reason, domain: ERROR_DOMAIN, metadata: expected.metadata });
  // Messages keep naming the field, the limit or the revision.
  for (const key of ["field", "limit", "oldest_revision"]) if (expected.metadata[key]) expect(error.details).toContain(expected.metadata[key]);
  if (code === Code.INVALID_ARGUMENT) {
    expect(rich.badRequest?.fieldViolations).toEqual([{ field: expected.metadata.field, description: error.details, reason }]);
  } else {
    expect(rich.badRequest).toBeUndefined();
  }
  if (code === Code.NOT_FOUND) {
    const [resourceType, resourceName] = expected.resource!;
    expect(rich.resource).toEqual({ resourceType, resourceName, owner: "", description: error.details });
  } else {
    expect(rich.resource).toBeUndefined();
  }
}

async function failure(call: () => Promise<unknown>): Promise<Failed> {
  try {
    await call();
  } catch (error) {
    return error as Failed;
  }
  throw new Error("the call succeeded");
}

/** The error a WatchStatus ends with before sending anything. */
function watchFailure(client: SrClient, request: Partial<WatchStatusRequest>): Promise<Failed> {
  return new Promise((resolve, reject) => {
    const call = client.raw.watchStatus(WatchStatusRequest.fromPartial(request));
    call.on("data", () => {
      reject(new Error("the watch started"));
      call.cancel();
    });
    call.on("error", resolve);
  });
}

const HISTORY = 5;
const PER_GROUP = 3;
const RECEIVE_LIMIT = 64 * 1024;
const TOKENS = { ops: "ops-secret", ci: "ci-secret" };
const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

let srv: TestServer;
let c: SrClient;
let raw: Client;
let authSrv: TestServer;
/** A server whose admission has stopped, as during a graceful stop, while it still takes calls. */
let stopping: { server: Server; address: string };
const uniq = uniqueNames();
const clientOf = (address: string, token?: string) => new SrClient(address, token === undefined ? {} : { token });
const closers: (() => unknown)[] = [];

async function startStopping(): Promise<{ server: Server; address: string }> {
  const config = defaultConfig();
  const registry = new Registry(config.limits);
  const gate = new Admission(new AccessPolicy([]));
  const { server } = createGrpcServer(registry, new WatchHub(registry, config.watch), gate, { maxReceiveMessageBytes: 1 << 20 });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
  );
  gate.stop();
  return { server, address: `127.0.0.1:${port}` };
}

beforeAll(async () => {
  srv = await startServer((config) => {
    config.limits.maxIdentifiersPerGroup = PER_GROUP;
    config.limits.maxReceiveMessageBytes = RECEIVE_LIMIT;
    config.watch.history = HISTORY;
  });
  c = clientOf(srv.address);
  raw = new Client(srv.address, credentials.createInsecure());
  authSrv = await startServer((config) => {
    config.tokens = [
      { name: "ops", sha256: sha256(TOKENS.ops), role: "admin" },
      { name: "ci", sha256: sha256(TOKENS.ci), role: "write", groups: ["ci-owned"] },
    ];
  });
  stopping = await startStopping();
});

afterAll(async () => {
  for (const close of closers) close();
  raw?.close();
  c?.close();
  stopping?.server.forceShutdown();
  await Promise.all([srv?.stop(), authSrv?.stop()]);
});

/** A group of its own, registered on the main server. */
async function group(options: { reportCapacity?: number } = {}): Promise<string> {
  const g = uniq("g");
  await c.registerGroup({ group: g, ...options });
  return g;
}

type Arrange = () => Promise<[Failed, Expected]>;

/** One way to make each reason happen, and what its details must say. */
const PRODUCED: Partial<Record<Reason, Arrange>> = {
  GROUP_NOT_FOUND: async () => {
    const g = uniq("absent");
    return [await failure(() => c.getStatus({ group: g })), { metadata: { group: g }, resource: ["sr.v1.Group", g] }];
  },
  IDENTIFIER_NOT_FOUND: async () => {
    const g = await group();
    const error = await failure(() => c.getStatus({ group: g, identifier: "ghost" }));
    return [error, { metadata: { group: g, identifier: "ghost" }, resource: ["sr.v1.Identifier", `${g}/ghost`] }];
  },
  NAME_INVALID: async () => [await failure(() => c.registerGroup({ group: "a/b" })), { metadata: { field: "group" } }],
  NAME_RESERVED: async () => [await failure(() => c.registerIdentifier({ group: uniq("g"), identifier: "ALL" })), { metadata: { field: "identifier" } }],
  GROUP_REQUIRED: async () => [await failure(() => c.listReports({ identifier: "main" })), { metadata: { field: "identifier" } }],
  TEXT_TOO_LONG: async () => {
    const g = await group();
    return [await failure(() => c.setStatus({ group: g, status: 2, details: "x".repeat(2049) })), { metadata: { field: "details" } }];
  },
  UTF8_INVALID: async () => {
    const request = new BinaryWriter().tag(1, WireType.LengthDelimited).bytes(new Uint8Array([0x67, 0xff])).finish();
    return [await failure(() => invokeUnary(raw, "/sr.v1.StatusReportService/GetStatus", request)), { metadata: { field: "group" } }];
  },
  // Arguments are checked before existence: the group need not exist.
  STATUS_ZERO: async () => [await failure(() => c.setStatus({ group: uniq("absent"), status: 0 })), { metadata: { field: "status" } }],
  CAPACITY_OUT_OF_RANGE: async () => [
    await failure(() => c.registerGroup({ group: uniq("g"), reportCapacity: 40_000 })),
    { metadata: { field: "report_capacity" } },
  ],
  DURATION_OUT_OF_RANGE: async () => [
    await failure(() => c.setStatus({ group: uniq("absent"), status: 1, ttl: { seconds: 0n, nanos: 500_000_000 } })),
    { metadata: { field: "ttl" } },
  ],
  // Without a ttl in the write, remove_after needs the identifier's armed lease, so the group must exist.
  TTL_REQUIRED: async () => {
    const g = await group();
    const error = await failure(() => c.setStatus({ group: g, status: 1, removeAfter: { seconds: 60n } }));
    return [error, { metadata: { field: "remove_after", group: g, identifier: "main" } }];
  },
  PAGE_SIZE_INVALID: async () => [await failure(() => c.listStatus({ pageSize: -1 })), { metadata: { field: "page_size" } }],
  PAGE_TOKEN_INVALID: async () => [await failure(() => c.listStatus({ pageToken: "not-a-token" })), { metadata: { field: "page_token" } }],
  REVISION_AHEAD: async () => {
    const ahead = (await revisionOf(c)) + 1000n;
    return [await watchFailure(c, { startRevision: ahead }), { metadata: { field: "start_revision" } }];
  },
  HISTORY_COMPACTED: async () => {
    const g = await group();
    for (let i = 0; i < HISTORY + 2; i++) await c.setStatus({ group: g, status: i % 2 ? 1 : -1 });
    const oldest = (await revisionOf(c)) - BigInt(HISTORY);
    const error = await watchFailure(c, { group: g, startRevision: 1n });
    return [error, { metadata: { field: "start_revision", oldest_revision: String(oldest) } }];
  },
  CAPACITY_MISMATCH: async () => {
    const g = await group({ reportCapacity: 5 });
    return [await failure(() => c.registerGroup({ group: g, reportCapacity: 6 })), { metadata: { field: "report_capacity", group: g } }];
  },
  INTERNAL_GROUP: async () => [await failure(() => c.setStatus({ group: "core", status: 1 })), { metadata: { group: "core" } }],
  REPORTS_DISABLED: async () => {
    const g = await group({ reportCapacity: 0 });
    return [await failure(() => c.addReport({ group: g, text: "hello" })), { metadata: { group: g, identifier: "main" } }];
  },
  LEASE_NOT_ARMED: async () => {
    const g = await group();
    return [await failure(() => c.refreshLease({ group: g })), { metadata: { group: g, identifier: "main" } }];
  },
  LIMIT_REACHED: async () => {
    const g = await group();
    for (let i = 1; i < PER_GROUP; i++) await c.registerIdentifier({ group: g, identifier: `id-${i}` });
    const error = await failure(() => c.registerIdentifier({ group: g, identifier: "one-too-many" }));
    return [error, { metadata: { limit: "limits.max_identifiers_per_group", group: g } }];
  },
  TOKEN_MISSING: async () => [await failure(() => auth().getStatus({ group: "core" })), { metadata: {} }],
  TOKEN_UNKNOWN: async () => [await failure(() => auth("guess").getStatus({ group: "core" })), { metadata: {} }],
  ROLE_FORBIDDEN: async () => [await failure(() => auth(TOKENS.ci).registerGroup({ group: "elsewhere" })), { metadata: { group: "elsewhere" } }],
  SHUTTING_DOWN: async () => {
    const client = clientOf(stopping.address);
    closers.push(() => client.close());
    return [await failure(() => client.getStatus({ group: "core" })), { metadata: {} }];
  },
};

/** Reasons kept for capabilities still to come (storage modes). */
const RESERVED: Reason[] = ["STORAGE_UNAVAILABLE", "REPLICA_BEHIND"];

function auth(token?: string): SrClient {
  const client = clientOf(authSrv.address, token);
  closers.push(() => client.close());
  return client;
}

describe("every reason the server produces, end to end", () => {
  it("covers every reason of REASONS but the reserved ones", () => {
    const all = Object.keys(REASONS) as Reason[];
    expect(Object.keys(PRODUCED).sort()).toEqual(all.filter((r) => !RESERVED.includes(r)).sort());
  });

  it.each(Object.entries(PRODUCED) as [Reason, Arrange][])("%s", async (reason, arrange) => {
    const [error, expected] = await arrange();
    expectReason(error, reason, expected);
  });

  it("reflection is refused with SHUTTING_DOWN and its details too, through the same gate", async () => {
    const client = new Client(stopping.address, credentials.createInsecure());
    const reflection = new ReflectionClient(client, "v1", Date.now() + 5_000);
    try {
      expectReason(await failure(() => reflection.listServices()), "SHUTTING_DOWN", { metadata: {} });
    } finally {
      await reflection.close();
      client.close();
    }
  });
});

describe("answers of grpc-js itself carry no reason, and the server goes on", () => {
  it("a message over the receive limit: RESOURCE_EXHAUSTED", async () => {
    const g = await group();
    const error = await failure(() => c.setStatus({ group: g, status: 2, details: "x".repeat(RECEIVE_LIMIT) }));
    expect(error.code).toBe(Code.RESOURCE_EXHAUSTED);
    expect((await c.getStatus({ group: g })).status?.status).toBe(1);
  });

  it("bytes that are not protobuf: INTERNAL", async () => {
    const error = await failure(() => invokeUnary(raw, "/sr.v1.StatusReportService/GetStatus", new Uint8Array([0x0a, 0x05, 0x61])));
    expect(error).toBeInstanceOf(CallError);
    expect(error.code).toBe(Code.INTERNAL);
    expect((await c.getStatus({ group: "core" })).status?.status).toBe(1);
  });
});

describe("transport/grpc/errors.ts, without a socket", () => {
  it("maps every reason of REASONS to its grpc-js status code, never OK or UNKNOWN", () => {
    for (const [reason, { code }] of Object.entries(REASONS) as [Reason, (typeof REASONS)[Reason]][]) {
      expect(Code[code], reason).toBeTypeOf("number");
      expect([Code.OK, Code.UNKNOWN], reason).not.toContain(Code[code]);
      const error = grpcErrorOf(new SrError(reason, `${reason} happened`));
      expect(error.code, reason).toBe(Code[code]);
      expect(richOf(error.metadata).status, reason).toMatchObject({ code: Code[code], message: `${reason} happened` });
    }
  });

  it("packs the facts: NOT_FOUND with a ResourceInfo, INVALID_ARGUMENT with a BadRequest, limits and revisions", () => {
    expectReason(grpcErrorOf(groupNotFound("Billing")), "GROUP_NOT_FOUND", { metadata: { group: "Billing" }, resource: ["sr.v1.Group", "Billing"] });
    expectReason(grpcErrorOf(identifierNotFound("billing", "db")), "IDENTIFIER_NOT_FOUND", {
      metadata: { group: "billing", identifier: "db" },
      resource: ["sr.v1.Identifier", "billing/db"],
    });
    expectReason(grpcErrorOf(invalidArgument("STATUS_ZERO", "status", "must not be 0")), "STATUS_ZERO", { metadata: { field: "status" } });
    expectReason(grpcErrorOf(limitReached("limits.max_groups", "full")), "LIMIT_REACHED", { metadata: { limit: "limits.max_groups" } });
    const compacted = new SrError("HISTORY_COMPACTED", "start_revision: 3 is older than 40", { field: "start_revision", oldestRevision: 40 });
    expectReason(grpcErrorOf(compacted), "HISTORY_COMPACTED", { metadata: { field: "start_revision", oldest_revision: "40" } });
  });

  it("answers anything else with INTERNAL (never UNKNOWN), no details, and notes the cause for the log", () => {
    const bug = new TypeError("a bug");
    const error = toGrpcError(bug);
    expect(error).toMatchObject({ code: Code.INTERNAL, details: "internal error" });
    expect(error.metadata?.get(STATUS_DETAILS_KEY)).toEqual([]);
    // The listener's interceptor logs it with the method when the call ends (test/app/logging.test.ts).
    expect(internalCauseOf(error.metadata as Metadata)).toBe(bug);
    expect(internalCauseOf(grpcErrorOf(groupNotFound("x")).metadata as Metadata)).toBeUndefined();
    expect(toGrpcError(groupNotFound("x"))).toEqual(grpcErrorOf(groupNotFound("x")));
  });
});

describe("the documents name every reason", () => {
  const read = (path: string) => readFileSync(new URL(`../../../${path}`, import.meta.url), "utf8");
  const reasons = Object.entries(REASONS) as [Reason, (typeof REASONS)[Reason]][];

  it("sr.proto's comments, each with its code", () => {
    const comments = read("proto/sr/v1/sr.proto")
      .split("\n")
      .filter((line) => line.trim().startsWith("//"))
      .join("\n");
    const missing = reasons.filter(([reason, { code }]) => !new RegExp(`\\b${reason} \\(${code}\\)`).test(comments));
    expect(missing.map(([reason]) => reason)).toEqual([]);
  });

  it.each(["README.md", "docs/errors.md"])("%s", (path) => {
    const text = read(path);
    expect(reasons.map(([reason]) => reason).filter((reason) => !text.includes(`\`${reason}\``))).toEqual([]);
  });
});
