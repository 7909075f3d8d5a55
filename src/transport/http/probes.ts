/**
 * The HTTP listener's operator endpoints, GET and HEAD only, text bodies:
 * - `/healthz`: 200 while the process serves (a liveness probe; also during
 *   a graceful stop, which is still serving what it finishes);
 * - `/readyz`: 200 while `core` is running, else 503 (initializing, shutting
 *   down), the body saying which;
 * - `/metrics`: the Prometheus exposition the server builds (src/app/metrics.ts);
 *   404 when the listener was given none.
 * `/healthz` and `/readyz` are open paths, `/metrics` needs a reader once
 * auth is configured (access.ts).
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { CORE_GROUP, CoreState } from "../../domain/core.js";
import { MAIN } from "../../domain/names.js";
import type { Registry } from "../../domain/registry/registry.js";

export const PROBE_PATHS = new Set(["/healthz", "/readyz", "/metrics"]);

export interface ProbeContext {
  registry: Registry;
  /** What GET /metrics answers; undefined: 404. */
  metrics?: (() => Promise<{ contentType: string; body: string }>) | undefined;
  /** A failure of ours while answering (the scrape threw). */
  failed(error: unknown): void;
}

function text(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { "Content-Type": "text/plain; charset=utf-8", "Content-Length": String(Buffer.byteLength(body)), "Cache-Control": "no-store", ...headers });
  res.end(body);
}

function coreOf(registry: Registry): { status: number; details: string | undefined } {
  try {
    return registry.getStatus({ group: CORE_GROUP, identifier: MAIN }).status;
  } catch {
    return { status: CoreState.NONE, details: "no core" };
  }
}

/** Answers `path` when it is one of PROBE_PATHS (true), else leaves the request alone (false). */
export function serveProbe(context: ProbeContext, req: IncomingMessage, res: ServerResponse, path: string): boolean {
  if (!PROBE_PATHS.has(path)) return false;
  req.resume();
  if (req.method !== "GET" && req.method !== "HEAD") {
    text(res, 405, `method not allowed: GET ${path}\n`, { Allow: "GET, HEAD" });
    return true;
  }
  switch (path) {
    case "/healthz":
      text(res, 200, "ok\n");
      return true;
    case "/readyz": {
      const core = coreOf(context.registry);
      if (core.status === CoreState.RUNNING) text(res, 200, "ready\n");
      else text(res, 503, `not ready: core is ${core.status}${core.details === undefined ? "" : ` (${core.details})`}\n`);
      return true;
    }
    default: {
      const { metrics } = context;
      if (!metrics) {
        text(res, 404, "not found: this listener serves no metrics\n");
        return true;
      }
      metrics().then(
        ({ contentType, body }) => {
          res.writeHead(200, { "Content-Type": contentType, "Content-Length": String(Buffer.byteLength(body)), "Cache-Control": "no-store" });
          res.end(body);
        },
        (error: unknown) => {
          context.failed(error);
          if (res.headersSent) res.destroy();
          else text(res, 500, "internal error\n", { Connection: "close" });
        },
      );
      return true;
    }
  }
}
