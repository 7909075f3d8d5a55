import {
  Metadata,
  type ServerUnaryCall,
  type ServerWritableStream,
  type UntypedServiceImplementation,
  type sendUnaryData,
} from "@grpc/grpc-js";
import {
  AddReportRequest,
  CheckStatusRequest,
  GetStatusRequest,
  ListIdentifiersRequest,
  ListReportsRequest,
  ListStatusRequest,
  RegisterGroupRequest,
  RegisterIdentifierRequest,
  SetStatusRequest,
  StatusReportServiceService,
  UnregisterGroupRequest,
  UnregisterIdentifierRequest,
  WatchStatusRequest,
  WatchStatusResponse,
  type StatusReportServiceServer,
} from "../../../gen/ts/sr/v1/sr.js";
import type { AccessPolicy } from "../../domain/access.js";
import { SrError } from "../../domain/errors.js";
import type { Registry } from "../../domain/registry.js";
import type { Change } from "../../domain/registry.js";
import type { WatchEvent, WatchHub } from "../../domain/watch-hub.js";
import { withStrictUtf8 } from "./codec.js";
import { toGroupReports, toIdentifierStatus, toWatchResponse } from "./mapping.js";
import { toGrpcError } from "./errors.js";

/**
 * Decides whether a call may start: refused with UNAVAILABLE once a graceful
 * stop began, UNAUTHENTICATED / PERMISSION_DENIED per the access policy.
 */
export class CallGate {
  stopping = false;

  constructor(private readonly access: AccessPolicy) {}

  /**
   * `writeGroup` names the group a write touches; `open` admits without a
   * token (health probes and reflection, which carry no secrets).
   */
  admit(metadata: Metadata, writeGroup?: string, open = false): void {
    if (this.stopping) throw new SrError("SHUTTING_DOWN", "the server is shutting down");
    if (open) return;
    const header = metadata.get("authorization")[0];
    const token = typeof header === "string" ? header.replace(/^Bearer\s+/i, "") : undefined;
    const principal = this.access.authenticate(token);
    if (writeGroup !== undefined) this.access.authorizeWrite(principal, writeGroup);
  }
}

type Call<Req> = ServerUnaryCall<Req, unknown>;

/** Initial metadata of WatchStatus naming the registry instance (see sr.proto). */
export const REGISTRY_ID_HEADER = "sr-registry-id";

/** Runs one unary handler: admission, the domain call, and error translation. */
function unary<Req, Res>(
  gate: CallGate,
  write: ((req: Req) => string) | undefined,
  handle: (req: Req) => Res,
): (call: Call<Req>, callback: sendUnaryData<Res>) => void {
  return (call, callback) => {
    try {
      gate.admit(call.metadata, write?.(call.request));
      callback(null, handle(call.request));
    } catch (error) {
      callback(toGrpcError(error));
    }
  };
}

const big = (n: number) => BigInt(n);
const byGroup = (req: { group: string }) => req.group;

/**
 * Encoded watch responses, shared by every watcher that receives the same
 * change (its message does not depend on the watch options), so a change
 * fanned out to a thousand watchers is encoded once.
 */
const encodedChanges = new WeakMap<Change, Buffer>();

function encodeEvent(event: WatchEvent): Buffer {
  if (event.kind !== "change") return Buffer.from(WatchStatusResponse.encode(toWatchResponse(event)).finish());
  let bytes = encodedChanges.get(event.change);
  if (!bytes) {
    bytes = Buffer.from(WatchStatusResponse.encode(toWatchResponse(event)).finish());
    encodedChanges.set(event.change, bytes);
  }
  return bytes;
}

/** Streams a watcher's events, waiting for the stream to drain whenever grpc-js asks. */
async function pump(call: ServerWritableStream<WatchStatusRequest, Buffer>, next: () => Promise<WatchEvent | undefined>, stop: () => void) {
  let cancelled = false;
  let resumeWriting: (() => void) | undefined;
  const onGone = () => {
    cancelled = true;
    stop();
    resumeWriting?.();
  };
  const onDrain = () => resumeWriting?.();
  call.on("cancelled", onGone);
  call.on("error", onGone);
  call.on("drain", onDrain);
  try {
    for (;;) {
      const event = await next();
      if (!event || cancelled) break;
      if (!call.write(encodeEvent(event))) {
        await new Promise<void>((resolve) => {
          resumeWriting = resolve;
        });
        resumeWriting = undefined;
        if (cancelled) break;
      }
    }
    if (!cancelled) call.end();
  } finally {
    stop();
    call.off("cancelled", onGone);
    call.off("error", onGone);
    call.off("drain", onDrain);
  }
}

/** The StatusReportService definition, decoding requests with strict UTF-8 checks. */
export const statusReportDefinition = withStrictUtf8(
  {
    ...StatusReportServiceService,
    // Watch responses are encoded once per change by encodeEvent.
    watchStatus: { ...StatusReportServiceService.watchStatus, responseSerialize: (value: Buffer) => value },
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
    watchStatus: WatchStatusRequest,
  },
);

/** Translates each RPC to one registry or hub call. */
export function statusReportService(registry: Registry, hub: WatchHub, gate: CallGate): UntypedServiceImplementation {
  const impl: Omit<StatusReportServiceServer, "watchStatus"> & {
    watchStatus: (call: ServerWritableStream<WatchStatusRequest, Buffer>) => void;
  } = {
    getStatus: unary(gate, undefined, (req: GetStatusRequest) => {
      const { status, revision } = registry.getStatus(req);
      return { status: toIdentifierStatus(status), revision: big(revision) };
    }),
    checkStatus: unary(gate, undefined, (req: CheckStatusRequest) => registry.checkStatus(req)),
    listStatus: unary(gate, undefined, (req: ListStatusRequest) => {
      const page = registry.listStatus(req);
      return {
        groups: page.groups.map((g) => ({ ...g, identifiers: g.identifiers.map(toIdentifierStatus) })),
        revision: big(page.revision),
        nextPageToken: page.nextPageToken,
      };
    }),
    listIdentifiers: unary(gate, undefined, (req: ListIdentifiersRequest) => {
      const page = registry.listIdentifiers(req);
      return { groups: page.groups, revision: big(page.revision), nextPageToken: page.nextPageToken };
    }),
    listReports: unary(gate, undefined, (req: ListReportsRequest) => {
      const page = registry.listReports(req);
      return { groups: page.groups.map(toGroupReports), revision: big(page.revision), nextPageToken: page.nextPageToken };
    }),
    registerGroup: unary(gate, byGroup, (req: RegisterGroupRequest) => {
      const { created, revision } = registry.registerGroup(req);
      return { created, revision: big(revision) };
    }),
    unregisterGroup: unary(gate, byGroup, (req: UnregisterGroupRequest) => ({
      revision: big(registry.unregisterGroup(req).revision),
    })),
    registerIdentifier: unary(gate, byGroup, (req: RegisterIdentifierRequest) => {
      const { created, status, revision } = registry.registerIdentifier(req);
      return { created, status: toIdentifierStatus(status), revision: big(revision) };
    }),
    unregisterIdentifier: unary(gate, byGroup, (req: UnregisterIdentifierRequest) => ({
      revision: big(registry.unregisterIdentifier(req).revision),
    })),
    setStatus: unary(gate, byGroup, (req: SetStatusRequest) => {
      const { changed, oldStatus, revision } = registry.setStatus(req);
      return { changed, oldStatus, revision: big(revision) };
    }),
    addReport: unary(gate, byGroup, (req: AddReportRequest) => {
      const { sequence, revision } = registry.addReport(req);
      return { sequence: big(sequence), revision: big(revision) };
    }),
    watchStatus: (call) => {
      let watcher: ReturnType<WatchHub["watch"]>;
      try {
        gate.admit(call.metadata);
        const req = call.request;
        watcher = hub.watch(
          {
            group: req.group,
            identifier: req.identifier,
            startRevision: req.startRevision === undefined ? undefined : Number(req.startRevision),
            includeDetails: req.includeDetails,
            includeReports: req.includeReports,
            includeRegistrations: req.includeRegistrations,
          },
          call.getPeer(),
        );
      } catch (error) {
        call.emit("error", toGrpcError(error));
        return;
      }
      const metadata = new Metadata();
      metadata.set(REGISTRY_ID_HEADER, registry.id);
      call.sendMetadata(metadata);
      void pump(
        call,
        () => watcher.next(),
        () => watcher.close(),
      );
    },
  };
  return impl as unknown as UntypedServiceImplementation;
}
