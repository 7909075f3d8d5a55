/**
 * `auth` and `tls` as the running server applies them: what is refused before
 * anything listens, the policies both listeners enforce, and a reload (SIGHUP)
 * that changes all of it at once or nothing.
 */
import { AccessPolicy } from "../domain/access.js";
import type { Admission } from "../transport/grpc/admission.js";
import type { HttpAccess } from "../transport/http/access.js";
import type { HttpServer } from "../transport/http/server.js";
import { isLoopback, splitListen } from "../transport/listen.js";
import type { CertificateSource } from "../transport/tls.js";
import { ConfigError, type ServerConfig } from "./config.js";

/**
 * Refuses an open server (no token, no client CA) on an address beyond
 * loopback unless asked for (README, Configuration, Auth), and certificate mappings
 * that nothing verifies.
 */
export function checkAuth(config: ServerConfig): void {
  if (config.certificates.length > 0 && !config.tls?.clientCa) {
    throw new ConfigError("auth.certificates: client certificates are verified only with tls.client_ca (or --tls-client-ca)");
  }
  if (config.tokens.length > 0 || config.tls?.clientCa || config.allowOpen) return;
  for (const [listener, listen] of [
    ["gRPC", config.listen],
    ["HTTP", config.http],
  ] as const) {
    const address = listen === undefined ? undefined : splitListen(listen);
    if (address && !isLoopback(address)) {
      throw new ConfigError(
        `refusing to serve ${listener} on ${listen} with no token and no client CA: every caller there could read and write. ` +
          "Configure auth.tokens or tls.client_ca, listen on 127.0.0.1, or pass --allow-open (auth.open: true) to serve it open on purpose",
      );
    }
  }
}

export function policyOf(config: ServerConfig): AccessPolicy {
  return new AccessPolicy(config.tokens, { certificates: config.certificates, clientCa: config.tls?.clientCa !== undefined });
}

export function httpAccessOf(config: ServerConfig): HttpAccess {
  return { policy: policyOf(config), openPaths: config.openHttp };
}

/** What a reload changes in the running server. */
export interface Reloadable {
  config: ServerConfig;
  gate: Admission;
  tls: CertificateSource | undefined;
  http: HttpServer | undefined;
}

/**
 * Applies `next`'s `auth` and `tls` (the listen addresses stay). Throws,
 * changing nothing, when they are refused: a bad setting, an open server
 * beyond loopback, a certificate that does not validate, or TLS turned on or
 * off, which needs a restart. Calls already admitted go on.
 */
export function reloadAuth(running: Reloadable, next: ServerConfig): ServerConfig {
  const merged: ServerConfig = {
    ...running.config,
    tokens: next.tokens,
    certificates: next.certificates,
    openHttp: next.openHttp,
    allowOpen: next.allowOpen,
    tls: next.tls,
  };
  checkAuth(merged);
  if ((merged.tls === undefined) !== (running.tls === undefined)) {
    throw new ConfigError("tls: turning TLS on or off needs a restart");
  }
  if (merged.tls) running.tls?.retarget(merged.tls);
  running.gate.setPolicy(policyOf(merged));
  running.http?.setAccess(httpAccessOf(merged));
  return merged;
}
