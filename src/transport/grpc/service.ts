import { BinaryWriter } from "@bufbuild/protobuf/wire";
import type { ServerUnaryCall, UntypedServiceImplementation, sendUnaryData } from "@grpc/grpc-js";
import {
  AddReportRequest,
  AddReportResponse,
  CheckStatusRequest,
  CheckStatusResponse,
  GetStatusRequest,
  GetStatusResponse,
  ListIdentifiersRequest,
  ListIdentifiersResponse,
  ListReportsRequest,
  ListReportsResponse,
  ListStatusRequest,
  ListStatusResponse,
  RefreshLeaseRequest,
  RefreshLeaseResponse,
  RegisterGroupRequest,
  RegisterGroupResponse,
  RegisterIdentifierRequest,
  RegisterIdentifierResponse,
  SetStatusRequest,
  SetStatusResponse,
  StatusReportServiceService,
  UnregisterGroupRequest,
  UnregisterGroupResponse,
  UnregisterIdentifierRequest,
  UnregisterIdentifierResponse,
  WatchStatusRequest,
  type StatusReportServiceServer,
} from "../../../gen/ts/sr/v1/sr.js";
import type { Admission } from "./admission.js";
import type { Registry, RegistryWrites, WriteOrigin } from "../../domain/registry/registry.js";
import { listIdentifiers, listReports, listStatus } from "../../domain/listing/pager.js";
import type { WatchHub } from "../../domain/watch/hub.js";
import { withStrictUtf8 } from "./codec.js";
import { toGrpcError } from "./errors.js";
import { durationToMs, leaseWriteOf, toGroupReports, toIdentifierStatus, toLeaseFields } from "./mapping.js";
import { type WatchStatusHandler, watchStatusHandler, watchStatusSerialize } from "./watch-status.js";

type Call<Req> = ServerUnaryCall<Req, unknown>;

/** What a read is told of its caller: nothing (reads write no change). */
const READ: WriteOrigin = Object.freeze({});

/** Answers `callback` with a handler's answer, now or once it comes. */
function answer<Res>(value: Res | Promise<Res>, callback: sendUnaryData<Res>): void {
  // A replica's write (etcd mode) is answered once the cluster committed it and this replica applied it.
  if (value instanceof Promise) value.then((v: Res) => callback(null, v), (error: unknown) => callback(toGrpcError(error)));
  else callback(null, value);
}

/**
 * Runs one unary handler: admission, the domain call, and error translation.
 * A write is told who the caller is (`origin.by`, the token's or certificate's
 * name, "anonymous" without auth), which its change carries to the logs.
 */
function unary<Req, Res>(
  gate: Admission,
  write: ((req: Req) => string) | undefined,
  handle: (req: Req, origin: WriteOrigin) => Res | Promise<Res>,
): (call: Call<Req>, callback: sendUnaryData<Res>) => void {
  if (write === undefined) {
    return (call, callback) => {
      try {
        gate.admit(call.metadata);
        answer(handle(call.request, READ), callback);
      } catch (error) {
        callback(toGrpcError(error));
      }
    };
  }
  return (call, callback) => {
    try {
      const principal = gate.admitWrite(call.metadata, write(call.request));
      answer(handle(call.request, { by: principal.name }), callback);
    } catch (error) {
      callback(toGrpcError(error));
    }
  };
}

/** `f` of a write's answer, now or once it comes. */
const then = <T, R>(value: T | Promise<T>, f: (value: T) => R): R | Promise<R> => (value instanceof Promise ? value.then(f) : f(value));

const big = (n: number) => BigInt(n);
const byGroup = (req: { group: string }) => req.group;

interface Encoder {
  encode(message: never, writer?: BinaryWriter): BinaryWriter;
}

/**
 * A response serializer encoding into one writer kept for all calls (encoding
 * is synchronous; `finish` copies the bytes out and resets it), so a call
 * does not allocate and grow a fresh writer buffer.
 */
function serializerOf(fns: Encoder): (value: never) => Buffer {
  let writer = new BinaryWriter();
  return (value) => {
    let bytes: Uint8Array;
    try {
      bytes = fns.encode(value, writer).finish();
    } catch (error) {
      // Left half written: start the next answer on a fresh one.
      writer = new BinaryWriter();
      throw error;
    }
    // A copy into Node's pool: cheaper than a Buffer over the slice's own ArrayBuffer.
    return Buffer.from(bytes);
  };
}

const RESPONSES: Record<string, Encoder> = {
  getStatus: GetStatusResponse,
  listStatus: ListStatusResponse,
  listReports: ListReportsResponse,
  listIdentifiers: ListIdentifiersResponse,
  checkStatus: CheckStatusResponse,
  registerGroup: RegisterGroupResponse,
  unregisterGroup: UnregisterGroupResponse,
  registerIdentifier: RegisterIdentifierResponse,
  unregisterIdentifier: UnregisterIdentifierResponse,
  setStatus: SetStatusResponse,
  addReport: AddReportResponse,
  refreshLease: RefreshLeaseResponse,
};

const unaryDefinitions = Object.fromEntries(
  Object.entries(StatusReportServiceService).map(([name, method]) => {
    const fns = RESPONSES[name];
    return [name, fns ? { ...method, responseSerialize: serializerOf(fns) } : method];
  }),
) as unknown as typeof StatusReportServiceService;

/** The StatusReportService definition, decoding requests with strict UTF-8 checks. */
export const statusReportDefinition = withStrictUtf8(
  {
    ...unaryDefinitions,
    watchStatus: { ...StatusReportServiceService.watchStatus, responseSerialize: watchStatusSerialize },
  },
  {
    getStatus: GetStatusRequest,
    listStatus: ListStatusRequest,
    listReports: ListReportsRequest,
    listIdentifiers: ListIdentifiersRequest,
    checkStatus: CheckStatusRequest,
    registerGroup: RegisterGroupRequest,
    unregisterGroup: UnregisterGroupRequest,
    registerIdentifier: RegisterIdentifierRequest,
    unregisterIdentifier: UnregisterIdentifierRequest,
    setStatus: SetStatusRequest,
    addReport: AddReportRequest,
    refreshLease: RefreshLeaseRequest,
    watchStatus: WatchStatusRequest,
  },
);

/** SetStatus's answer from the registry's. */
const setStatusAnswer = ({ changed, oldStatus, revision }: { changed: boolean; oldStatus: number; revision: number }) => ({
  changed,
  oldStatus,
  revision: big(revision),
});

/** Translates each RPC to one registry or hub call. */
export function statusReportService(registry: Registry, hub: WatchHub, gate: Admission, writes: RegistryWrites = registry): UntypedServiceImplementation {
  const impl: Omit<StatusReportServiceServer, "watchStatus"> & { watchStatus: WatchStatusHandler } = {
    getStatus: unary(gate, undefined, (req: GetStatusRequest) => {
      const { status, revision } = registry.getStatus(req);
      return { status: toIdentifierStatus(status), revision: big(revision) };
    }),
    checkStatus: unary(gate, undefined, (req: CheckStatusRequest) => registry.checkStatus(req)),
    listStatus: unary(gate, undefined, (req: ListStatusRequest) => {
      const page = listStatus(registry, req);
      return {
        groups: page.groups.map((g) => ({ ...g, identifiers: g.identifiers.map(toIdentifierStatus) })),
        revision: big(page.revision),
        nextPageToken: page.nextPageToken,
      };
    }),
    listIdentifiers: unary(gate, undefined, (req: ListIdentifiersRequest) => {
      const page = listIdentifiers(registry, req);
      return { groups: page.groups, revision: big(page.revision), nextPageToken: page.nextPageToken };
    }),
    listReports: unary(gate, undefined, (req: ListReportsRequest) => {
      const page = listReports(registry, req);
      return { groups: page.groups.map(toGroupReports), revision: big(page.revision), nextPageToken: page.nextPageToken };
    }),
    registerGroup: unary(gate, byGroup, (req: RegisterGroupRequest, origin) =>
      then(writes.registerGroup({ ...req, ...leaseWriteOf(req) }, origin), ({ created, revision }) => ({ created, revision: big(revision) })),
    ),
    unregisterGroup: unary(gate, byGroup, (req: UnregisterGroupRequest, origin) =>
      then(writes.unregisterGroup(req, origin), ({ revision }) => ({ revision: big(revision) })),
    ),
    registerIdentifier: unary(gate, byGroup, (req: RegisterIdentifierRequest, origin) =>
      then(writes.registerIdentifier({ ...req, ...leaseWriteOf(req) }, origin), ({ created, status, revision }) => ({
        created,
        status: toIdentifierStatus(status),
        revision: big(revision),
      })),
    ),
    unregisterIdentifier: unary(gate, byGroup, (req: UnregisterIdentifierRequest, origin) =>
      then(writes.unregisterIdentifier(req, origin), ({ revision }) => ({ revision: big(revision) })),
    ),
    setStatus: unary(gate, byGroup, (req: SetStatusRequest, origin) => {
      // What `{ ...req, ...leaseWriteOf(req) }` makes, key for key, without two spreads per call.
      const input = {
        group: req.group,
        identifier: req.identifier,
        status: req.status,
        details: req.details,
        ttl: req.ttl,
        removeAfter: req.removeAfter,
        ttlMs: durationToMs(req.ttl),
        removeAfterMs: durationToMs(req.removeAfter),
      };
      return then(writes.setStatus(input, origin), setStatusAnswer);
    }),
    addReport: unary(gate, byGroup, (req: AddReportRequest, origin) =>
      then(writes.addReport(req, origin), ({ sequence, revision }) => ({ sequence: big(sequence), revision: big(revision) })),
    ),
    refreshLease: unary(gate, byGroup, (req: RefreshLeaseRequest, origin) =>
      then(writes.refreshLease({ group: req.group, identifier: req.identifier, ttlMs: durationToMs(req.ttl) }, origin), ({ lease, revision }) => ({
        ...toLeaseFields(lease),
        revision: big(revision),
      })),
    ),
    watchStatus: watchStatusHandler(registry, hub, gate),
  };
  return impl as unknown as UntypedServiceImplementation;
}
