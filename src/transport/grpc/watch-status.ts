/**
 * WatchStatus: admits the call, opens a watcher on the hub, names the
 * registry in the initial metadata and streams the watcher's events.
 */
import { Metadata, type ServerWritableStream } from "@grpc/grpc-js";
import { WatchStatusResponse, type WatchStatusRequest } from "../../../gen/ts/sr/v1/sr.js";
import type { Change, Registry } from "../../domain/registry/registry.js";
import type { WatchEvent, WatchHub } from "../../domain/watch/hub.js";
import { REGISTRY_ID_HEADER } from "../../protocol/wire.js";
import type { Admission } from "./admission.js";
import { toGrpcError } from "./errors.js";
import { toWatchResponse } from "./mapping.js";

export type WatchStatusHandler = (call: ServerWritableStream<WatchStatusRequest, Buffer>) => void;

/** Watch responses reach grpc-js already encoded (by encodeEvent). */
export const watchStatusSerialize = (value: Buffer): Buffer => value;

/**
 * Encoded watch responses, shared by every watcher that receives the same
 * change (its message does not depend on the watch options), so a change
 * fanned out to a thousand watchers is encoded once.
 */
const encodedChanges = new WeakMap<Change, Buffer>();

function encodeEvent(event: WatchEvent): Buffer {
  if (event.kind !== "change") return Buffer.from(WatchStatusResponse.encode(toWatchResponse(event)).finish());
  let bytes = encodedChanges.get(event.change);
  if (!bytes) {
    bytes = Buffer.from(WatchStatusResponse.encode(toWatchResponse(event)).finish());
    encodedChanges.set(event.change, bytes);
  }
  return bytes;
}

/** Streams a watcher's events, waiting for the stream to drain whenever grpc-js asks. */
async function pump(call: ServerWritableStream<WatchStatusRequest, Buffer>, next: () => Promise<WatchEvent | undefined>, stop: () => void) {
  let cancelled = false;
  let resumeWriting: (() => void) | undefined;
  const onGone = () => {
    cancelled = true;
    stop();
    resumeWriting?.();
  };
  const onDrain = () => resumeWriting?.();
  call.on("cancelled", onGone);
  call.on("error", onGone);
  call.on("drain", onDrain);
  try {
    for (;;) {
      const event = await next();
      if (!event || cancelled) break;
      if (!call.write(encodeEvent(event))) {
        await new Promise<void>((resolve) => {
          resumeWriting = resolve;
        });
        resumeWriting = undefined;
        if (cancelled) break;
      }
    }
    if (!cancelled) call.end();
  } finally {
    stop();
    call.off("cancelled", onGone);
    call.off("error", onGone);
    call.off("drain", onDrain);
  }
}

export function watchStatusHandler(registry: Registry, hub: WatchHub, gate: Admission): WatchStatusHandler {
  return (call) => {
    let watcher: ReturnType<WatchHub["watch"]>;
    try {
      gate.admit(call.metadata);
      const req = call.request;
      watcher = hub.watch(
        {
          group: req.group,
          identifier: req.identifier,
          startRevision: req.startRevision === undefined ? undefined : Number(req.startRevision),
          includeDetails: req.includeDetails,
          includeReports: req.includeReports,
          includeRegistrations: req.includeRegistrations,
        },
        call.getPeer(),
      );
    } catch (error) {
      call.emit("error", toGrpcError(error));
      return;
    }
    const metadata = new Metadata();
    metadata.set(REGISTRY_ID_HEADER, registry.id);
    call.sendMetadata(metadata);
    void pump(
      call,
      () => watcher.next(),
      () => watcher.close(),
    );
  };
}
