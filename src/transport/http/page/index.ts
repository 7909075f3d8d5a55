/**
 * The status page's routes on the HTTP listener: GET / (the page, rendered
 * with the current state), /page/* (its script and style, served from
 * assets/ as they are: no CDN, nothing built in the browser) and GET /events
 * (events.ts). POST / stays MI: these routes leave it to the MI handler.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { constants, gzipSync } from "node:zlib";
import type { Registry } from "../../../domain/registry/registry.js";
import type { WatchHub } from "../../../domain/watch/hub.js";
import { type HttpAccess, refusalOf } from "../access.js";
import { type EventsOptions, serveEvents } from "../events.js";
import { parseFilters } from "./assets/view.js";
import { type PageAccess, renderPage } from "./render.js";

const ASSETS_DIR = new URL("./assets/", import.meta.url);
const TYPES: Record<string, string> = {
  js: "text/javascript; charset=utf-8",
  css: "text/css; charset=utf-8",
};

/** The page's static files by path (each listed as open in access.ts's PATHS). */
export const ASSET_PATHS = ["/page/app.js", "/page/view.js", "/page/style.css"] as const;

interface Asset {
  body: Buffer;
  type: string;
  etag: string;
}

let assets: Map<string, Asset> | undefined;
function assetOf(path: string): Asset | undefined {
  if (!assets) {
    assets = new Map();
    for (const served of ASSET_PATHS) {
      const name = served.slice("/page/".length);
      const body = readFileSync(new URL(name, ASSETS_DIR));
      const etag = `"${createHash("sha256").update(body).digest("base64url").slice(0, 22)}"`;
      assets.set(served, { body, type: TYPES[name.split(".").pop() ?? ""] ?? "application/octet-stream", etag });
    }
  }
  return assets.get(path);
}

/** No inline script or style, nothing from elsewhere. */
const SECURITY_HEADERS = {
  "Content-Security-Policy":
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "no-referrer",
};

/** A page larger than this is sent gzipped to a client that takes it (10,000 identifiers are about 2.7 MB, 0.2 MB gzipped). */
const GZIP_FROM_BYTES = 32 * 1024;

function reply(req: IncomingMessage, res: ServerResponse, status: number, type: string, body: Buffer | string, headers: Record<string, string> = {}): void {
  let bytes = typeof body === "string" ? Buffer.from(body) : body;
  const extra: Record<string, string> = {};
  if (type.startsWith("text/html") && bytes.length > GZIP_FROM_BYTES && /\bgzip\b/.test(String(req.headers["accept-encoding"] ?? ""))) {
    // The fastest level: most of the gain for a fraction of the CPU.
    bytes = gzipSync(bytes, { level: constants.Z_BEST_SPEED });
    extra["Content-Encoding"] = "gzip";
    extra.Vary = "Accept-Encoding";
  }
  res.writeHead(status, { "Content-Type": type, "Content-Length": String(bytes.length), ...SECURITY_HEADERS, ...headers, ...extra });
  res.end(req.method === "HEAD" ? undefined : bytes);
}

function notAllowed(req: IncomingMessage, res: ServerResponse, allow: string): void {
  req.resume();
  reply(req, res, 405, "text/plain; charset=utf-8", `method not allowed: ${allow}\n`, { Allow: allow });
}

export interface PageContext {
  registry: Registry;
  /** The watch hub /events reads (the server's, shared with WatchStatus). */
  hub: () => WatchHub;
  access: () => HttpAccess;
  events?: EventsOptions | undefined;
}

/** Serves `path` when it is one of the page's; false leaves the request to the other routes. Access is checked before. */
export function servePage(ctx: PageContext, req: IncomingMessage, res: ServerResponse, path: string): boolean {
  const read = req.method === "GET" || req.method === "HEAD";
  if (path === "/") {
    if (req.method === "POST") return false; // MI
    if (!read) {
      notAllowed(req, res, "GET, HEAD, POST");
      return true;
    }
    req.resume();
    const access = ctx.access();
    // The shell is open; the state only for those who may read it.
    const mode: PageAccess = access.policy.open ? "open" : refusalOf(access, "/events", req) ? "required" : "granted";
    const filters = parseFilters(new URL(req.url ?? "/", "http://localhost").searchParams);
    const html = renderPage(ctx.registry, ctx.registry.id, filters, mode);
    reply(req, res, 200, "text/html; charset=utf-8", html, { "Cache-Control": "no-store" });
    return true;
  }
  if (path === "/events") {
    if (!read) {
      notAllowed(req, res, "GET, HEAD");
      return true;
    }
    if (req.method === "HEAD") {
      req.resume();
      res.writeHead(200, { "Content-Type": "text/event-stream; charset=utf-8", "Cache-Control": "no-store" });
      res.end();
      return true;
    }
    serveEvents(ctx.registry, ctx.hub(), req, res, ctx.events);
    return true;
  }
  const asset = path.startsWith("/page/") ? assetOf(path) : undefined;
  if (!asset) return false;
  if (!read) {
    notAllowed(req, res, "GET, HEAD");
    return true;
  }
  req.resume();
  if (req.headers["if-none-match"] === asset.etag) {
    res.writeHead(304, { ETag: asset.etag, "Cache-Control": "no-cache" });
    res.end();
    return true;
  }
  reply(req, res, 200, asset.type, asset.body, { ETag: asset.etag, "Cache-Control": "no-cache" });
  return true;
}
