import { readFileSync } from "node:fs";
import { fromBinary, toBinary } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema, FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";
import type { Server, ServiceDefinition, UntypedServiceImplementation } from "@grpc/grpc-js";
import { ReflectionService } from "@grpc/reflection";

/** Built by `npm run generate` with buf: our schema, its imports, grpc.health.v1, reflection and google.rpc, comments kept. */
const DESCRIPTORS = new URL("../../../gen/descriptors.binpb", import.meta.url);

/**
 * Server reflection v1 and v1alpha over the real file descriptors. Feeding
 * @grpc/reflection from proto-loader loses each file's imports, which strict
 * clients such as grpcurl reject; the descriptor set buf builds keeps them.
 */
export function addReflection(
  server: Server,
  wrap: (impl: UntypedServiceImplementation) => UntypedServiceImplementation,
): void {
  const set = fromBinary(FileDescriptorSetSchema, readFileSync(DESCRIPTORS));
  // The set concatenates several builds; a file two of them share is served once.
  const files = new Map(set.file.map((file) => [file.name, file]));
  const fileDescriptorProtos = [...files.values()].map((file) => Buffer.from(toBinary(FileDescriptorProtoSchema, file)));
  const reflection = new ReflectionService({ descriptors: { fileDescriptorProtos } } as never);
  // Route the service through `wrap` so reflection calls pass the same gate.
  reflection.addToServer({
    addService: (definition: ServiceDefinition, impl: UntypedServiceImplementation) =>
      server.addService(definition, wrap(impl)),
  } as unknown as Server);
}
