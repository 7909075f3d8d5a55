import type { ServerUnaryCall, UntypedServiceImplementation, sendUnaryData } from "@grpc/grpc-js";
import {
  AddReportRequest,
  CheckStatusRequest,
  GetStatusRequest,
  ListIdentifiersRequest,
  ListReportsRequest,
  ListStatusRequest,
  RefreshLeaseRequest,
  RegisterGroupRequest,
  RegisterIdentifierRequest,
  SetStatusRequest,
  StatusReportServiceService,
  UnregisterGroupRequest,
  UnregisterIdentifierRequest,
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
  return (call, callback) => {
    try {
      const writeGroup = write?.(call.request);
      const principal = gate.admit(call.metadata, writeGroup === undefined ? {} : { writeGroup });
      const answer = handle(call.request, { by: principal?.name });
      // A replica's write (etcd mode) is answered once the cluster committed it and this replica applied it.
      if (answer instanceof Promise) answer.then((value) => callback(null, value), (error: unknown) => callback(toGrpcError(error)));
      else callback(null, answer);
    } catch (error) {
      callback(toGrpcError(error));
    }
  };
}

/** `f` of a write's answer, now or once it comes. */
const then = <T, R>(value: T | Promise<T>, f: (value: T) => R): R | Promise<R> => (value instanceof Promise ? value.then(f) : f(value));

const big = (n: number) => BigInt(n);
const byGroup = (req: { group: string }) => req.group;

/** The StatusReportService definition, decoding requests with strict UTF-8 checks. */
export const statusReportDefinition = withStrictUtf8(
  {
    ...StatusReportServiceService,
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
    setStatus: unary(gate, byGroup, (req: SetStatusRequest, origin) =>
      then(writes.setStatus({ ...req, ...leaseWriteOf(req) }, origin), ({ changed, oldStatus, revision }) => ({ changed, oldStatus, revision: big(revision) })),
    ),
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
