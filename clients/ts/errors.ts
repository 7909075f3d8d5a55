/**
 * Errors of the client: a gRPC failure with the reason the server gave it.
 * The server sends the rich error model (a google.rpc.Status in
 * `grpc-status-details-bin`, holding an ErrorInfo and, by code, BadRequest or
 * ResourceInfo); this module decodes it so callers branch on `reason`, never
 * on the message text.
 */
import { Metadata, type ServiceError, type StatusObject, status } from "@grpc/grpc-js";
import {
  BadRequest,
  type BadRequest_FieldViolation,
  ErrorInfo,
  ResourceInfo,
} from "../../gen/ts/google/rpc/error_details.js";
import { Status } from "../../gen/ts/google/rpc/status.js";
import { ERROR_DOMAIN, type Reason, STATUS_DETAILS_KEY, isReason } from "../../src/protocol/wire.js";

/** What `grpc-status-details-bin` holds, each part absent when not sent (or not decodable). */
export interface ErrorDetails {
  status?: Status;
  errorInfo?: ErrorInfo;
  badRequest?: BadRequest;
  resourceInfo?: ResourceInfo;
}

const TYPE_PREFIX = "type.googleapis.com/";

/**
 * Decodes the rich error details of a failed call's trailers. Never throws:
 * an error must stay reportable even when its details are malformed, so what
 * cannot be decoded is left out.
 */
export function decodeErrorDetails(metadata: Metadata): ErrorDetails {
  const bytes = metadata.get(STATUS_DETAILS_KEY)[0];
  if (!Buffer.isBuffer(bytes)) return {};
  let decoded: Status;
  try {
    decoded = Status.decode(bytes);
  } catch {
    return {};
  }
  const out: ErrorDetails = { status: decoded };
  for (const any of decoded.details) {
    const typeName = any.typeUrl.startsWith(TYPE_PREFIX) ? any.typeUrl.slice(TYPE_PREFIX.length) : any.typeUrl;
    // The first of each type wins (a server sends at most one); an undecodable one is left out.
    try {
      if (typeName === "google.rpc.ErrorInfo") out.errorInfo ??= ErrorInfo.decode(any.value);
      else if (typeName === "google.rpc.BadRequest") out.badRequest ??= BadRequest.decode(any.value);
      else if (typeName === "google.rpc.ResourceInfo") out.resourceInfo ??= ResourceInfo.decode(any.value);
    } catch {
      // Left out, as above.
    }
  }
  return out;
}

/**
 * A failed call: `code`, `details` and `metadata` exactly as grpc-js has them
 * (it is a ServiceError), plus what the server's ErrorInfo says.
 */
export class SrError extends Error implements ServiceError {
  readonly code: status;
  readonly details: string;
  readonly metadata: Metadata;
  /** The stable reason, when the service itself answered (domain `sr.v1`) with one this client knows. */
  readonly reason: Reason | undefined;
  /** ErrorInfo's domain (`sr.v1` for the service's own errors). */
  readonly domain: string | undefined;
  /** ErrorInfo's metadata: `group`, `identifier`, `field`, `limit`, `oldest_revision`, as they apply. */
  readonly errorMetadata: Readonly<Record<string, string>>;
  /** For HISTORY_COMPACTED: the oldest `start_revision` still resumable. */
  readonly oldestRevision: bigint | undefined;
  /** BadRequest's violations (INVALID_ARGUMENT): which field, and why. */
  readonly fieldViolations: readonly BadRequest_FieldViolation[];
  /** ResourceInfo (NOT_FOUND): the group or identifier that does not exist. */
  readonly resourceInfo: ResourceInfo | undefined;

  constructor(call: StatusObject) {
    super(`${call.code} ${status[call.code]}: ${call.details}`);
    this.name = "SrError";
    this.code = call.code;
    this.details = call.details;
    this.metadata = call.metadata;
    const { errorInfo, badRequest, resourceInfo } = decodeErrorDetails(call.metadata);
    this.domain = errorInfo?.domain;
    this.reason = errorInfo?.domain === ERROR_DOMAIN && isReason(errorInfo.reason) ? errorInfo.reason : undefined;
    this.errorMetadata = errorInfo?.metadata ?? {};
    const oldest = this.errorMetadata.oldest_revision;
    this.oldestRevision = this.reason === "HISTORY_COMPACTED" && oldest !== undefined && /^\d+$/.test(oldest) ? BigInt(oldest) : undefined;
    this.fieldViolations = badRequest?.fieldViolations ?? [];
    this.resourceInfo = resourceInfo;
  }

  /** Wraps grpc-js's error, keeping its stack (which names the caller's frame, "for call at"). */
  static from(error: ServiceError): SrError {
    if (error instanceof SrError) return error;
    const wrapped = new SrError(error);
    if (error.stack) wrapped.stack = error.stack.replace(/^Error: /, "SrError: ");
    return wrapped;
  }

  /** What a call cancelled before it was sent fails with, as grpc-js words a cancel. */
  static cancelled(): SrError {
    return new SrError({ code: status.CANCELLED, details: "Cancelled on client", metadata: new Metadata() });
  }
}

/** Whether `error` is grpc-js's error of a finished call (anything else is not the server's answer). */
export function isServiceError(error: unknown): error is ServiceError {
  if (!(error instanceof Error)) return false;
  const { code, details, metadata } = error as Partial<ServiceError>;
  return typeof code === "number" && typeof details === "string" && metadata instanceof Metadata;
}
