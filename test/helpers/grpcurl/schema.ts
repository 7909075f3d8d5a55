/**
 * The schemas the grpcurl stand-in knows without asking: the reflection
 * protocol itself, and google.rpc.Status, which grpc-go decodes for grpcurl
 * from `grpc-status-details-bin` with a built-in copy (the types inside its
 * details must come from reflection). Written as descriptors, so the client
 * needs neither proto-loader nor codegen.
 */
import { create, createFileRegistry } from "@bufbuild/protobuf";
import {
  type FileDescriptorProto,
  FileDescriptorProtoSchema,
  FieldDescriptorProto_Label as Label,
  FieldDescriptorProto_Type as Type,
  file_google_protobuf_any,
} from "@bufbuild/protobuf/wkt";

type FieldExtra = { typeName?: string; oneofIndex?: number };

function field(name: string, number: number, type: Type, extra: FieldExtra = {}, label = Label.OPTIONAL) {
  return { name, jsonName: name.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase()), number, type, label, ...extra };
}

const repeated = (name: string, number: number, type: Type, extra: FieldExtra = {}) => field(name, number, type, extra, Label.REPEATED);

export type ReflectionVersion = "v1" | "v1alpha";

/**
 * The reflection protocol as @grpc/reflection serves it
 * (node_modules/@grpc/reflection/build/proto/grpc/reflection/v1/reflection.proto,
 * and v1alpha beside it: the same messages in another package).
 */
export function reflectionFile(version: ReflectionVersion): FileDescriptorProto {
  const pkg = `grpc.reflection.${version}`;
  const msg = (name: string) => ({ typeName: `.${pkg}.${name}` });
  const inOneof = (name: string) => ({ ...msg(name), oneofIndex: 0 });
  return create(FileDescriptorProtoSchema, {
    name: `grpc/reflection/${version}/reflection.proto`,
    package: pkg,
    syntax: "proto3",
    messageType: [
      {
        name: "ServerReflectionRequest",
        oneofDecl: [{ name: "message_request" }],
        field: [
          field("host", 1, Type.STRING),
          field("file_by_filename", 3, Type.STRING, { oneofIndex: 0 }),
          field("file_containing_symbol", 4, Type.STRING, { oneofIndex: 0 }),
          field("file_containing_extension", 5, Type.MESSAGE, inOneof("ExtensionRequest")),
          field("all_extension_numbers_of_type", 6, Type.STRING, { oneofIndex: 0 }),
          field("list_services", 7, Type.STRING, { oneofIndex: 0 }),
        ],
      },
      { name: "ExtensionRequest", field: [field("containing_type", 1, Type.STRING), field("extension_number", 2, Type.INT32)] },
      {
        name: "ServerReflectionResponse",
        oneofDecl: [{ name: "message_response" }],
        field: [
          field("valid_host", 1, Type.STRING),
          field("original_request", 2, Type.MESSAGE, msg("ServerReflectionRequest")),
          field("file_descriptor_response", 4, Type.MESSAGE, inOneof("FileDescriptorResponse")),
          field("all_extension_numbers_response", 5, Type.MESSAGE, inOneof("ExtensionNumberResponse")),
          field("list_services_response", 6, Type.MESSAGE, inOneof("ListServiceResponse")),
          field("error_response", 7, Type.MESSAGE, inOneof("ErrorResponse")),
        ],
      },
      { name: "FileDescriptorResponse", field: [repeated("file_descriptor_proto", 1, Type.BYTES)] },
      { name: "ExtensionNumberResponse", field: [field("base_type_name", 1, Type.STRING), repeated("extension_number", 2, Type.INT32)] },
      { name: "ListServiceResponse", field: [repeated("service", 1, Type.MESSAGE, msg("ServiceResponse"))] },
      { name: "ServiceResponse", field: [field("name", 1, Type.STRING)] },
      { name: "ErrorResponse", field: [field("error_code", 1, Type.INT32), field("error_message", 2, Type.STRING)] },
    ],
  });
}

/** google.rpc.Status as grpc-go knows it without reflection; its details stay packed. */
export const RPC_STATUS = createFileRegistry(
  create(FileDescriptorProtoSchema, {
    name: "google/rpc/status.proto",
    package: "google.rpc",
    syntax: "proto3",
    dependency: ["google/protobuf/any.proto"],
    messageType: [
      {
        name: "Status",
        field: [
          field("code", 1, Type.INT32),
          field("message", 2, Type.STRING),
          repeated("details", 3, Type.MESSAGE, { typeName: ".google.protobuf.Any" }),
        ],
      },
    ],
  }),
  () => file_google_protobuf_any,
).getMessage("google.rpc.Status")!;
