/**
 * The wire side of the grpcurl stand-in: one ServerReflectionInfo stream, and
 * unary and server-streaming calls made with raw bytes. A failed call keeps
 * its trailers and the google.rpc.Status of `grpc-status-details-bin`, which
 * grpc-go decodes for grpcurl with a built-in google.rpc.Status: only the
 * types inside its `details` have to come from reflection.
 */
import * as grpc from "@grpc/grpc-js";
import { type DescMessage, type JsonValue, createFileRegistry, fromBinary, fromJson, toBinary } from "@bufbuild/protobuf";
import { type FileDescriptorProto, FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { RPC_STATUS, type ReflectionVersion, reflectionFile } from "./schema.js";

export type { ReflectionVersion } from "./schema.js";

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
// Calls.
// ---------------------------------------------------------------------------

/** One packed detail of a google.rpc.Status. */
export interface PackedDetail {
  typeUrl: string;
  value: Uint8Array;
}

/** The trailer that carries the rich status (AIP-193), as grpc-go reads it. */
export const STATUS_DETAILS_TRAILER = "grpc-status-details-bin";

/** A gRPC call that ended with a non-OK status, with its trailers and rich details. */
export class CallError extends Error {
  /** The google.rpc.Status details of the trailer, in order (empty without one). */
  readonly statusDetails: PackedDetail[];

  constructor(
    readonly code: number,
    readonly details: string,
    readonly metadata: grpc.Metadata = new grpc.Metadata(),
  ) {
    super(`${code}: ${details}`);
    const bytes = metadata.get(STATUS_DETAILS_TRAILER)[0];
    const status = bytes instanceof Buffer ? (fromBinary(RPC_STATUS, bytes) as unknown as { details: PackedDetail[] }) : undefined;
    this.statusDetails = status?.details ?? [];
  }
}

export interface CallOptions {
  deadline?: number;
  metadata?: grpc.Metadata;
}

/** A method as reflection describes it, or its path (`/package.Service/Method`). */
export type MethodRef = { name: string; parent: { typeName: string } } | string;

/** What grpc-js takes before the callback: path, raw (de)serializers, the request, metadata and options. */
function callArgs(method: MethodRef, request: Uint8Array, options: CallOptions) {
  const path = typeof method === "string" ? method : `/${method.parent.typeName}/${method.name}`;
  const callOptions = options.deadline === undefined ? {} : { deadline: options.deadline };
  return [path, identity, identity, Buffer.from(request), options.metadata ?? new grpc.Metadata(), callOptions] as const;
}

/** One unary call with the request bytes as given; rejects with a CallError. */
export function invokeUnary(client: grpc.Client, method: MethodRef, request: Uint8Array, options: CallOptions = {}): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    client.makeUnaryRequest(...callArgs(method, request, options), (error, response) => {
      if (error) reject(new CallError(error.code, error.details, error.metadata));
      else resolve(response ?? new Uint8Array());
    });
  });
}

/**
 * One server-streaming call: `onMessage` for each message; resolves with the
 * final status code (OK, or DEADLINE_EXCEEDED when the deadline cut it), and
 * rejects with a CallError for any other status.
 */
export function invokeServerStream(
  client: grpc.Client,
  method: MethodRef,
  request: Uint8Array,
  onMessage: (bytes: Uint8Array) => void,
  options: CallOptions = {},
): Promise<number> {
  return new Promise((resolve, reject) => {
    const call = client.makeServerStreamRequest(...callArgs(method, request, options));
    call.on("data", (bytes: Buffer) => onMessage(bytes));
    call.on("error", () => {}); // the status event below carries it
    call.on("status", (status: grpc.StatusObject) => {
      if (status.code === grpc.status.OK || status.code === grpc.status.DEADLINE_EXCEEDED) resolve(status.code);
      else reject(new CallError(status.code, status.details, status.metadata));
    });
  });
}
