/**
 * Who may fetch what over HTTP: the same tokens and client certificates as
 * gRPC, per path. With tokens or certificates configured a path needs a
 * reader (any role) unless PATHS says it is open or `auth.open_http` lists it.
 */
import type { IncomingMessage } from "node:http";
import type { TLSSocket } from "node:tls";
import { AccessPolicy } from "../../domain/access.js";
import { SrError } from "../../domain/errors.js";
import { bearerToken, certificateNames } from "../credentials.js";

export type PathAccess = "open" | "reader";

/**
 * Each path of the listener (as `pathOf` normalizes it), listed before its
 * route exists so that it slots in. A path missing here needs a reader, so a
 * new route is closed until it is listed. A `METHOD /path` entry (HEAD counts
 * as GET) overrides the path's own: the status page's shell (GET /) and its
 * static assets are open, while POST / (MI) and its data (/events) need a reader.
 */
export const PATHS: Readonly<Record<string, PathAccess>> = {
  "/": "reader",
  // The status page's shell and assets: open (the page asks for a token); its state comes from /events.
  "GET /": "open",
  "/page/app.js": "open",
  "/page/view.js": "open",
  "/page/style.css": "open",
  "/mi": "reader",
  "/json": "reader",
  "/metrics": "reader",
  "/events": "reader",
  "/healthz": "open",
  "/readyz": "open",
};

/** The path without its query, and without one trailing slash (`/mi/` is `/mi`). */
export function pathOf(url: string | undefined): string {
  const path = new URL(url ?? "/", "http://localhost").pathname;
  return path.length > 1 && path.endsWith("/") ? path.slice(0, -1) : path;
}

/** What the HTTP listener is told of `auth`: the policy, and the paths left open on purpose. */
export interface HttpAccess {
  policy: AccessPolicy;
  openPaths: readonly string[];
}

export const OPEN_ACCESS: HttpAccess = { policy: new AccessPolicy([]), openPaths: [] };

const HINT = "header 'Authorization: Bearer <token>'";

export interface Refusal {
  status: 401;
  headers: Record<string, string>;
  body: string;
}

/** Undefined when `req` may fetch `path`, else the 401 to answer (RFC 6750's challenge). */
export function refusalOf(access: HttpAccess, path: string, req: IncomingMessage): Refusal | undefined {
  // A `METHOD /path` entry, where there is one, overrides the path's (GET / is the page, POST / is MI).
  const method = req.method === "HEAD" ? "GET" : req.method;
  const rule = PATHS[`${method} ${path}`] ?? PATHS[path];
  if (access.policy.open || rule === "open" || access.openPaths.includes(path)) return undefined;
  const socket = req.socket as Partial<TLSSocket>;
  const peer = socket.authorized ? socket.getPeerCertificate?.() : undefined;
  try {
    access.policy.authenticate({ token: bearerToken(req.headers.authorization), certificate: peer ? certificateNames(peer) : undefined }, HINT);
    return undefined;
  } catch (error) {
    if (!(error instanceof SrError)) throw error;
    const challenge = error.reason === "TOKEN_UNKNOWN" ? 'Bearer error="invalid_token"' : "Bearer";
    return { status: 401, headers: { "WWW-Authenticate": challenge }, body: `${error.message}\n` };
  }
}
