/**
 * The one place where domain errors become gRPC statuses: the code comes from
 * the reason (the REASONS table of protocol/wire.ts), and the rich error model
 * of AIP-193 rides in `grpc-status-details-bin`: a google.rpc.Status with the
 * same code and message as the call's, holding an ErrorInfo (reason, domain,
 * metadata), BadRequest field violations for INVALID_ARGUMENT and a
 * ResourceInfo for NOT_FOUND. Clients decide on the reason, never the text.
 */
import { Metadata, type StatusObject, status } from "@grpc/grpc-js";
import { Any } from "../../../gen/ts/google/protobuf/any.js";
import { BadRequest, ErrorInfo, ResourceInfo } from "../../../gen/ts/google/rpc/error_details.js";
import { Status } from "../../../gen/ts/google/rpc/status.js";
import { SrError } from "../../domain/errors.js";
import { ERROR_DOMAIN, REASONS, STATUS_DETAILS_KEY } from "../../protocol/wire.js";

export type GrpcError = Partial<StatusObject> & { code: status; details: string };

const TYPE_PREFIX = "type.googleapis.com/";

function pack<T>(typeName: string, fns: { encode(message: T): { finish(): Uint8Array } }, message: T): Any {
  return { typeUrl: TYPE_PREFIX + typeName, value: Buffer.from(fns.encode(message).finish()) };
}

/** ErrorInfo.metadata: what the error is about, by the keys docs/errors.md lists. */
function metadataOf(error: SrError): Record<string, string> {
  const { field, group, identifier, limit, oldestRevision } = error.facts;
  const out: Record<string, string> = {};
  if (group !== undefined) out.group = group;
  if (identifier !== undefined) out.identifier = identifier;
  if (field !== undefined) out.field = field;
  if (limit !== undefined) out.limit = limit;
  if (oldestRevision !== undefined) out.oldest_revision = String(oldestRevision);
  return out;
}

function detailsOf(error: SrError, code: status): Any[] {
  const details = [pack("google.rpc.ErrorInfo", ErrorInfo, { reason: error.reason, domain: ERROR_DOMAIN, metadata: metadataOf(error) })];
  const { field, group, identifier } = error.facts;
  if (code === status.INVALID_ARGUMENT && field !== undefined) {
    const violation = { field, description: error.message, reason: error.reason, localizedMessage: undefined };
    details.push(pack("google.rpc.BadRequest", BadRequest, { fieldViolations: [violation] }));
  }
  if (code === status.NOT_FOUND && group !== undefined) {
    const resource =
      identifier === undefined
        ? { resourceType: "sr.v1.Group", resourceName: group }
        : { resourceType: "sr.v1.Identifier", resourceName: `${group}/${identifier}` };
    details.push(pack("google.rpc.ResourceInfo", ResourceInfo, { ...resource, owner: "", description: error.message }));
  }
  return details;
}

/** A domain error as the status a handler answers with, rich details included. */
export function grpcErrorOf(error: SrError): GrpcError {
  const code = status[REASONS[error.reason].code];
  const metadata = new Metadata();
  const rich = Status.encode({ code, message: error.message, details: detailsOf(error, code) }).finish();
  metadata.set(STATUS_DETAILS_KEY, Buffer.from(rich));
  return { code, details: error.message, metadata };
}

/**
 * The cause of each INTERNAL answer, by the trailers it is sent with: the
 * listener's interceptor (metrics.ts) finds it there when the call ends and
 * logs it with the method; the client sees only "internal error".
 */
const internalCauses = new WeakMap<Metadata, unknown>();

/** What toGrpcError answered INTERNAL for, given the trailers it answered with; undefined for any other answer. */
export function internalCauseOf(trailers: Metadata): unknown {
  return internalCauses.get(trailers);
}

/** Translates anything thrown by a handler into a gRPC status. */
export function toGrpcError(error: unknown): GrpcError {
  if (error instanceof SrError) return grpcErrorOf(error);
  // A bug of ours, not the caller's mistake: INTERNAL (never UNKNOWN), logged when the call ends (internalCauseOf).
  const metadata = new Metadata();
  internalCauses.set(metadata, error ?? new Error(String(error)));
  return { code: status.INTERNAL, details: "internal error", metadata };
}
