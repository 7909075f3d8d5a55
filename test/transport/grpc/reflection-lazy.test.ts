/**
 * Reflection is built on its first call, not at start (src/transport/grpc/reflection.ts):
 * grpc-js gets both versions' methods up front, thin ones that build
 * @grpc/reflection on first use; and the descriptor set is split, not decoded.
 */
import { readFileSync } from "node:fs";
import { fromBinary, toBinary } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema, FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";
import { Client, type MethodDefinition, type Server, credentials } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { addReflection, descriptorFiles } from "../../../src/transport/grpc/reflection.js";
import { ReflectionClient } from "../../helpers/grpcurl/index.js";
import { type TestServer, startServer } from "../../helpers/server.js";

const SERVICES = ["grpc.health.v1.Health", "sr.v1.StatusReportService"];

describe("reflection, built on first use", () => {
  it("registers both versions' bidi method at once, touching none of its serializers", () => {
    const added: { definition: Record<string, MethodDefinition<unknown, unknown>>; impl: Record<string, unknown> }[] = [];
    const server = { addService: (definition: never, impl: never) => added.push({ definition, impl }) } as unknown as Server;
    addReflection(server, (impl) => impl);
    expect(added.map((a) => Object.keys(a.definition))).toEqual([["ServerReflectionInfo"], ["ServerReflectionInfo"]]);
    expect(added.map((a) => a.definition.ServerReflectionInfo)).toMatchObject([
      { path: "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo", requestStream: true, responseStream: true },
      { path: "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", requestStream: true, responseStream: true },
    ]);
    expect(added.every((a) => typeof a.impl.ServerReflectionInfo === "function")).toBe(true);
  });

  it("serves each file of the descriptor set once, the bytes a full decode and re-encode gives", () => {
    const set = fromBinary(FileDescriptorSetSchema, readFileSync(new URL("../../../gen/descriptors.binpb", import.meta.url)));
    const decoded = [...new Map(set.file.map((f) => [f.name, f])).values()].map((f) => Buffer.from(toBinary(FileDescriptorProtoSchema, f)));
    const split = descriptorFiles();
    expect(split.length).toBeLessThan(set.file.length); // a file two builds share is served once
    expect(split.map((b) => b.toString("base64"))).toEqual(decoded.map((b) => b.toString("base64")));
  });

  describe("on a fresh server", () => {
    let srv: TestServer;
    let client: Client;
    beforeAll(async () => {
      srv = await startServer();
      client = new Client(srv.address, credentials.createInsecure());
    });
    afterAll(async () => {
      client?.close();
      await srv?.stop();
    });

    it("answers its first calls, both versions at once", async () => {
      const streams = (["v1", "v1alpha"] as const).map((version) => new ReflectionClient(client, version, Date.now() + 10_000));
      try {
        const answers = await Promise.all(streams.map((s) => s.listServices()));
        for (const services of answers) expect([...services].sort()).toEqual(expect.arrayContaining(SERVICES));
      } finally {
        await Promise.all(streams.map((s) => s.close()));
      }
    });
  });
});
