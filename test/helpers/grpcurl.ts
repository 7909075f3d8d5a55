/**
 * A strict grpcurl stand-in for the tests (grpcurl itself cannot be installed
 * here). Like grpcurl it knows nothing but what gRPC server reflection tells
 * it: it lists services, asks for the file containing a symbol, follows every
 * file's `dependency` list (file_by_filename for anything not yet received)
 * and builds a descriptor registry that refuses a file whose imports are
 * missing or that uses a type it does not import, which is where grpcurl
 * stops with "google.protobuf.Timestamp is not defined". Calls go through
 * grpc-js with raw bytes, encoded and decoded with the reflected descriptors.
 */
import * as grpc from "@grpc/grpc-js";
import {
  type DescEnum,
  type DescField,
  type DescFile,
  type DescMessage,
  type DescMethod,
  type DescService,
  type FileRegistry,
  type JsonValue,
  create,
  createFileRegistry,
  fromBinary,
  fromJson,
  toBinary,
  toJson,
} from "@bufbuild/protobuf";
import {
  type FileDescriptorProto,
  FileDescriptorProtoSchema,
  FileDescriptorSetSchema,
  FieldDescriptorProto_Label as Label,
  FieldDescriptorProto_Type as Type,
} from "@bufbuild/protobuf/wkt";

// ---------------------------------------------------------------------------
// The reflection protocol. The schema is the one @grpc/reflection serves
// (node_modules/@grpc/reflection/build/proto/grpc/reflection/v1/reflection.proto,
// and v1alpha beside it: the same messages in another package), written here
// as a descriptor so the client side needs neither proto-loader nor codegen.
// ---------------------------------------------------------------------------

export type ReflectionVersion = "v1" | "v1alpha";

function reflectionFile(version: ReflectionVersion): FileDescriptorProto {
  const pkg = `grpc.reflection.${version}`;
  const optional = (name: string, number: number, type: Type, extra: Record<string, unknown> = {}) => ({
    name,
    jsonName: name.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase()),
    number,
    type,
    label: Label.OPTIONAL,
    ...extra,
  });
  const repeated = (name: string, number: number, type: Type, extra: Record<string, unknown> = {}) => ({
    ...optional(name, number, type, extra),
    label: Label.REPEATED,
  });
  const msg = (name: string) => ({ typeName: `.${pkg}.${name}` });
  return create(FileDescriptorProtoSchema, {
    name: `grpc/reflection/${version}/reflection.proto`,
    package: pkg,
    syntax: "proto3",
    messageType: [
      {
        name: "ServerReflectionRequest",
        oneofDecl: [{ name: "message_request" }],
        field: [
          optional("host", 1, Type.STRING),
          optional("file_by_filename", 3, Type.STRING, { oneofIndex: 0 }),
          optional("file_containing_symbol", 4, Type.STRING, { oneofIndex: 0 }),
          optional("file_containing_extension", 5, Type.MESSAGE, { ...msg("ExtensionRequest"), oneofIndex: 0 }),
          optional("all_extension_numbers_of_type", 6, Type.STRING, { oneofIndex: 0 }),
          optional("list_services", 7, Type.STRING, { oneofIndex: 0 }),
        ],
      },
      {
        name: "ExtensionRequest",
        field: [optional("containing_type", 1, Type.STRING), optional("extension_number", 2, Type.INT32)],
      },
      {
        name: "ServerReflectionResponse",
        oneofDecl: [{ name: "message_response" }],
        field: [
          optional("valid_host", 1, Type.STRING),
          optional("original_request", 2, Type.MESSAGE, msg("ServerReflectionRequest")),
          optional("file_descriptor_response", 4, Type.MESSAGE, { ...msg("FileDescriptorResponse"), oneofIndex: 0 }),
          optional("all_extension_numbers_response", 5, Type.MESSAGE, { ...msg("ExtensionNumberResponse"), oneofIndex: 0 }),
          optional("list_services_response", 6, Type.MESSAGE, { ...msg("ListServiceResponse"), oneofIndex: 0 }),
          optional("error_response", 7, Type.MESSAGE, { ...msg("ErrorResponse"), oneofIndex: 0 }),
        ],
      },
      { name: "FileDescriptorResponse", field: [repeated("file_descriptor_proto", 1, Type.BYTES)] },
      {
        name: "ExtensionNumberResponse",
        field: [optional("base_type_name", 1, Type.STRING), repeated("extension_number", 2, Type.INT32)],
      },
      { name: "ListServiceResponse", field: [repeated("service", 1, Type.MESSAGE, msg("ServiceResponse"))] },
      { name: "ServiceResponse", field: [optional("name", 1, Type.STRING)] },
      { name: "ErrorResponse", field: [optional("error_code", 1, Type.INT32), optional("error_message", 2, Type.STRING)] },
    ],
  });
}

/** A reflection request, in the proto3 JSON form (one of the oneof's fields). */
export type ReflectionRequest =
  | { fileByFilename: string }
  | { fileContainingSymbol: string }
  | { fileContainingExtension: { containingType: string; extensionNumber: number } }
  | { allExtensionNumbersOfType: string }
  | { listServices: string };

/** The decoded ServerReflectionResponse (protobuf-es message shape). */
export interface ReflectionResponse {
  validHost: string;
  originalRequest?: { host: string; messageRequest: { case: string | undefined; value?: unknown } };
  messageResponse:
    | { case: "fileDescriptorResponse"; value: { fileDescriptorProto: Uint8Array[] } }
    | { case: "allExtensionNumbersResponse"; value: { baseTypeName: string; extensionNumber: number[] } }
    | { case: "listServicesResponse"; value: { service: { name: string }[] } }
    | { case: "errorResponse"; value: { errorCode: number; errorMessage: string } }
    | { case: undefined; value?: undefined };
}

/** An error_response of the reflection stream (the stream itself stays OK). */
export class ReflectionErrorResponse extends Error {
  constructor(
    readonly code: number,
    readonly detail: string,
  ) {
    super(detail);
  }
}

const identity = (b: Buffer) => b;

/**
 * One ServerReflectionInfo bidi stream. Requests are answered in order, so
 * each `request` waits for the next response.
 */
export class ReflectionClient {
  private readonly request$: DescMessage;
  private readonly response$: DescMessage;
  private readonly call: grpc.ClientDuplexStream<Buffer, Buffer>;
  private readonly waiting: { resolve: (r: ReflectionResponse) => void; reject: (e: Error) => void }[] = [];
  private failure: Error | undefined;
  private closed = false;
  private readonly finished: Promise<void>;

  constructor(
    readonly client: grpc.Client,
    readonly version: ReflectionVersion = "v1",
    deadline?: number,
  ) {
    const registry = createFileRegistry(reflectionFile(version), () => undefined);
    const pkg = `grpc.reflection.${version}`;
    this.request$ = registry.getMessage(`${pkg}.ServerReflectionRequest`)!;
    this.response$ = registry.getMessage(`${pkg}.ServerReflectionResponse`)!;
    this.call = client.makeBidiStreamRequest(
      `/${pkg}.ServerReflection/ServerReflectionInfo`,
      identity,
      identity,
      new grpc.Metadata(),
      deadline === undefined ? {} : { deadline },
    );
    this.call.on("data", (bytes: Buffer) => {
      const next = this.waiting.shift();
      const response = fromBinary(this.response$, bytes) as unknown as ReflectionResponse;
      next?.resolve(response);
    });
    this.finished = new Promise<void>((resolve) => {
      this.call.on("status", () => resolve());
    });
    const fail = (error: Error) => {
      this.failure ??= error;
      for (const w of this.waiting.splice(0)) w.reject(this.failure);
    };
    this.call.on("error", fail);
    this.call.on("end", () => fail(new Error("the reflection stream ended")));
  }

  /** Sends one request and resolves with its response (error_response included). */
  request(request: ReflectionRequest): Promise<ReflectionResponse> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      this.call.write(Buffer.from(toBinary(this.request$, fromJson(this.request$, request as JsonValue))));
    });
  }

  async listServices(): Promise<string[]> {
    const response = await this.request({ listServices: "*" });
    const r = expectCase(response, "listServicesResponse");
    return r.service.map((s) => s.name);
  }

  /** The file declaring `symbol` and whatever else the server sent along. */
  async fileContainingSymbol(symbol: string): Promise<FileDescriptorProto[]> {
    return decodeFiles(expectCase(await this.request({ fileContainingSymbol: symbol }), "fileDescriptorResponse"));
  }

  async fileByFilename(name: string): Promise<FileDescriptorProto[]> {
    return decodeFiles(expectCase(await this.request({ fileByFilename: name }), "fileDescriptorResponse"));
  }

  /** Half-closes the stream and waits for the server to finish it (cancels if it does not). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (!this.failure) this.call.end();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.finished,
      new Promise<void>((resolve) => {
        timer = setTimeout(() => {
          this.call.cancel();
          resolve();
        }, 2000);
      }),
    ]);
    clearTimeout(timer);
  }
}

type ResponseCase = NonNullable<ReflectionResponse["messageResponse"]["case"]>;
type ResponseValue<C extends ResponseCase> = Extract<ReflectionResponse["messageResponse"], { case: C }>["value"];

/** The response's value when it is of the `want` case; an error_response throws ReflectionErrorResponse. */
export function expectCase<C extends ResponseCase>(response: ReflectionResponse, want: C): ResponseValue<C> {
  const r = response.messageResponse;
  if (r.case === "errorResponse") throw new ReflectionErrorResponse(r.value.errorCode, r.value.errorMessage);
  if (r.case !== want) throw new Error(`reflection answered ${String(r.case)}, expected ${want}`);
  return r.value as unknown as ResponseValue<C>;
}

function decodeFiles(value: { fileDescriptorProto: Uint8Array[] }): FileDescriptorProto[] {
  return value.fileDescriptorProto.map((bytes) => fromBinary(FileDescriptorProtoSchema, bytes));
}

// ---------------------------------------------------------------------------
// Strict resolution, as grpcurl does it.
// ---------------------------------------------------------------------------

export interface Resolved {
  registry: FileRegistry;
  /** Every file of the registry, dependencies first, as the server sent them. */
  files: FileDescriptorProto[];
}

/**
 * Resolves the files declaring `symbols` and, recursively, every file named in
 * their `dependency` lists (asking file_by_filename for any not received yet),
 * and builds one registry. Files the server sent but nobody imports are left
 * out, so a missing import cannot be papered over by a lucky extra file.
 * Throws when a symbol or a file is unknown, an import cannot be resolved, or
 * a file uses a type from a file it does not import.
 */
export async function resolveSymbols(reflection: ReflectionClient, symbols: string[]): Promise<Resolved> {
  const received = new Map<string, FileDescriptorProto>();
  const remember = (files: FileDescriptorProto[]) => {
    for (const f of files) if (!received.has(f.name)) received.set(f.name, f);
  };
  const roots: string[] = [];
  for (const symbol of symbols) {
    const files = await reflection.fileContainingSymbol(symbol);
    if (files.length === 0) throw new Error(`reflection sent no file for symbol ${symbol}`);
    remember(files);
    roots.push(files[0]!.name);
  }
  const ordered: FileDescriptorProto[] = [];
  const state = new Map<string, "visiting" | "done">();
  const visit = async (name: string, importedBy: string | undefined): Promise<void> => {
    const seen = state.get(name);
    if (seen === "done") return;
    if (seen === "visiting") throw new Error(`import cycle through ${name}`);
    state.set(name, "visiting");
    if (!received.has(name)) {
      try {
        remember(await reflection.fileByFilename(name));
      } catch (error) {
        throw new Error(`file ${JSON.stringify(name)}${importedBy ? `, imported by ${importedBy},` : ""} could not be fetched: ${(error as Error).message}`);
      }
    }
    const file = received.get(name);
    if (!file) throw new Error(`reflection did not send ${name}, imported by ${importedBy}`);
    for (const dep of file.dependency) await visit(dep, name);
    state.set(name, "done");
    ordered.push(file);
  };
  for (const root of roots) await visit(root, undefined);
  const registry = createFileRegistry(create(FileDescriptorSetSchema, { file: ordered }));
  for (const file of registry.files) checkImports(file);
  return { registry, files: ordered };
}

/** The files whose types `file` may use: itself, its imports and their public imports. */
function visibleFiles(file: DescFile): Set<string> {
  const visible = new Set([file.name]);
  const addPublic = (f: DescFile) => {
    for (const i of f.proto.publicDependency) {
      const dep = f.dependencies[i];
      if (dep && !visible.has(dep.name)) {
        visible.add(dep.name);
        addPublic(dep);
      }
    }
  };
  for (const dep of file.dependencies) {
    visible.add(dep.name);
    addPublic(dep);
  }
  return visible;
}

/** Like protoc and grpcurl: a type used by a file must come from the file or one of its imports. */
function checkImports(file: DescFile): void {
  const visible = visibleFiles(file);
  const check = (user: string, used: DescMessage | DescEnum | undefined) => {
    if (used && !visible.has(used.file.name)) {
      throw new Error(`${file.proto.name}: ${user} uses ${used.typeName}, which is defined in ${used.file.proto.name}, not imported`);
    }
  };
  const walk = (message: DescMessage) => {
    for (const field of message.fields) {
      check(`${message.typeName}.${field.name}`, fieldTypeOf(field));
    }
    message.nestedMessages.forEach(walk);
  };
  file.messages.forEach(walk);
  for (const service of file.services) {
    for (const method of service.methods) {
      check(`${service.typeName}.${method.name}`, method.input);
      check(`${service.typeName}.${method.name}`, method.output);
    }
  }
}

function fieldTypeOf(field: DescField): DescMessage | DescEnum | undefined {
  switch (field.fieldKind) {
    case "message":
      return field.message;
    case "enum":
      return field.enum;
    case "list":
      return field.listKind === "message" ? field.message : field.listKind === "enum" ? field.enum : undefined;
    case "map":
      return field.mapKind === "message" ? field.message : field.mapKind === "enum" ? field.enum : undefined;
    default:
      return undefined;
  }
}

// ---------------------------------------------------------------------------
// Comments and describe output.
// ---------------------------------------------------------------------------

type Described = DescService | DescMethod | DescMessage | DescEnum | DescField;

/** The source path of a descriptor inside its file (descriptor.proto field numbers). */
function sourcePath(desc: Described): number[] {
  switch (desc.kind) {
    case "service":
      return [6, desc.file.proto.service.indexOf(desc.proto)];
    case "rpc":
      return [...sourcePath(desc.parent), 2, desc.parent.proto.method.indexOf(desc.proto)];
    case "message":
      return desc.parent
        ? [...sourcePath(desc.parent), 3, desc.parent.proto.nestedType.indexOf(desc.proto)]
        : [4, desc.file.proto.messageType.indexOf(desc.proto)];
    case "enum":
      return desc.parent
        ? [...sourcePath(desc.parent), 4, desc.parent.proto.enumType.indexOf(desc.proto)]
        : [5, desc.file.proto.enumType.indexOf(desc.proto)];
    case "field":
      return [...sourcePath(desc.parent), 2, desc.parent.proto.field.indexOf(desc.proto)];
  }
}

function fileOf(desc: Described): DescFile {
  switch (desc.kind) {
    case "rpc":
      return desc.parent.file;
    case "field":
      return desc.parent.file;
    default:
      return desc.file;
  }
}

/** The leading comment of a descriptor from the file's source_code_info, if the server kept it. */
export function leadingComment(desc: Described): string | undefined {
  const path = sourcePath(desc);
  const location = fileOf(desc).proto.sourceCodeInfo?.location.find(
    (l) => l.path.length === path.length && l.path.every((p, i) => p === path[i]),
  );
  return location?.leadingComments || undefined;
}

function commentLines(desc: Described, indent: string): string[] {
  const comment = leadingComment(desc);
  if (comment === undefined) return [];
  return comment.replace(/\n$/, "").split("\n").map((line) => `${indent}//${line}`);
}

const SCALAR_NAMES: Partial<Record<Type, string>> = {
  [Type.DOUBLE]: "double",
  [Type.FLOAT]: "float",
  [Type.INT64]: "int64",
  [Type.UINT64]: "uint64",
  [Type.INT32]: "int32",
  [Type.FIXED64]: "fixed64",
  [Type.FIXED32]: "fixed32",
  [Type.BOOL]: "bool",
  [Type.STRING]: "string",
  [Type.BYTES]: "bytes",
  [Type.UINT32]: "uint32",
  [Type.SFIXED32]: "sfixed32",
  [Type.SFIXED64]: "sfixed64",
  [Type.SINT32]: "sint32",
  [Type.SINT64]: "sint64",
};

function typeText(proto: { type: Type; typeName: string }): string {
  return SCALAR_NAMES[proto.type] ?? proto.typeName;
}

function fieldLines(field: DescField, indent: string): string[] {
  const p = field.proto;
  let type: string;
  if (field.fieldKind === "map") {
    // ScalarType numbers are FieldDescriptorProto.Type numbers.
    const key = SCALAR_NAMES[field.mapKey as number as Type];
    const value =
      field.mapKind === "scalar" ? SCALAR_NAMES[field.scalar as number as Type] : `.${(field.message ?? field.enum)!.typeName}`;
    type = `map<${key}, ${value}>`;
  } else {
    const label = p.label === Label.REPEATED ? "repeated " : p.proto3Optional ? "optional " : "";
    type = label + typeText(p);
  }
  return [...commentLines(field, indent), `${indent}${type} ${field.name} = ${field.number};`];
}

function messageLines(message: DescMessage, indent: string): string[] {
  const lines = [...commentLines(message, indent), `${indent}message ${message.name} {`];
  const inner = `${indent}  `;
  const printedOneofs = new Set<number>();
  for (const field of message.fields) {
    const oneof = field.oneof;
    const index = field.proto.oneofIndex;
    if (oneof && index !== undefined && !field.proto.proto3Optional) {
      if (printedOneofs.has(index)) continue;
      printedOneofs.add(index);
      lines.push(`${inner}oneof ${oneof.name} {`);
      for (const member of oneof.fields) lines.push(...fieldLines(member, `${inner}  `));
      lines.push(`${inner}}`);
      continue;
    }
    lines.push(...fieldLines(field, inner));
  }
  for (const nested of message.nestedMessages) {
    if (nested.proto.options?.mapEntry) continue;
    lines.push(...messageLines(nested, inner));
  }
  for (const nested of message.nestedEnums) lines.push(...enumLines(nested, inner));
  lines.push(`${indent}}`);
  return lines;
}

function enumLines(e: DescEnum, indent: string): string[] {
  return [
    ...commentLines(e, indent),
    `${indent}enum ${e.name} {`,
    ...e.values.map((v) => `${indent}  ${v.name} = ${v.number};`),
    `${indent}}`,
  ];
}

function methodLine(method: DescMethod, indent: string): string[] {
  const client = method.methodKind === "client_streaming" || method.methodKind === "bidi_streaming" ? "stream " : "";
  const server = method.methodKind === "server_streaming" || method.methodKind === "bidi_streaming" ? "stream " : "";
  return [
    ...commentLines(method, indent),
    `${indent}rpc ${method.name} ( ${client}.${method.input.typeName} ) returns ( ${server}.${method.output.typeName} );`,
  ];
}

function serviceLines(service: DescService): string[] {
  return [
    ...commentLines(service, ""),
    `service ${service.name} {`,
    ...service.methods.flatMap((m) => methodLine(m, "  ")),
    "}",
  ];
}

/** grpcurl's `describe` text for one symbol (service, method, message or enum). */
export function describe(registry: FileRegistry, symbol: string): string {
  const service = registry.getService(symbol);
  if (service) return [`${symbol} is a service:`, ...serviceLines(service)].join("\n");
  const message = registry.getMessage(symbol);
  if (message) return [`${symbol} is a message:`, ...messageLines(message, "")].join("\n");
  const e = registry.getEnum(symbol);
  if (e) return [`${symbol} is an enum:`, ...enumLines(e, "")].join("\n");
  const dot = symbol.lastIndexOf(".");
  const method = registry.getService(symbol.slice(0, dot))?.methods.find((m) => m.name === symbol.slice(dot + 1));
  if (method) return [`${symbol} is a method:`, ...methodLine(method, "")].join("\n");
  throw new Error(`Symbol "${symbol}" not found`);
}

// ---------------------------------------------------------------------------
// Calls.
// ---------------------------------------------------------------------------

/** grpc-go's names of the status codes, which grpcurl prints. */
const CODE_NAMES = [
  "OK",
  "Canceled",
  "Unknown",
  "InvalidArgument",
  "DeadlineExceeded",
  "NotFound",
  "AlreadyExists",
  "PermissionDenied",
  "ResourceExhausted",
  "FailedPrecondition",
  "Aborted",
  "OutOfRange",
  "Unimplemented",
  "Internal",
  "Unavailable",
  "DataLoss",
  "Unauthenticated",
];

export const codeName = (code: number) => CODE_NAMES[code] ?? `Code(${code})`;

/** A gRPC call that ended with a non-OK status. */
export class CallError extends Error {
  constructor(
    readonly code: number,
    readonly details: string,
  ) {
    super(`${codeName(code)}: ${details}`);
  }
}

export interface CallOptions {
  deadline?: number;
  metadata?: grpc.Metadata;
}

/** One unary call with reflected types: JSON-like message in, decoded message out. */
export function invokeUnary(
  client: grpc.Client,
  method: DescMethod,
  request: Uint8Array,
  options: CallOptions = {},
): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    client.makeUnaryRequest(
      `/${method.parent.typeName}/${method.name}`,
      identity,
      identity,
      Buffer.from(request),
      options.metadata ?? new grpc.Metadata(),
      options.deadline === undefined ? {} : { deadline: options.deadline },
      (error, response) => {
        if (error) reject(new CallError(error.code, error.details));
        else resolve(response ?? new Uint8Array());
      },
    );
  });
}

/**
 * One server-streaming call: `onMessage` for each message; resolves with the
 * final status code (OK, or DEADLINE_EXCEEDED when the deadline cut it), and
 * rejects with a CallError for any other status.
 */
export function invokeServerStream(
  client: grpc.Client,
  method: DescMethod,
  request: Uint8Array,
  onMessage: (bytes: Uint8Array) => void,
  options: CallOptions = {},
): Promise<number> {
  return new Promise((resolve, reject) => {
    const call = client.makeServerStreamRequest(
      `/${method.parent.typeName}/${method.name}`,
      identity,
      identity,
      Buffer.from(request),
      options.metadata ?? new grpc.Metadata(),
      options.deadline === undefined ? {} : { deadline: options.deadline },
    );
    call.on("data", (bytes: Buffer) => onMessage(bytes));
    call.on("error", () => {}); // the status event below carries it
    call.on("status", (status: grpc.StatusObject) => {
      if (status.code === grpc.status.OK || status.code === grpc.status.DEADLINE_EXCEEDED) resolve(status.code);
      else reject(new CallError(status.code, status.details));
    });
  });
}

// ---------------------------------------------------------------------------
// The command line.
// ---------------------------------------------------------------------------

export interface GrpcurlResult {
  stdout: string;
  code: number;
}

interface Args {
  plaintext: boolean;
  data: string | undefined;
  maxTime: number | undefined;
  headers: string[];
  positional: string[];
}

class UsageError extends Error {}

function parseArgs(argv: string[]): Args {
  const args: Args = { plaintext: false, data: undefined, maxTime: undefined, headers: [], positional: [] };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (args.positional.length === 0 && arg.startsWith("-")) {
      // Go's flag package: -flag, --flag, -flag=value, -flag value.
      const [name, inline] = arg.replace(/^--?/, "").split(/=(.*)/s, 2) as [string, string | undefined];
      const value = () => {
        if (inline !== undefined) return inline;
        const next = argv[++i];
        if (next === undefined) throw new UsageError(`flag needs an argument: -${name}`);
        return next;
      };
      switch (name) {
        case "plaintext":
          args.plaintext = inline === undefined || inline === "true";
          break;
        case "d":
          args.data = value();
          break;
        case "max-time": {
          const text = value();
          const seconds = Number(text);
          if (!Number.isFinite(seconds) || seconds <= 0) throw new UsageError(`invalid value "${text}" for flag -max-time`);
          args.maxTime = seconds;
          break;
        }
        case "H":
          args.headers.push(value());
          break;
        default:
          throw new UsageError(`flag provided but not defined: -${name}`);
      }
      continue;
    }
    args.positional.push(arg);
  }
  if (args.positional.length === 0) throw new UsageError("too few arguments");
  if (!/^[^\s:]+:\d+$/.test(args.positional[0]!)) throw new UsageError(`invalid address ${args.positional[0]}`);
  return args;
}

/**
 * Runs one grpcurl command line against `address` (the address on the
 * command line only has to be well-formed: the test server's is used).
 * Supported: `-plaintext` (required: the test server has no TLS, and grpcurl
 * without it would fail its TLS handshake), `-d JSON`, `-max-time SECONDS`,
 * `-H 'name: value'`, and the verbs `list [service]`, `describe [symbol]` and
 * `service/Method` (or `service.Method`).
 *
 * Exit codes: 0 success, 1 a failed call or lookup (grpcurl itself exits with
 * 64 + the status code for a failed RPC; the tests only need "non-zero"),
 * 2 a usage error.
 *
 * `-max-time` on a server stream: real grpcurl prints the messages received
 * and then ends with "ERROR: Code: DeadlineExceeded" and a non-zero exit. The
 * README uses `-max-time` to mean "watch for this long", so here reaching the
 * deadline on a server stream (after the call started) counts as success;
 * on a unary call or during reflection it is an error, as in grpcurl.
 */
export async function runGrpcurl(argv: string[], address: string): Promise<GrpcurlResult> {
  let args: Args;
  try {
    args = parseArgs(argv);
  } catch (error) {
    return { stdout: `${(error as Error).message}\nUsage: grpcurl [flags] [address] [list|describe] [symbol]\n`, code: 2 };
  }
  const out: string[] = [];
  if (!args.plaintext) {
    // The test server speaks plaintext only; grpcurl would try TLS and fail.
    return { stdout: `Failed to dial target host "${args.positional[0]}": tls: first record does not look like a TLS handshake\n`, code: 1 };
  }
  const deadline = args.maxTime === undefined ? undefined : Date.now() + args.maxTime * 1000;
  const metadata = new grpc.Metadata();
  for (const header of args.headers) {
    const colon = header.indexOf(":");
    if (colon < 0) return { stdout: `invalid header ${header}\n`, code: 2 };
    metadata.add(header.slice(0, colon).trim().toLowerCase(), header.slice(colon + 1).trim());
  }
  const client = new grpc.Client(address, grpc.credentials.createInsecure());
  const reflection = new ReflectionClient(client, "v1", deadline);
  const [, verb, symbol, ...extra] = args.positional;
  try {
    if (verb === undefined) throw new UsageError("too few arguments");
    if (verb === "list") {
      if (extra.length) throw new UsageError("too many arguments");
      if (symbol === undefined) {
        out.push(...(await reflection.listServices()).sort());
      } else {
        const { registry } = await resolveSymbols(reflection, [symbol]);
        const service = registry.getService(symbol);
        if (!service) throw new Error(`Service not found: ${symbol}`);
        out.push(...service.methods.map((m) => `${symbol}.${m.name}`));
      }
    } else if (verb === "describe") {
      if (extra.length) throw new UsageError("too many arguments");
      const symbols = symbol === undefined ? (await reflection.listServices()).sort() : [symbol.replace(/^\./, "")];
      for (const s of symbols) {
        // A method's file is the file of its service.
        const { registry } = await resolveSymbols(reflection, [s]);
        out.push(describe(registry, s));
      }
    } else {
      if (symbol !== undefined) throw new UsageError("too many arguments");
      const cut = verb.includes("/") ? verb.lastIndexOf("/") : verb.lastIndexOf(".");
      const serviceName = verb.slice(0, cut).replace(/^\./, "");
      const methodName = verb.slice(cut + 1);
      let registry: FileRegistry;
      try {
        ({ registry } = await resolveSymbols(reflection, [serviceName]));
      } catch (error) {
        throw new Error(`Error invoking method "${verb}": failed to query for service descriptor "${serviceName}": ${(error as Error).message}`);
      }
      const method = registry.getService(serviceName)?.methods.find((m) => m.name === methodName);
      if (!method) throw new Error(`Error invoking method "${verb}": service "${serviceName}" does not include a method named "${methodName}"`);
      if (method.methodKind === "client_streaming" || method.methodKind === "bidi_streaming") {
        throw new Error(`${method.methodKind} methods are not supported by this stand-in`);
      }
      let request: Uint8Array;
      try {
        const json = args.data === undefined || args.data.trim() === "" ? {} : (JSON.parse(args.data) as JsonValue);
        request = toBinary(method.input, fromJson(method.input, json, { registry }));
      } catch (error) {
        throw new Error(`Error invoking method "${verb}": error getting request data: ${(error as Error).message}`);
      }
      const print = (bytes: Uint8Array) =>
        out.push(JSON.stringify(toJson(method.output, fromBinary(method.output, bytes), { registry }), null, 2));
      await reflection.close();
      if (method.methodKind === "unary") {
        print(await invokeUnary(client, method, request, { deadline, metadata }));
      } else {
        await invokeServerStream(client, method, request, print, { deadline, metadata });
      }
    }
    return { stdout: out.length ? `${out.join("\n")}\n` : "", code: 0 };
  } catch (error) {
    if (error instanceof UsageError) return { stdout: `${error.message}\n`, code: 2 };
    if (error instanceof CallError) {
      out.push(`ERROR:\n  Code: ${codeName(error.code)}\n  Message: ${error.details}`);
    } else {
      out.push(`Failed: ${(error as Error).message}`);
    }
    return { stdout: `${out.join("\n")}\n`, code: 1 };
  } finally {
    await reflection.close();
    client.close();
  }
}

/**
 * Splits a shell command line into words (POSIX sh quoting: '…' literal,
 * "…" with \" \\ \$ \` escapes, \x outside quotes). No expansions.
 */
export function shellSplit(line: string): string[] {
  const words: string[] = [];
  let word: string | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (c === "'") {
      const end = line.indexOf("'", i + 1);
      if (end < 0) throw new Error(`unterminated ' in: ${line}`);
      word = (word ?? "") + line.slice(i + 1, end);
      i = end;
    } else if (c === '"') {
      word ??= "";
      for (i++; i < line.length && line[i] !== '"'; i++) {
        if (line[i] === "\\" && '"\\$`'.includes(line[i + 1] ?? "")) i++;
        word += line[i];
      }
      if (i >= line.length) throw new Error(`unterminated " in: ${line}`);
    } else if (c === "\\") {
      word = (word ?? "") + (line[++i] ?? "");
    } else if (/\s/.test(c)) {
      if (word !== undefined) words.push(word);
      word = undefined;
    } else {
      word = (word ?? "") + c;
    }
  }
  if (word !== undefined) words.push(word);
  return words;
}
