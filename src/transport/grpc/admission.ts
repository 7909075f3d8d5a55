/**
 * Whether a call may start: refused with SHUTTING_DOWN once a graceful stop
 * began, then authenticated (bearer token, else a mapped client certificate)
 * and authorized by the access policy. Every gRPC handler asks here first, so
 * the order of checks is the same everywhere (docs/errors.md: authentication,
 * role, then the request itself).
 */
import { type Metadata, type ServerInterceptor, ServerInterceptingCall, ServerListenerBuilder } from "@grpc/grpc-js";
import type { AccessPolicy, CertificateNames, Principal } from "../../domain/access.js";
import { SrError } from "../../domain/errors.js";
import { bearerToken, certificateNames } from "../credentials.js";

export interface AdmitOptions {
  /** The group a write touches: the caller must be allowed to write there. */
  writeGroup?: string;
  /** Admits without a token: health probes and reflection, which reveal no secrets. */
  open?: boolean;
}

/** How a gRPC caller sends its token, for TOKEN_MISSING's message. */
const HINT = "metadata 'authorization: Bearer <token>'";

/** What an open policy is asked with: it looks at no credentials. */
const NO_CREDENTIALS = Object.freeze({ token: undefined, certificate: undefined });

/**
 * The verified client certificate of each call, keyed by the call's request
 * metadata: handlers hand `call.metadata` to `admit`, and a client cannot
 * forge an entry here the way it could forge a header.
 */
const peers = new WeakMap<Metadata, CertificateNames>();

/** Notes the verified client certificate of every call (grpc-js gives it to interceptors, not to `admit`). */
export const peerCertificates: ServerInterceptor = (_method, call) =>
  new ServerInterceptingCall(call, {
    start(next) {
      next(
        new ServerListenerBuilder()
          .withOnReceiveMetadata((metadata, pass) => {
            const peer = call.getAuthContext().sslPeerCertificate;
            if (peer) peers.set(metadata, certificateNames(peer));
            pass(metadata);
          })
          .build(),
      );
    },
  });

export class Admission {
  private stopping = false;

  constructor(private access: AccessPolicy) {}

  /** From now on every call is refused with UNAVAILABLE (SHUTTING_DOWN). */
  stop(): void {
    this.stopping = true;
  }

  /** Applies to calls that start from now on (a configuration reload); calls already admitted go on. */
  setPolicy(access: AccessPolicy): void {
    this.access = access;
  }

  /** Throws SrError unless the call may go on; returns who is calling (undefined for an open call). */
  admit(metadata: Metadata, options?: AdmitOptions): Principal | undefined {
    if (this.stopping) throw new SrError("SHUTTING_DOWN", "the server is shutting down");
    if (options?.open) return undefined;
    const principal = this.caller(metadata);
    if (options?.writeGroup !== undefined) this.access.authorizeWrite(principal, options.writeGroup);
    return principal;
  }

  /** `admit(metadata, { writeGroup: group })` without the options object (the unary writes, once per call). */
  admitWrite(metadata: Metadata, group: string): Principal {
    if (this.stopping) throw new SrError("SHUTTING_DOWN", "the server is shutting down");
    const principal = this.caller(metadata);
    this.access.authorizeWrite(principal, group);
    return principal;
  }

  private caller(metadata: Metadata): Principal {
    const access = this.access;
    // Open mode admits everyone as the same principal: no header to read.
    if (access.open) return access.authenticate(NO_CREDENTIALS, HINT);
    return access.authenticate({ token: bearerToken(metadata.get("authorization")[0]), certificate: peers.get(metadata) }, HINT);
  }
}
