/**
 * The HTTP listener of the MI endpoint: JSON-RPC 2.0 over POST, as OpenSIPS's
 * mi_http / mi_json answer it, so OpenSIPS monitoring scripts can point here.
 *
 * - POST /mi (also / and /json, a trailing slash allowed, any query string
 *   ignored) with a JSON body of at most 1 MiB; the Content-Type of the request
 *   is not checked (curl -d sends form encoding by default).
 * - Every JSON-RPC answer, errors included, is HTTP 200 application/json; a
 *   body that is not JSON (or not UTF-8) is the JSON-RPC parse error -32700.
 *   A notification (or a batch of them only) is 204 with no body.
 * - Other methods on those paths: 405 with Allow: POST, except GET / (the
 *   status page, page/) and GET /events (events.ts). Other paths: 404.
 *   A body over 1 MiB: 413 and the connection is closed. A request target
 *   that does not parse as a URL: 400 `bad request target`.
 * - Answers are bounded (`limits.max_answer_bytes`, docs/mi.md), and a failure
 *   of ours answers 500: no request, however large its answer, escapes.
 * - With tokens or certificates configured, a path needs a reader unless it
 *   is open (access.ts): 401 with `WWW-Authenticate: Bearer` otherwise, before
 *   anything else is looked at. With `tls` it serves HTTPS with the gRPC
 *   listener's certificate, swapped in whenever that one is.
 */
import { type IncomingMessage, type Server, type ServerResponse, createServer } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { splitListen } from "../listen.js";
import type { CertificateSource } from "../tls.js";
import { type HttpAccess, OPEN_ACCESS, pathOf, refusalOf } from "./access.js";
import type { Registry } from "../../domain/registry/registry.js";
import { type MiErrorListener, handleMiRequest, parseErrorResponse } from "./mi.js";
import { WatchHub } from "../../domain/watch/hub.js";
import type { EventsOptions } from "./events.js";
import { type PageContext, servePage } from "./page/index.js";
import { type ProbeContext, serveProbe } from "./probes.js";

export const MAX_BODY_BYTES = 1024 * 1024;
const MI_PATHS = new Set(["/", "/mi", "/json"]);

export interface HttpOptions {
  /** Serve HTTPS with this material (and verify client certificates when it has a client CA). */
  tls?: CertificateSource | undefined;
  access?: HttpAccess | undefined;
  /** `limits.max_answer_bytes`: the bound on one answer (a batch's as a whole). */
  maxAnswerBytes?: number | undefined;
  /** The hub GET /events watches (the server's, shared with WatchStatus); without one the listener makes its own. */
  hub?: WatchHub | undefined;
  events?: EventsOptions | undefined;
  /** What GET /metrics answers (src/app/metrics.ts); without it /metrics is 404. */
  metrics?: (() => Promise<{ contentType: string; body: string }>) | undefined;
  /** Where refusals and failures of ours are told (the server's logger); failures go to console.error without it. */
  log?: HttpEvents | undefined;
}

/** What the listener tells of the requests it refuses and of its own failures; never a header or a body. */
export interface HttpEvents {
  /** A 401, or an MI call answered with an error (`mi`: the method, the JSON-RPC error and the domain's reason). */
  refused(event: { method: string | undefined; path: string; status: number; message: string; mi?: { method: string; code: number; reason: string | undefined } }): void;
  /** A failure of ours (a 500, an MI internal error), with its cause. */
  failed(event: { method: string | undefined; path: string; mi?: string }, error: unknown): void;
}

const CONSOLE_EVENTS: HttpEvents = {
  refused() {},
  failed(_event, error) {
    console.error("sr: HTTP request failed:", error);
  },
};

export interface HttpServer {
  /** HOST:PORT actually bound (the host as given, the port as chosen). */
  readonly address: string;
  /** Applies to requests from now on (a configuration reload). */
  setAccess(access: HttpAccess): void;
  /** Stops listening and closes every connection, idle keep-alive ones included. */
  close(): Promise<void>;
}

function send(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  const type = status === 200 ? "application/json" : "text/plain; charset=utf-8";
  res.writeHead(status, { "Content-Type": type, "Content-Length": String(Buffer.byteLength(body)), ...headers });
  res.end(body);
}

function tooLarge(req: IncomingMessage, res: ServerResponse): void {
  if (res.headersSent) return;
  send(res, 413, `request body over ${MAX_BODY_BYTES} bytes\n`, { Connection: "close" });
  // Whatever is still coming is read and dropped until the socket closes.
  req.resume();
}

/** What a log entry names a request's path by: pathOf's, or nothing for a target it does not parse. */
function loggedPath(url: string | undefined): string {
  try {
    return pathOf(url);
  } catch {
    return "";
  }
}

/** Runs a handler's step; a failure of ours answers 500 (or drops the connection) instead of escaping. */
function guard(req: IncomingMessage, res: ServerResponse, log: HttpEvents, step: () => void): void {
  try {
    step();
  } catch (error) {
    // The path as pathOf makes it (never the target as sent: its query or userinfo could hold anything).
    log.failed({ method: req.method, path: loggedPath(req.url) }, error);
    if (res.headersSent) res.destroy();
    else send(res, 500, "internal error\n", { Connection: "close" });
  }
}

function answer(registry: Registry, text: string, res: ServerResponse, maxAnswerBytes: number | undefined, onError: MiErrorListener): void {
  let body: unknown;
  try {
    body = JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  } catch (error) {
    send(res, 200, JSON.stringify(parseErrorResponse((error as Error).message)));
    return;
  }
  const response = handleMiRequest(registry, body, maxAnswerBytes, onError);
  if (response === undefined) {
    res.writeHead(204);
    res.end();
    return;
  }
  send(res, 200, JSON.stringify(response));
}

/** What every request of one listener is served with. */
interface Listener {
  registry: Registry;
  /** The access rules as they are now (SIGHUP may replace them). */
  access(): HttpAccess;
  maxAnswerBytes: number | undefined;
  page: PageContext;
  probes: ProbeContext;
  /** Where refusals and failures of ours are told. */
  log: HttpEvents;
}

function onRequest(listener: Listener, req: IncomingMessage, res: ServerResponse): void {
  const { registry, log } = listener;
  let path: string;
  try {
    path = pathOf(req.url);
  } catch {
    // A target no URL parser takes (`//[`, `http://[`): the caller's mistake, told without the target (it could hold userinfo).
    req.resume();
    log.refused({ method: req.method, path: "", status: 400, message: "bad request target" });
    send(res, 400, "bad request target\n", { Connection: "close" });
    return;
  }
  const refusal = refusalOf(listener.access(), path, req);
  if (refusal) {
    req.resume();
    log.refused({ method: req.method, path, status: refusal.status, message: refusal.body.trim() });
    send(res, refusal.status, refusal.body, refusal.headers);
    return;
  }
  // /healthz, /readyz, /metrics (probes.ts).
  if (serveProbe(listener.probes, req, res, path)) return;
  // The status page (GET /, /page/*) and its events (GET /events); POST / stays MI.
  if (servePage(listener.page, req, res, path)) return;
  if (!MI_PATHS.has(path)) {
    req.resume();
    send(res, 404, "not found: POST JSON-RPC 2.0 to /mi\n");
    return;
  }
  if (req.method !== "POST") {
    req.resume();
    send(res, 405, "method not allowed: POST JSON-RPC 2.0 to /mi\n", { Allow: "POST" });
    return;
  }
  const declared = Number(req.headers["content-length"]);
  if (Number.isFinite(declared) && declared > MAX_BODY_BYTES) {
    tooLarge(req, res);
    return;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  let over = false;
  req.on("data", (chunk: Buffer) => {
    if (over) return;
    size += chunk.length;
    if (size > MAX_BODY_BYTES) {
      over = true;
      chunks.length = 0;
      tooLarge(req, res);
      return;
    }
    chunks.push(chunk);
  });
  req.on("end", () => {
    if (over) return;
    let text: string;
    try {
      text = new TextDecoder("utf-8", { fatal: true }).decode(Buffer.concat(chunks, size));
    } catch {
      send(res, 200, JSON.stringify(parseErrorResponse("the body is not valid UTF-8")));
      return;
    }
    const onError: MiErrorListener = (method, error, cause) => {
      if (cause === undefined) log.refused({ method: req.method, path, status: 200, message: error.data ?? error.message, mi: { method, code: error.code, reason: error.reason } });
      else log.failed({ method: req.method, path, mi: method }, cause);
    };
    guard(req, res, log, () => answer(registry, text, res, listener.maxAnswerBytes, onError));
  });
  req.on("error", () => {
    // The client went away mid-body: nothing to answer.
  });
}

/** Starts the MI endpoint on `listen` (HOST:PORT, port 0 picks a free one). */
export async function startHttpServer(registry: Registry, listen: string, options: HttpOptions = {}): Promise<HttpServer> {
  const address = splitListen(listen);
  if (!address) throw new Error(`http: must be HOST:PORT with a port from 0 to 65535 (got '${listen}')`);
  let access = options.access ?? OPEN_ACCESS;
  let ownHub: WatchHub | undefined;
  const log = options.log ?? CONSOLE_EVENTS;
  const page: PageContext = {
    registry,
    hub: () => options.hub ?? (ownHub ??= new WatchHub(registry)),
    access: () => access,
    events: { ...options.events, failed: (error) => log.failed({ method: "GET", path: "/events" }, error) },
  };
  const listener: Listener = {
    registry,
    access: () => access,
    maxAnswerBytes: options.maxAnswerBytes,
    page,
    probes: { registry, metrics: options.metrics, failed: (error) => log.failed({ method: "GET", path: "/metrics" }, error) },
    log,
  };
  const handle = (req: IncomingMessage, res: ServerResponse) => guard(req, res, log, () => onRequest(listener, req, res));
  const { tls } = options;
  // A client certificate is asked for but not required: probes and open paths must work without one.
  const server: Server = tls
    ? createHttpsServer({ ...tls.contextOptions, requestCert: tls.requestsClientCertificates, rejectUnauthorized: false }, handle)
    : createServer(handle);
  const unwatch = tls?.onChange(() => (server as ReturnType<typeof createHttpsServer>).setSecureContext(tls.contextOptions));
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(address.port, address.bindHost, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const bound = (server.address() as AddressInfo).port;
  let closing: Promise<void> | undefined;
  return {
    address: `${address.host}:${bound}`,
    setAccess(next) {
      access = next;
    },
    close() {
      unwatch?.();
      ownHub?.close();
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
