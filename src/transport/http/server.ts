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
 * - Other methods on those paths: 405 with Allow: POST. Other paths: 404.
 *   A body over 1 MiB: 413 and the connection is closed.
 */
import { type IncomingMessage, type Server, type ServerResponse, createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { splitListen } from "../listen.js";
import type { Registry } from "../../domain/registry/registry.js";
import { handleMiRequest, parseErrorResponse } from "./mi.js";

export const MAX_BODY_BYTES = 1024 * 1024;
const PATHS = new Set(["/", "/mi", "/mi/", "/json", "/json/"]);

export interface HttpServer {
  /** HOST:PORT actually bound (the host as given, the port as chosen). */
  readonly address: string;
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

function answer(registry: Registry, text: string, res: ServerResponse): void {
  let body: unknown;
  try {
    body = JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  } catch (error) {
    send(res, 200, JSON.stringify(parseErrorResponse((error as Error).message)));
    return;
  }
  const response = handleMiRequest(registry, body);
  if (response === undefined) {
    res.writeHead(204);
    res.end();
    return;
  }
  send(res, 200, JSON.stringify(response));
}

function onRequest(registry: Registry, req: IncomingMessage, res: ServerResponse): void {
  const path = new URL(req.url ?? "/", "http://localhost").pathname;
  if (!PATHS.has(path)) {
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
    answer(registry, text, res);
  });
  req.on("error", () => {
    // The client went away mid-body: nothing to answer.
  });
}

/** Starts the MI endpoint on `listen` (HOST:PORT, port 0 picks a free one). */
export async function startHttpServer(registry: Registry, listen: string): Promise<HttpServer> {
  const address = splitListen(listen);
  if (!address) throw new Error(`http: must be HOST:PORT with a port from 0 to 65535 (got '${listen}')`);
  const server: Server = createServer((req, res) => onRequest(registry, req, res));
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
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
