import { Metadata, type StatusObject, status } from "@grpc/grpc-js";
import { type ErrorKind, SrError } from "../../domain/errors.js";

/** The one place where domain error kinds become gRPC status codes. */
const CODES: Record<ErrorKind, status> = {
  invalid_argument: status.INVALID_ARGUMENT,
  not_found: status.NOT_FOUND,
  already_exists: status.ALREADY_EXISTS,
  permission_denied: status.PERMISSION_DENIED,
  failed_precondition: status.FAILED_PRECONDITION,
  resource_exhausted: status.RESOURCE_EXHAUSTED,
  out_of_range: status.OUT_OF_RANGE,
  unauthenticated: status.UNAUTHENTICATED,
  unavailable: status.UNAVAILABLE,
};

export type GrpcError = Partial<StatusObject> & { code: status; details: string };

/** Translates anything thrown by a handler into a gRPC status. */
export function toGrpcError(error: unknown): GrpcError {
  if (error instanceof SrError) return { code: CODES[error.kind], details: error.message, metadata: new Metadata() };
  // A bug of ours, not the caller's mistake: INTERNAL (never UNKNOWN), logged.
  console.error("sr: internal error:", error);
  return { code: status.INTERNAL, details: "internal error", metadata: new Metadata() };
}
