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
import type { Registry, WriteOrigin } from "../../domain/registry/registry.js";
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
  handle: (req: Req, origin: WriteOrigin) => Res,
): (call: Call<Req>, callback: sendUnaryData<Res>) => void {
  return (call, callback) => {
    try {
      const writeGroup = write?.(call.request);
      const principal = gate.admit(call.metadata, writeGroup === undefined ? {} : { writeGroup });
      callback(null, handle(call.request, { by: principal?.name }));
    } catch (error) {
      callback(toGrpcError(error));
    }
  };
}

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
export function statusReportService(registry: Registry, hub: WatchHub, gate: Admission): UntypedServiceImplementation {
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
    registerGroup: unary(gate, byGroup, (req: RegisterGroupRequest, origin) => {
      const { created, revision } = registry.registerGroup({ ...req, ...leaseWriteOf(req) }, origin);
      return { created, revision: big(revision) };
    }),
    unregisterGroup: unary(gate, byGroup, (req: UnregisterGroupRequest, origin) => ({
      revision: big(registry.unregisterGroup(req, origin).revision),
    })),
    registerIdentifier: unary(gate, byGroup, (req: RegisterIdentifierRequest, origin) => {
      const { created, status, revision } = registry.registerIdentifier({ ...req, ...leaseWriteOf(req) }, origin);
      return { created, status: toIdentifierStatus(status), revision: big(revision) };
    }),
    unregisterIdentifier: unary(gate, byGroup, (req: UnregisterIdentifierRequest, origin) => ({
      revision: big(registry.unregisterIdentifier(req, origin).revision),
    })),
    setStatus: unary(gate, byGroup, (req: SetStatusRequest, origin) => {
      const { changed, oldStatus, revision } = registry.setStatus({ ...req, ...leaseWriteOf(req) }, origin);
      return { changed, oldStatus, revision: big(revision) };
    }),
    addReport: unary(gate, byGroup, (req: AddReportRequest, origin) => {
      const { sequence, revision } = registry.addReport(req, origin);
      return { sequence: big(sequence), revision: big(revision) };
    }),
    refreshLease: unary(gate, byGroup, (req: RefreshLeaseRequest, origin) => {
      const { lease, revision } = registry.refreshLease({ group: req.group, identifier: req.identifier, ttlMs: durationToMs(req.ttl) }, origin);
      return { ...toLeaseFields(lease), revision: big(revision) };
    }),
    watchStatus: watchStatusHandler(registry, hub, gate),
  };
  return impl as unknown as UntypedServiceImplementation;
}
