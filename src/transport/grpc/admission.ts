/**
 * Whether a call may start: refused with SHUTTING_DOWN once a graceful stop
 * began, then authenticated and authorized by the access policy. Every gRPC
 * handler asks here first, so the order of checks is the same everywhere
 * (docs/errors.md: authentication, role, then the request itself).
 */
import type { Metadata } from "@grpc/grpc-js";
import type { AccessPolicy, Principal } from "../../domain/access.js";
import { SrError } from "../../domain/errors.js";

export interface AdmitOptions {
  /** The group a write touches: the caller must be allowed to write there. */
  writeGroup?: string;
  /** Admits without a token: health probes and reflection, which reveal no secrets. */
  open?: boolean;
}

/** The token of an `authorization: Bearer <token>` header; any other header counts as none (TOKEN_MISSING). */
function bearerToken(metadata: Metadata): string | undefined {
  const header = metadata.get("authorization")[0];
  return typeof header === "string" ? /^Bearer\s+(\S+)\s*$/i.exec(header)?.[1] : undefined;
}

export class Admission {
  private stopping = false;

  constructor(private readonly access: AccessPolicy) {}

  /** From now on every call is refused with UNAVAILABLE (SHUTTING_DOWN). */
  stop(): void {
    this.stopping = true;
  }

  /** Throws SrError unless the call may go on; returns who is calling (undefined for an open call). */
  admit(metadata: Metadata, options: AdmitOptions = {}): Principal | undefined {
    if (this.stopping) throw new SrError("SHUTTING_DOWN", "the server is shutting down");
    if (options.open) return undefined;
    const principal = this.access.authenticate(bearerToken(metadata));
    if (options.writeGroup !== undefined) this.access.authorizeWrite(principal, options.writeGroup);
    return principal;
  }
}
