import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { BinaryReader, WireType } from "@bufbuild/protobuf/wire";
import type { MethodDefinition, Server, ServiceDefinition, UntypedServiceImplementation } from "@grpc/grpc-js";

/** Built by `npm run generate` with buf: our schema, its imports, grpc.health.v1, reflection and google.rpc, comments kept. */
const DESCRIPTORS = new URL("../../../gen/descriptors.binpb", import.meta.url);

/** The two versions @grpc/reflection serves, in the order it registers them. */
const VERSIONS = ["v1", "v1alpha"] as const;
const METHOD = "ServerReflectionInfo";

type AnyMethod = MethodDefinition<unknown, unknown>;
type Handler = (...args: unknown[]) => void;

/**
 * Server reflection v1 and v1alpha over the real file descriptors. Feeding
 * @grpc/reflection from proto-loader loses each file's imports, which strict
 * clients such as grpcurl reject; the descriptor set buf builds keeps them.
 *
 * Building @grpc/reflection (protobufjs, proto-loader, our descriptors decoded
 * and indexed) costs about a quarter of a second of CPU, so it is built on the
 * first reflection call, not at start: grpc-js needs each method's path and
 * stream kind up front, and gets thin methods whose serializers and handler
 * build the real service on first use (synchronously) and then delegate to it.
 */
export function addReflection(
  server: Server,
  wrap: (impl: UntypedServiceImplementation) => UntypedServiceImplementation,
): void {
  let real: Map<string, { method: AnyMethod; handler: Handler }> | undefined;
  const load = (path: string) => {
    real ??= buildReflection();
    const found = real.get(path);
    if (!found) throw new Error(`@grpc/reflection registered no ${path}`);
    return found;
  };
  for (const version of VERSIONS) {
    const path = `/grpc.reflection.${version}.ServerReflection/${METHOD}`;
    const method: AnyMethod = {
      path,
      requestStream: true,
      responseStream: true,
      originalName: "serverReflectionInfo",
      requestSerialize: (value) => load(path).method.requestSerialize(value),
      requestDeserialize: (bytes) => load(path).method.requestDeserialize(bytes),
      responseSerialize: (value) => load(path).method.responseSerialize(value),
      responseDeserialize: (bytes) => load(path).method.responseDeserialize(bytes),
    };
    const definition: ServiceDefinition = { [METHOD]: method };
    // Route the service through `wrap` so reflection calls pass the same gate.
    server.addService(definition, wrap({ [METHOD]: ((...args: unknown[]) => load(path).handler(...args)) as never }));
  }
}

/** @grpc/reflection's service over our descriptor set: its methods by path, each with its handler. */
function buildReflection(): Map<string, { method: AnyMethod; handler: Handler }> {
  // Required here, not imported: loading it (protobufjs, proto-loader) is most of its cost.
  const { ReflectionService } = createRequire(import.meta.url)("@grpc/reflection") as typeof import("@grpc/reflection");
  const reflection = new ReflectionService({ descriptors: { fileDescriptorProtos: descriptorFiles() } } as never);
  const methods = new Map<string, { method: AnyMethod; handler: Handler }>();
  reflection.addToServer({
    addService: (definition: ServiceDefinition, impl: UntypedServiceImplementation) => {
      for (const [name, method] of Object.entries(definition)) {
        const handler = (impl[name] ?? impl[method.originalName ?? ""]) as unknown as Handler;
        methods.set(method.path, { method: method as AnyMethod, handler: handler.bind(impl) });
      }
    },
  } as unknown as Server);
  return methods;
}

/**
 * The encoded FileDescriptorProtos of gen/descriptors.binpb, each file once:
 * the set concatenates several builds, and a file two of them share is served
 * once (where it first appears, as its last copy). The set is only split (a
 * FileDescriptorSet is `repeated FileDescriptorProto file = 1`), not decoded:
 * @grpc/reflection decodes each file itself.
 */
export function descriptorFiles(bytes: Uint8Array = readFileSync(DESCRIPTORS)): Buffer[] {
  const files = new Map<string, Uint8Array>();
  const set = new BinaryReader(bytes);
  while (set.pos < set.len) {
    const [fieldNo, wireType] = set.tag();
    if (fieldNo !== 1 || wireType !== WireType.LengthDelimited) {
      set.skip(wireType, fieldNo);
      continue;
    }
    const file = set.bytes();
    files.set(fileName(file), file);
  }
  return [...files.values()].map((file) => Buffer.from(file));
}

/** A FileDescriptorProto's `name` (field 1), the last one on the wire as a decoder would keep it. */
function fileName(file: Uint8Array): string {
  const reader = new BinaryReader(file);
  let name = "";
  while (reader.pos < reader.len) {
    const [fieldNo, wireType] = reader.tag();
    if (fieldNo === 1 && wireType === WireType.LengthDelimited) name = reader.string();
    else reader.skip(wireType, fieldNo);
  }
  return name;
}
