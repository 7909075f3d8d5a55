/**
 * End to end with hand-written protobuf bytes, which the typed client cannot
 * send: invalid UTF-8 in a string field is INVALID_ARGUMENT "must be valid
 * UTF-8" naming the field, and bytes that are no protobuf message at all get
 * grpc-js's own INTERNAL, after which the server answers as before.
 */
import { Client, type ServiceError, credentials, status as Code } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GetStatusResponse, RegisterGroupResponse, SrClient } from "../../../clients/ts/index.js";
import { revisionOf, uniqueNames } from "../../helpers/rpc.js";
import { type TestServer, startServer } from "../../helpers/server.js";

let srv: TestServer;
let c: SrClient;
let raw: Client;

beforeAll(async () => {
  srv = await startServer();
  c = new SrClient(srv.address);
  raw = new Client(srv.address, credentials.createInsecure());
});

afterAll(async () => {
  raw?.close();
  c?.close();
  await srv?.stop();
});

const uniq = uniqueNames();

const revision = () => revisionOf(c);

// ---- protobuf by hand ----

function varint(n: number): number[] {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  out.push(n);
  return out;
}

/** A length-delimited field: tag (field << 3 | 2), length, bytes. */
function bytesField(field: number, value: string | Buffer | number[]): Buffer {
  const bytes = typeof value === "string" ? Buffer.from(value, "utf8") : Buffer.from(value);
  return Buffer.concat([Buffer.from([(field << 3) | 2, ...varint(bytes.length)]), bytes]);
}

/** A varint field holding a non-negative number. */
const varintField = (field: number, value: number) => Buffer.from([field << 3, ...varint(value)]);

const message = (...fields: Buffer[]) => Buffer.concat(fields);

/** Calls one unary RPC with the request bytes as given, answering the response bytes. */
function call(method: string, request: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    raw.makeUnaryRequest(
      `/sr.v1.StatusReportService/${method}`,
      (b: Buffer) => b,
      (b: Buffer) => b,
      request,
      (error: ServiceError | null, response?: Buffer) => (error ? reject(error) : resolve(response as Buffer)),
    );
  });
}

/** Opens WatchStatus with the request bytes as given; resolves with its first message or its error. */
function watch(request: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const stream = raw.makeServerStreamRequest(
      "/sr.v1.StatusReportService/WatchStatus",
      (b: Buffer) => b,
      (b: Buffer) => b,
      request,
    );
    stream.on("data", (b: Buffer) => {
      resolve(b);
      stream.cancel();
    });
    stream.on("error", reject);
  });
}

async function fails(run: () => Promise<unknown>, code: Code, pattern: RegExp): Promise<void> {
  const before = await revision();
  await expect(run()).rejects.toMatchObject({ code, details: expect.stringMatching(pattern) });
  expect(await revision(), "a failed call must not change the revision").toBe(before);
}

/** Byte sequences that are not UTF-8. */
const INVALID: [string, number[]][] = [
  ["0xff 0xfe", [0xff, 0xfe]],
  ["a lone continuation byte", [0x61, 0x80, 0x62]],
  ["an overlong '/'", [0xc0, 0xaf]],
  ["an encoded surrogate", [0xed, 0xa0, 0x80]],
  ["a truncated sequence", [0x61, 0xe2, 0x82]],
  ["a code point above U+10FFFF", [0xf4, 0x90, 0x80, 0x80]],
];

describe("the raw client itself", () => {
  it("sends valid UTF-8 written by hand like the typed client does", async () => {
    const g = uniq("raw-é");
    const res = RegisterGroupResponse.decode(await call("RegisterGroup", message(bytesField(1, g), varintField(2, 5))));
    expect(res.created).toBe(true);
    expect((await c.getStatus({ group: g })).status).toMatchObject({ group: g, status: 5 });
    const got = GetStatusResponse.decode(await call("GetStatus", message(bytesField(1, [...Buffer.from(g)]))));
    expect(got.status?.group).toBe(g);
  });
});

describe("invalid UTF-8 is INVALID_ARGUMENT naming the field", () => {
  it.each(INVALID)("in a group name (%s)", async (_, bad) => {
    const name = [...Buffer.from("grp-"), ...bad];
    await fails(() => call("RegisterGroup", message(bytesField(1, name))), Code.INVALID_ARGUMENT, /group: must be valid UTF-8/);
    await fails(() => call("GetStatus", message(bytesField(1, name))), Code.INVALID_ARGUMENT, /group: must be valid UTF-8/);
  });

  it("in a group name, for every RPC that takes one", async () => {
    const name = [...Buffer.from("grp-"), 0xff, 0xfe];
    const rule = /group: must be valid UTF-8/;
    await fails(() => call("RegisterGroup", message(bytesField(1, name))), Code.INVALID_ARGUMENT, rule);
    await fails(() => call("UnregisterGroup", message(bytesField(1, name))), Code.INVALID_ARGUMENT, rule);
    await fails(() => call("GetStatus", message(bytesField(1, name))), Code.INVALID_ARGUMENT, rule);
    await fails(() => call("CheckStatus", message(bytesField(1, name), bytesField(2, "all"))), Code.INVALID_ARGUMENT, rule);
    await fails(() => call("ListStatus", message(bytesField(1, name))), Code.INVALID_ARGUMENT, rule);
    await fails(() => call("ListIdentifiers", message(bytesField(1, name))), Code.INVALID_ARGUMENT, rule);
    await fails(() => call("ListReports", message(bytesField(1, name))), Code.INVALID_ARGUMENT, rule);
    await fails(() => call("RegisterIdentifier", message(bytesField(1, name), bytesField(2, "x"))), Code.INVALID_ARGUMENT, rule);
    await fails(() => call("UnregisterIdentifier", message(bytesField(1, name), bytesField(2, "x"))), Code.INVALID_ARGUMENT, rule);
    await fails(() => call("SetStatus", message(bytesField(1, name), varintField(3, 2))), Code.INVALID_ARGUMENT, rule);
    await fails(() => call("AddReport", message(bytesField(1, name), bytesField(3, "t"))), Code.INVALID_ARGUMENT, rule);
    await fails(() => watch(message(bytesField(1, name))), Code.INVALID_ARGUMENT, rule);
  });

  it.each(INVALID)("in an identifier name (%s)", async (_, bad) => {
    const g = uniq("ids");
    await c.registerGroup({ group: g });
    const id = [...Buffer.from("id-"), ...bad];
    await fails(() => call("RegisterIdentifier", message(bytesField(1, g), bytesField(2, id))), Code.INVALID_ARGUMENT, /identifier: must be valid UTF-8/);
    await fails(() => call("GetStatus", message(bytesField(1, g), bytesField(2, id))), Code.INVALID_ARGUMENT, /identifier: must be valid UTF-8/);
    expect((await c.listIdentifiers({ group: g })).groups[0]?.identifiers).toEqual(["main"]);
  });

  it("in an identifier name, for every RPC that takes one", async () => {
    const g = uniq("ids");
    await c.registerGroup({ group: g });
    const id = [...Buffer.from("id-"), 0xed, 0xa0, 0x80];
    const rule = /identifier: must be valid UTF-8/;
    await fails(() => call("GetStatus", message(bytesField(1, g), bytesField(2, id))), Code.INVALID_ARGUMENT, rule);
    await fails(() => call("CheckStatus", message(bytesField(1, g), bytesField(2, id))), Code.INVALID_ARGUMENT, rule);
    await fails(() => call("RegisterIdentifier", message(bytesField(1, g), bytesField(2, id))), Code.INVALID_ARGUMENT, rule);
    await fails(() => call("UnregisterIdentifier", message(bytesField(1, g), bytesField(2, id))), Code.INVALID_ARGUMENT, rule);
    await fails(() => call("SetStatus", message(bytesField(1, g), bytesField(2, id), varintField(3, 2))), Code.INVALID_ARGUMENT, rule);
    await fails(() => call("AddReport", message(bytesField(1, g), bytesField(2, id), bytesField(3, "t"))), Code.INVALID_ARGUMENT, rule);
    await fails(() => call("ListReports", message(bytesField(1, g), bytesField(2, id))), Code.INVALID_ARGUMENT, rule);
    await fails(() => watch(message(bytesField(1, g), bytesField(2, id))), Code.INVALID_ARGUMENT, rule);
    expect((await c.listIdentifiers({ group: g })).groups[0]?.identifiers).toEqual(["main"]);
  });

  it.each(INVALID)("in details (%s): RegisterGroup, RegisterIdentifier, SetStatus", async (_, bad) => {
    const g = uniq("det");
    await c.registerGroup({ group: g, details: "before" });
    const rule = /details: must be valid UTF-8/;
    await fails(() => call("RegisterGroup", message(bytesField(1, uniq("det-new")), bytesField(3, bad))), Code.INVALID_ARGUMENT, rule);
    await fails(() => call("RegisterIdentifier", message(bytesField(1, g), bytesField(2, "x"), bytesField(4, bad))), Code.INVALID_ARGUMENT, rule);
    await fails(() => call("SetStatus", message(bytesField(1, g), varintField(3, 3), bytesField(4, bad))), Code.INVALID_ARGUMENT, rule);
    expect((await c.getStatus({ group: g })).status).toMatchObject({ status: 1, details: "before" });
  });

  it.each(INVALID)("in a report's text (%s)", async (_, bad) => {
    const g = uniq("text");
    await c.registerGroup({ group: g });
    await fails(() => call("AddReport", message(bytesField(1, g), bytesField(3, bad))), Code.INVALID_ARGUMENT, /text: must be valid UTF-8/);
    expect((await c.listReports({ group: g, identifier: "main" })).groups[0]?.identifiers[0]?.reports).toEqual([]);
  });

  it("in a page token", async () => {
    const bad = [0x41, 0xff, 0x42];
    for (const [method, field] of [
      ["ListStatus", 3],
      ["ListIdentifiers", 3],
      ["ListReports", 4],
    ] as const) {
      await fails(() => call(method, message(bytesField(field, bad))), Code.INVALID_ARGUMENT, /page_token/);
    }
  });
});

describe("bytes that are not a protobuf message", () => {
  const garbage: [string, Buffer][] = [
    ["a length past the end", Buffer.from([0x0a, 0x05, 0x61])],
    ["a varint that never ends", Buffer.from([0x18, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff])],
    ["an invalid wire type", Buffer.from([0x0e, 0x01])],
    ["a truncated tag", Buffer.from([0x80])],
  ];

  it.each(garbage)("%s: INTERNAL (grpc-js's own answer), never UNKNOWN, and the server answers the next call", async (_, bytes) => {
    for (const method of ["GetStatus", "SetStatus", "RegisterGroup", "ListReports"]) {
      await fails(() => call(method, bytes), Code.INTERNAL, /deserializ/i);
      expect((await c.getStatus({ group: "core" })).status?.status).toBe(1);
    }
    await fails(() => watch(bytes), Code.INTERNAL, /deserializ/i);
    const g = uniq("after-garbage");
    expect((await c.registerGroup({ group: g })).created).toBe(true);
  });
});
