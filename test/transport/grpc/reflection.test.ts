/**
 * gRPC server reflection (docs/model.md, Health and reflection): v1 and v1alpha serve the real file
 * descriptors, so strict clients such as grpcurl can list, describe and call
 * with nothing but what the server tells them.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { fromBinary, fromJson, toBinary, toJson } from "@bufbuild/protobuf";
import { type FileDescriptorProto, FileDescriptorProtoSchema, FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";
import { Client, Server, ServerCredentials, type ServerUnaryCall, credentials, type sendUnaryData } from "@grpc/grpc-js";
import { ReflectionService } from "@grpc/reflection";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type GetStatusRequest, StatusReportServiceService } from "../../../gen/ts/sr/v1/sr.js";
import { groupNotFound } from "../../../src/domain/errors.js";
import { grpcErrorOf } from "../../../src/transport/grpc/errors.js";
import {
  ReflectionClient,
  ReflectionErrorResponse,
  type ReflectionVersion,
  expectCase,
  invokeUnary,
  leadingComment,
  readStatus,
  resolveSymbols,
  runGrpcurl,
} from "../../helpers/grpcurl/index.js";
import { type TestServer, startServer } from "../../helpers/server.js";

const INVALID_ARGUMENT = 3;
const NOT_FOUND = 5;
const SERVICES = ["grpc.health.v1.Health", "sr.v1.StatusReportService"];
const RPC_DETAILS = ["google.rpc.Status", "google.rpc.ErrorInfo", "google.rpc.BadRequest", "google.rpc.ResourceInfo"];

describe("server reflection", () => {
  let srv: TestServer;
  let client: Client;
  const streams: ReflectionClient[] = [];
  const open = (version: ReflectionVersion) => {
    const r = new ReflectionClient(client, version, Date.now() + 10_000);
    streams.push(r);
    return r;
  };

  beforeAll(async () => {
    srv = await startServer();
    client = new Client(srv.address, credentials.createInsecure());
  });

  afterAll(async () => {
    await Promise.all(streams.map((s) => s.close()));
    client?.close();
    await srv?.stop();
  });

  for (const version of ["v1", "v1alpha"] as const) {
    describe(`grpc.reflection.${version}`, () => {
      it("lists the services", async () => {
        const services = await open(version).listServices();
        expect([...services].sort()).toEqual(expect.arrayContaining(SERVICES));
      });

      it("serves files whose imports all resolve, with the services in them", async () => {
        const reflection = open(version);
        const services = await reflection.listServices();
        const { registry, files } = await resolveSymbols(reflection, services);
        for (const name of services) expect(registry.getService(name), name).toBeDefined();
        const byName = new Map(files.map((f) => [f.name, f]));
        // sr.proto does not import google/rpc: those files are served beside it.
        expect(byName.get("sr/v1/sr.proto")?.dependency).toEqual(["google/protobuf/duration.proto", "google/protobuf/timestamp.proto"]);
        expect(byName.has("google/protobuf/timestamp.proto")).toBe(true);
        // Message fields of imported types resolve to the real Timestamp and Duration.
        const fields = registry.getMessage("sr.v1.IdentifierStatus")?.fields;
        const updateTime = fields?.find((f) => f.name === "update_time");
        expect(updateTime?.message?.typeName).toBe("google.protobuf.Timestamp");
        expect(updateTime?.message?.file.proto.name).toBe("google/protobuf/timestamp.proto");
        const leaseTtl = fields?.find((f) => f.name === "lease_ttl");
        expect(leaseTtl?.message?.typeName).toBe("google.protobuf.Duration");
        expect(leaseTtl?.message?.file.proto.name).toBe("google/protobuf/duration.proto");
      });

      it("serves google.rpc's Status and error details, their imports resolved", async () => {
        const { registry, files } = await resolveSymbols(open(version), RPC_DETAILS);
        for (const name of RPC_DETAILS) expect(registry.getMessage(name), name).toBeDefined();
        const byName = new Map(files.map((f) => [f.name, f]));
        expect(byName.get("google/rpc/error_details.proto")?.dependency).toEqual(["google/protobuf/duration.proto"]);
        expect(registry.getMessage("google.rpc.RetryInfo")?.fields[0]?.message?.typeName).toBe("google.protobuf.Duration");
        expect(byName.get("google/rpc/status.proto")?.dependency).toEqual(["google/protobuf/any.proto"]);
      });

      it("serves google/protobuf/timestamp.proto by file name", async () => {
        const [file, ...rest] = await open(version).fileByFilename("google/protobuf/timestamp.proto");
        expect(file?.name).toBe("google/protobuf/timestamp.proto");
        expect(file?.package).toBe("google.protobuf");
        expect(file?.messageType.map((m) => m.name)).toEqual(["Timestamp"]);
        expect(rest).toEqual([]);
      });

      it("keeps the comments of sr.v1", async () => {
        const reflection = open(version);
        const { registry } = await resolveSymbols(reflection, ["sr.v1.StatusReportService"]);
        const service = registry.getService("sr.v1.StatusReportService")!;
        expect(leadingComment(service)).toMatch(/StatusReportService publishes and reads the readiness/);
        for (const method of service.methods) expect(leadingComment(method), method.name).toMatch(new RegExp(`^ ${method.name} `));
        const status = registry.getMessage("sr.v1.IdentifierStatus")!;
        expect(leadingComment(status)).toMatch(/IdentifierStatus/);
        expect(leadingComment(status.fields.find((f) => f.name === "status")!)).toMatch(/> 0 ready/);
      });

      it("answers an unknown symbol or file with NOT_FOUND in error_response, and the stream goes on", async () => {
        const reflection = open(version);
        const unknownSymbol = await reflection.request({ fileContainingSymbol: "sr.v1.NoSuchThing" });
        expect(unknownSymbol.messageResponse.case).toBe("errorResponse");
        expect(() => expectCase(unknownSymbol, "fileDescriptorResponse")).toThrow(ReflectionErrorResponse);
        expect(unknownSymbol.messageResponse.value).toMatchObject({ errorCode: NOT_FOUND });

        const unknownFile = await reflection.request({ fileByFilename: "sr/v1/nope.proto" });
        expect(unknownFile.messageResponse).toMatchObject({ case: "errorResponse", value: { errorCode: NOT_FOUND } });

        // The same stream still answers.
        expect(await reflection.listServices()).toEqual(expect.arrayContaining(SERVICES));
      });
    });
  }

  it("v1 and v1alpha serve the same files", async () => {
    const encode = async (version: ReflectionVersion) => {
      const reflection = open(version);
      const { files } = await resolveSymbols(reflection, SERVICES);
      return files.map((f) => Buffer.from(toBinary(FileDescriptorProtoSchema, f)).toString("base64")).sort();
    };
    expect(await encode("v1alpha")).toEqual(await encode("v1"));
  });

  it("calls GetStatus with nothing but reflected types", async () => {
    const reflection = open("v1");
    const { registry } = await resolveSymbols(reflection, ["sr.v1.StatusReportService"]);
    const method = registry.getService("sr.v1.StatusReportService")!.methods.find((m) => m.name === "GetStatus")!;
    const request = toBinary(method.input, fromJson(method.input, { group: "core", identifier: "main" }));
    const response = fromBinary(method.output, await invokeUnary(client, method, request, { deadline: Date.now() + 5_000 }));
    const json = toJson(method.output, response, { registry }) as {
      status: { group: string; identifier: string; status: number; details: string; ready: boolean; updateTime: string };
    };
    expect(json.status).toMatchObject({ group: "core", identifier: "main", status: 1, details: "running", ready: true });
    expect(Date.parse(json.status.updateTime)).not.toBeNaN();
  });

  it("shows a NOT_FOUND's ErrorInfo and ResourceInfo as grpcurl does, exiting 64 + the code", async () => {
    const result = await runGrpcurl(["-plaintext", "-d", '{"group": "nope"}', "localhost:50051", "sr.v1.StatusReportService/GetStatus"], srv.address);
    expect(result).toMatchObject({ code: 64 + NOT_FOUND, stdout: "" });
    const printed = readStatus(result.stderr);
    expect(printed).toMatchObject({ code: "NotFound", message: "group 'nope' not found" });
    expect(printed.details).toEqual([
      { "@type": "type.googleapis.com/google.rpc.ErrorInfo", domain: "sr.v1", metadata: { group: "nope" }, reason: "GROUP_NOT_FOUND" },
      {
        "@type": "type.googleapis.com/google.rpc.ResourceInfo",
        description: "group 'nope' not found",
        resourceName: "nope",
        resourceType: "sr.v1.Group",
      },
    ]);
    // jsonpb writes an Any as a Go map: "@type" first, then every key sorted.
    expect(Object.keys(printed.details[0]!)).toEqual(["@type", "domain", "metadata", "reason"]);
  });

  it("shows the BadRequest of a zero status, with Go's escapes of < and >", async () => {
    const result = await runGrpcurl(
      ["-plaintext", "-d", '{"group": "nope", "status": 0}', "localhost:50051", "sr.v1.StatusReportService/SetStatus"],
      srv.address,
    );
    expect(result.code).toBe(64 + INVALID_ARGUMENT);
    const printed = readStatus(result.stderr);
    expect(printed.code).toBe("InvalidArgument");
    const [info, badRequest] = printed.details;
    expect(info).toMatchObject({ reason: "STATUS_ZERO", domain: "sr.v1", metadata: { field: "status" } });
    expect(badRequest).toEqual({
      "@type": "type.googleapis.com/google.rpc.BadRequest",
      fieldViolations: [{ field: "status", description: printed.message, reason: "STATUS_ZERO" }],
    });
    expect(result.stderr).toContain(String.raw`"description": "status: must not be 0 (\u003e 0 is ready, \u003c 0 is not ready)"`);
  });

  it("describes google.rpc.ErrorInfo, comments included", async () => {
    const result = await runGrpcurl(["-plaintext", "localhost:50051", "describe", "google.rpc.ErrorInfo"], srv.address);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^google\.rpc\.ErrorInfo is a message:\n\/\/ Describes the cause of the error/);
    for (const line of ["string reason = 1;", "string domain = 2;", "map<string, string> metadata = 3;"]) expect(result.stdout).toContain(line);
  });

  it("keeps proto3 optional presence: empty details and no details differ over JSON", async () => {
    const call = (method: string, data: object) =>
      runGrpcurl(["-plaintext", "-d", JSON.stringify(data), "localhost:50051", `sr.v1.StatusReportService/${method}`], srv.address);
    expect((await call("RegisterGroup", { group: "presence", details: "" })).code).toBe(0);
    expect((await call("RegisterIdentifier", { group: "presence", identifier: "bare" })).code).toBe(0);
    const empty = await call("GetStatus", { group: "presence" });
    expect(empty.code).toBe(0);
    expect(JSON.parse(empty.stdout).status.details).toBe("");
    const bare = await call("GetStatus", { group: "presence", identifier: "bare" });
    expect(bare.code).toBe(0);
    expect(JSON.parse(bare.stdout).status).not.toHaveProperty("details");
  });
});

describe("server reflection with auth configured", () => {
  let srv: TestServer;
  const TOKEN = "reflection-test-token";

  beforeAll(async () => {
    srv = await startServer((config) => {
      config.tokens = [{ name: "ops", sha256: createHash("sha256").update(TOKEN).digest("hex"), role: "admin" }];
    });
  });

  afterAll(async () => {
    await srv?.stop();
  });

  it("needs no token to list and describe; calls still do (grpcurl -H sends it)", async () => {
    const grpcurl = (...argv: string[]) => runGrpcurl(["-plaintext", ...argv], srv.address);
    const list = await grpcurl("127.0.0.1:50051", "list");
    expect(list.code).toBe(0);
    expect(list.stdout.split("\n")).toEqual(expect.arrayContaining(SERVICES));
    expect((await grpcurl("127.0.0.1:50051", "describe", "sr.v1.StatusReportService")).code).toBe(0);

    const anonymous = await grpcurl("-d", '{"group": "core"}', "127.0.0.1:50051", "sr.v1.StatusReportService/GetStatus");
    expect(anonymous.code).not.toBe(0);
    expect(anonymous.stderr).toMatch(/Code: Unauthenticated/);
    const withToken = await grpcurl(
      "-H",
      `authorization: Bearer ${TOKEN}`,
      "-d",
      '{"group": "core"}',
      "127.0.0.1:50051",
      "sr.v1.StatusReportService/GetStatus",
    );
    expect(withToken.code).toBe(0);
    expect(JSON.parse(withToken.stdout).status.details).toBe("running");
  });
});

/**
 * A server whose reflection serves our descriptor set (a file two builds
 * share once) as `edit` leaves it, with whatever else `setup` adds.
 */
async function serveReflection(
  edit: (files: FileDescriptorProto[]) => FileDescriptorProto[],
  setup: (server: Server) => void = () => {},
): Promise<{ server: Server; address: string }> {
  const set = fromBinary(FileDescriptorSetSchema, readFileSync(new URL("../../../gen/descriptors.binpb", import.meta.url)));
  const files = edit([...new Map(set.file.map((f) => [f.name, f])).values()]);
  const server = new Server();
  const fileDescriptorProtos = files.map((f) => Buffer.from(toBinary(FileDescriptorProtoSchema, f)));
  new ReflectionService({ descriptors: { fileDescriptorProtos } } as never).addToServer(server);
  setup(server);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
  );
  return { server, address: `127.0.0.1:${port}` };
}

describe("the strict client", () => {
  // What @grpc/reflection serves when fed from proto-loader (the known upstream
  // bug): sr/v1/sr.proto without its import of google/protobuf/timestamp.proto.
  let broken: Server;
  let client: Client;
  let address: string;

  beforeAll(async () => {
    ({ server: broken, address } = await serveReflection((files) => {
      for (const file of files) if (file.name === "sr/v1/sr.proto") file.dependency = [];
      return files;
    }));
    client = new Client(address, credentials.createInsecure());
  });

  afterAll(() => {
    client?.close();
    broken?.forceShutdown();
  });

  it("refuses a file that lost an import, as grpcurl does", async () => {
    const reflection = new ReflectionClient(client, "v1", Date.now() + 5_000);
    try {
      await expect(resolveSymbols(reflection, ["sr.v1.StatusReportService"])).rejects.toThrow(/google\.protobuf\.Timestamp/);
      // The health file has no imports and still resolves.
      const { registry } = await resolveSymbols(reflection, ["grpc.health.v1.Health"]);
      expect(registry.getService("grpc.health.v1.Health")).toBeDefined();
    } finally {
      await reflection.close();
    }
  });

  it("is what runGrpcurl uses: describe fails there too", async () => {
    const result = await runGrpcurl(["-plaintext", "127.0.0.1:50051", "describe", "sr.v1.IdentifierStatus"], address);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/google\.protobuf\.Timestamp/);
  });
});

describe("the strict client when reflection does not serve google.rpc", () => {
  // An error with details from a server that keeps google/rpc out of
  // reflection: grpcurl cannot resolve them and prints the packed bytes.
  let server: Server;
  let address: string;

  beforeAll(async () => {
    ({ server, address } = await serveReflection(
      (files) => files.filter((f) => !f.name.startsWith("google/rpc/")),
      (s) =>
        s.addService(StatusReportServiceService, {
          getStatus: (call: ServerUnaryCall<GetStatusRequest, unknown>, callback: sendUnaryData<unknown>) =>
            callback(grpcErrorOf(groupNotFound(call.request.group))),
        }),
    ));
  });

  afterAll(() => server?.forceShutdown());

  it("resolves the details through reflection only, so it cannot show their reason", async () => {
    const result = await runGrpcurl(["-plaintext", "-d", '{"group": "nope"}', "127.0.0.1:50051", "sr.v1.StatusReportService/GetStatus"], address);
    expect(result.code).toBe(64 + NOT_FOUND);
    const printed = readStatus(result.stderr);
    expect(printed).toMatchObject({ code: "NotFound", message: "group 'nope' not found" });
    expect(printed.details.map((d) => Object.keys(d))).toEqual([
      ["@error", "@type", "@value"],
      ["@error", "@type", "@value"],
    ]);
    expect(printed.details[0]).toMatchObject({
      "@type": "type.googleapis.com/google.rpc.ErrorInfo",
      "@error": "google.rpc.ErrorInfo is not recognized; see @value for raw binary message data",
    });
    expect(result.stderr).not.toContain("GROUP_NOT_FOUND");
  });
});
