/**
 * The client's unary methods, derived from the generated service definition:
 * their types by a mapped type, their runtime by walking the same definition,
 * so an RPC added to the proto appears on the client after `npm run generate`.
 */
import * as messages from "../../gen/ts/sr/v1/sr.js";
import { type DeepPartial, StatusReportServiceService } from "../../gen/ts/sr/v1/sr.js";

/** Per-call options of every method. */
export interface CallOpts {
  /** Milliseconds until the call fails with DEADLINE_EXCEEDED. */
  timeoutMs?: number;
  /** Aborting cancels the call (CANCELLED); an already-aborted signal fails it before it is sent. */
  signal?: AbortSignal;
}

type Service = typeof StatusReportServiceService;

/** The service's RPCs with neither a request nor a response stream, by their method names (`getStatus`, ...). */
export type UnaryName = {
  [K in keyof Service]: Service[K] extends { requestStream: false; responseStream: false } ? K : never;
}[keyof Service];

type RequestOf<K extends UnaryName> = Parameters<Service[K]["requestSerialize"]>[0];
type ResponseOf<K extends UnaryName> = ReturnType<Service[K]["responseDeserialize"]>;

/** One promise-returning method per unary RPC, fully typed from the schema. */
export type UnaryMethods = {
  [K in UnaryName]: (request: DeepPartial<RequestOf<K>>, opts?: CallOpts) => Promise<ResponseOf<K>>;
};

/** tsc's twin of requestMessage below: compiling fails when an RPC's request message is not `<Rpc>Request`. */
type RequestNamed<K extends UnaryName> = K extends UnaryName
  ? Service[K]["path"] extends `/${string}/${infer Rpc}`
    ? `${Rpc}Request` extends keyof typeof messages
      ? true
      : false
    : false
  : never;
type MustHold<T extends true> = T;
type RequestsNamed = MustHold<RequestNamed<UnaryName>>;

/**
 * A unary RPC as the runtime drives it, with its types erased (UnaryMethods
 * restores them). Method syntax, so each RPC's own definition is assignable.
 */
export interface UnaryRpc {
  name: UnaryName;
  path: string;
  requestSerialize(request: unknown): Buffer;
  responseDeserialize(bytes: Buffer): unknown;
  fromPartial(request: unknown): unknown;
}

interface RpcDefinition {
  path: string;
  requestStream: boolean;
  responseStream: boolean;
  requestSerialize(request: unknown): Buffer;
  responseDeserialize(bytes: Buffer): unknown;
}

function isUnaryName(name: string, streams: Pick<RpcDefinition, "requestStream" | "responseStream">): name is UnaryName {
  return !streams.requestStream && !streams.responseStream;
}

function hasFromPartial(value: unknown): value is { fromPartial(request: unknown): unknown } {
  return typeof value === "object" && value !== null && "fromPartial" in value && typeof value.fromPartial === "function";
}

/**
 * The definition does not reference the request's message functions, so they
 * are found by name: every request of this schema is `<Rpc>Request` (one of
 * the two forms buf lint's RPC_REQUEST_STANDARD_NAME allows).
 */
function requestMessage(path: string): { fromPartial(request: unknown): unknown } {
  const name = `${path.slice(path.lastIndexOf("/") + 1)}Request`;
  const exported: Record<string, unknown> = messages;
  const fns = exported[name];
  if (!hasFromPartial(fns)) throw new Error(`sr client: no generated message ${name} for ${path}`);
  return fns;
}

function unaryRpcs(): UnaryRpc[] {
  const definitions: Record<string, RpcDefinition> = StatusReportServiceService;
  const rpcs: UnaryRpc[] = [];
  for (const [name, { path, requestSerialize, responseDeserialize, ...streams }] of Object.entries(definitions)) {
    if (!isUnaryName(name, streams)) continue;
    const request = requestMessage(path);
    rpcs.push({ name, path, requestSerialize, responseDeserialize, fromPartial: (partial) => request.fromPartial(partial) });
  }
  return rpcs;
}

/** Every unary RPC of the service, resolved once. */
export const UNARY_RPCS: readonly UnaryRpc[] = unaryRpcs();
