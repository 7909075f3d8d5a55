/**
 * Domain errors. Each kind maps to exactly one gRPC status code in
 * src/transport/grpc/status.ts; the domain itself knows nothing of gRPC.
 */
export type ErrorKind =
  | "invalid_argument"
  | "not_found"
  | "already_exists"
  | "permission_denied"
  | "failed_precondition"
  | "resource_exhausted"
  | "out_of_range"
  | "unauthenticated"
  | "unavailable";

export class SrError extends Error {
  constructor(
    readonly kind: ErrorKind,
    message: string,
  ) {
    super(message);
    this.name = "SrError";
  }
}

export const invalidArgument = (field: string, rule: string): SrError =>
  new SrError("invalid_argument", `${field}: ${rule}`);
