/**
 * GET /events: WatchStatus as server-sent events, for browsers (the status
 * page) and `curl -N`. The same watch as the gRPC stream, through the same
 * calls: the selection parser and the hub's watcher (its snapshot, history,
 * budget and resync), written by the one stream writer at the pace the
 * socket drains (docs/page.md).
 *
 * - Query: `group`, `identifier`, `include_details`, `include_reports`,
 *   `include_registrations` (booleans `true`/`false`, `1`/`0`, or bare =
 *   true), as in WatchStatusRequest. Anything else, a repeated or malformed
 *   parameter: 400 naming the parameter.
 * - Each event: `id: REGISTRY_ID:REVISION` (not on a snapshot part but the
 *   last) and one `data:` line, the WatchStatusResponse in the proto3 JSON
 *   mapping (as grpcurl prints it, compact). No `event:` field, so
 *   EventSource's `onmessage` sees them all.
 * - `Last-Event-ID` (as EventSource sends it on a reconnect): an id of this
 *   registry resumes after its revision with no gap (like start_revision); an
 *   id of another registry, or one the history no longer holds, gets a fresh
 *   snapshot marked `resync`.
 * - A comment line (`: keep-alive`) after KEEP_ALIVE_MS without a write, so
 *   proxies and the page can tell a quiet stream from a dead one.
 */
import { readFileSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { DescMessage, Registry as DescRegistry } from "@bufbuild/protobuf";
import { SrError } from "../../domain/errors.js";
import type { Change, Registry } from "../../domain/registry/registry.js";
import type { WatchHub } from "../../domain/watch/hub.js";
import type { WatchRequest } from "../../domain/watch/filter.js";
import type { Watcher, WatchEvent } from "../../domain/watch/watcher.js";
import { REGISTRY_ID_HEADER } from "../../protocol/wire.js";
import { internalCauseOf } from "../grpc/errors.js";
import { descriptorFiles } from "../grpc/reflection.js";
import { type StreamCall, writeStream } from "../grpc/stream-writer.js";
import { encodeEvent } from "../grpc/watch-status.js";

/** A comment line is written after this long without a write. */
export const KEEP_ALIVE_MS = 15_000;
/** What EventSource waits before reconnecting (the `retry:` field). */
export const RETRY_MS = 1_000;

const DESCRIPTORS = new URL("../../../gen/descriptors.binpb", import.meta.url);
const BOOLEANS = ["include_details", "include_reports", "include_registrations"] as const;
const NAMES = ["group", "identifier"] as const;
export const EVENTS_PARAMETERS: readonly string[] = [...NAMES, ...BOOLEANS];

export interface EventsOptions {
  keepAliveMs?: number | undefined;
  /** Where a stream's failure of ours is told, with its cause (the listener's HttpEvents); console.error without it. */
  failed?: ((error: unknown) => void) | undefined;
}

/** A request the handler refuses before streaming: the status and a message naming the parameter. */
export class EventsRequestError extends Error {
  constructor(
    readonly status: 400 | 503,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The WatchStatusResponse descriptor and the JSON mapping, from the descriptor
 * set reflection serves. Loaded with the first /events request, not at start:
 * `@bufbuild/protobuf`'s reflection API takes about 40 ms to import.
 */
type JsonMapping = { message: DescMessage; registry: DescRegistry; toJson: (bytes: Uint8Array) => string };
let mapping: JsonMapping | undefined;
let loading: Promise<JsonMapping> | undefined;
export function loadJsonMapping(): Promise<JsonMapping> {
  loading ??= Promise.all([import("@bufbuild/protobuf"), import("@bufbuild/protobuf/wkt")]).then(([pb, wkt]) => {
    const files = descriptorFiles(readFileSync(DESCRIPTORS)).map((bytes) => pb.fromBinary(wkt.FileDescriptorProtoSchema, bytes));
    const registry = pb.createFileRegistry(pb.create(wkt.FileDescriptorSetSchema, { file: files }));
    const message = registry.getMessage("sr.v1.WatchStatusResponse");
    if (!message) throw new Error("gen/descriptors.binpb has no sr.v1.WatchStatusResponse");
    mapping = { message, registry, toJson: (bytes) => pb.toJsonString(message, pb.fromBinary(message, bytes), { registry }) };
    return mapping;
  });
  return loading;
}

/** A watch event in the proto3 JSON mapping (int64 as strings, RFC 3339 timestamps, defaults omitted), one line. */
export function eventJson(event: WatchEvent): string {
  if (!mapping) throw new Error("eventJson before loadJsonMapping()");
  return mapping.toJson(encodeEvent(event));
}

/** A change's JSON, made once however many streams send it (like its binary encoding). */
const changeJson = new WeakMap<Change, string>();
function jsonOf(event: WatchEvent): string {
  if (event.kind !== "change") return eventJson(event);
  let json = changeJson.get(event.change);
  if (json === undefined) changeJson.set(event.change, (json = eventJson(event)));
  return json;
}

/**
 * The SSE frame of one event. A snapshot part but the last has no `id:`, so
 * a reader keeps the id it had before the snapshot: a drop mid-snapshot
 * resumes from there (or starts over), never after a partial snapshot.
 */
export function frameOf(registryId: string, event: WatchEvent): Buffer {
  const id = event.kind === "snapshot" && !event.last ? "" : `id: ${registryId}:${event.revision}\n`;
  return Buffer.from(`${id}data: ${jsonOf(event)}\n\n`);
}

function flag(name: string, value: string): boolean {
  switch (value) {
    case "":
    case "true":
    case "1":
      return true;
    case "false":
    case "0":
      return false;
    default:
      throw new EventsRequestError(400, `${name}: must be true or false (got '${value}')`);
  }
}

/** The watch a query asks for (names are checked by the hub, with the one selection parser). */
export function parseEventsQuery(search: URLSearchParams): Omit<WatchRequest, "startRevision"> {
  const seen = new Set<string>();
  for (const name of search.keys()) {
    if (!EVENTS_PARAMETERS.includes(name)) {
      throw new EventsRequestError(400, `${name}: unknown parameter (known: ${EVENTS_PARAMETERS.join(", ")})`);
    }
    if (seen.has(name)) throw new EventsRequestError(400, `${name}: given more than once`);
    seen.add(name);
  }
  const value = (name: string) => search.get(name) ?? undefined;
  const bool = (name: string) => {
    const v = value(name);
    return v === undefined ? false : flag(name, v);
  };
  return {
    group: value("group") ?? "",
    identifier: value("identifier") ?? "",
    includeDetails: bool("include_details"),
    includeReports: bool("include_reports"),
    includeRegistrations: bool("include_registrations"),
  };
}

/** `REGISTRY_ID:REVISION` as sent in `id:`; undefined when absent. */
export function parseLastEventId(header: string | string[] | undefined): { registryId: string; revision: number } | undefined {
  if (header === undefined) return undefined;
  const text = (Array.isArray(header) ? header[0] : header)?.trim() ?? "";
  if (text === "") return undefined;
  const colon = text.lastIndexOf(":");
  const revision = colon > 0 && /^\d{1,15}$/.test(text.slice(colon + 1)) ? Number(text.slice(colon + 1)) : Number.NaN;
  if (!Number.isSafeInteger(revision)) {
    throw new EventsRequestError(400, `Last-Event-ID: must be REGISTRY_ID:REVISION as an event's id sends it (got '${text.slice(0, 100)}')`);
  }
  return { registryId: text.slice(0, colon), revision };
}

/** The 400 or 503 a domain error is answered with (the message names the parameter, as the domain names the field). */
function refusal(error: unknown): EventsRequestError {
  if (error instanceof EventsRequestError) return error;
  if (error instanceof SrError) return new EventsRequestError(error.reason === "LIMIT_REACHED" ? 503 : 400, error.message);
  throw error;
}

/**
 * Opens the watch `req` asks for: resumed after Last-Event-ID when it names
 * this registry and a revision still resumable, else a snapshot (marked
 * `resync` when an id was given). Throws EventsRequestError.
 */
export function openEventsWatch(registry: Registry, hub: WatchHub, req: IncomingMessage, owner: string): { watcher: Watcher; resync: boolean } {
  try {
    const request = parseEventsQuery(new URL(req.url ?? "/", "http://localhost").searchParams);
    const last = parseLastEventId(req.headers["last-event-id"]);
    if (last && last.registryId === registry.id) {
      try {
        return { watcher: hub.watch({ ...request, startRevision: last.revision }, owner), resync: false };
      } catch (error) {
        // Too old or ahead of this registry: start over, saying so.
        if (!(error instanceof SrError) || (error.reason !== "HISTORY_COMPACTED" && error.reason !== "REVISION_AHEAD")) throw error;
      }
    }
    return { watcher: hub.watch(request, owner), resync: last !== undefined };
  } catch (error) {
    throw refusal(error);
  }
}

function plain(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { "Content-Type": "text/plain; charset=utf-8", "Content-Length": String(Buffer.byteLength(body)), "Cache-Control": "no-store" });
  res.end(body);
}

/** Serves one GET /events request until the client goes or the server stops. */
export function serveEvents(registry: Registry, hub: WatchHub, req: IncomingMessage, res: ServerResponse, options: EventsOptions = {}): void {
  req.resume();
  if (!mapping) {
    // The first request loads the JSON mapping, then is served like any other (unless its client left meanwhile).
    loadJsonMapping().then(
      () => {
        if (!res.destroyed) serveEvents(registry, hub, req, res, options);
      },
      (error: unknown) => {
        options.failed?.(error);
        if (!res.headersSent) plain(res, 500, "internal error\n");
      },
    );
    return;
  }
  let opened: { watcher: Watcher; resync: boolean };
  try {
    // One connection is one owner, as a gRPC connection is for its watch quota.
    opened = openEventsWatch(registry, hub, req, `http:${req.socket.remoteAddress}:${req.socket.remotePort}`);
  } catch (error) {
    const refused = error as EventsRequestError;
    plain(res, refused.status, `${refused.message}\n`);
    return;
  }
  const { watcher } = opened;
  let resync = opened.resync;
  res.writeHead(200, {
    "Content-Type": "text/event-stream; charset=utf-8",
    "Cache-Control": "no-store",
    "X-Accel-Buffering": "no",
    [REGISTRY_ID_HEADER]: registry.id,
  });
  res.write(`retry: ${RETRY_MS}\n\n`);

  const keepAliveMs = options.keepAliveMs ?? KEEP_ALIVE_MS;
  let lastWrite = Date.now();
  const timer = setInterval(
    () => {
      // A stream the reader does not drain gets nothing more: the comment would only queue.
      if (Date.now() - lastWrite >= keepAliveMs && !res.writableNeedDrain) {
        lastWrite = Date.now();
        res.write(": keep-alive\n\n");
      }
    },
    Math.max(10, Math.floor(keepAliveMs / 2)),
  );
  timer.unref();

  // The response as the one stream writer sees a grpc-js call: write() false means wait for drain.
  const listeners = new Map<() => void, { event: string; listener: () => void }>();
  const call: StreamCall<Buffer> = {
    write(message, callback) {
      lastWrite = Date.now();
      return res.write(message, callback);
    },
    end() {
      clearInterval(timer);
      res.end();
    },
    emit(_event, error) {
      clearInterval(timer);
      // The cause toGrpcError kept for a failure of ours, else the domain's error as answered.
      const cause = (error.metadata && internalCauseOf(error.metadata)) ?? error;
      if (options.failed) options.failed(cause);
      else console.error("sr: /events stream failed:", cause);
      res.destroy();
      return true;
    },
    on(event, listener) {
      const wrapped = { event: event === "cancelled" ? "close" : event, listener };
      listeners.set(listener, wrapped);
      res.on(wrapped.event, listener);
      return call;
    },
    off(_event, listener) {
      const wrapped = listeners.get(listener);
      if (wrapped) res.off(wrapped.event, wrapped.listener);
      listeners.delete(listener);
      return call;
    },
  };
  res.once("close", () => clearInterval(timer));
  writeStream(call, watcher, (event: WatchEvent) => {
    if (resync && event.kind === "snapshot") {
      // The first snapshot of a stream that asked to resume and could not: marked, like a budget resync.
      if (event.last) resync = false;
      return frameOf(registry.id, { ...event, resync: true });
    }
    return frameOf(registry.id, event);
  });
}
