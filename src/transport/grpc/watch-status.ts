/**
 * WatchStatus: admits the call, opens a watcher on the hub, names the
 * registry in the initial metadata and streams the watcher's events.
 */
import { Metadata, type ServerWritableStream } from "@grpc/grpc-js";
import { WatchStatusResponse, type WatchStatusRequest } from "../../../gen/ts/sr/v1/sr.js";
import type { Change, Registry } from "../../domain/registry/registry.js";
import type { WatchHub } from "../../domain/watch/hub.js";
import type { Watcher, WatchEvent } from "../../domain/watch/watcher.js";
import { REGISTRY_ID_HEADER } from "../../protocol/wire.js";
import type { Admission } from "./admission.js";
import { toGrpcError } from "./errors.js";
import { toWatchResponse } from "./mapping.js";
import { writeStream } from "./stream-writer.js";

export type WatchStatusHandler = (call: ServerWritableStream<WatchStatusRequest, Buffer>) => void;

/** Watch responses reach grpc-js already encoded (by encodeEvent). */
export const watchStatusSerialize = (value: Buffer): Buffer => value;

/**
 * Encoded watch responses, shared by every watcher that receives the same
 * change (its message does not depend on the watch options), so a change
 * fanned out to a thousand watchers is encoded once.
 */
const encodedChanges = new WeakMap<Change, Buffer>();

export function encodeEvent(event: WatchEvent): Buffer {
  if (event.kind !== "change") return Buffer.from(WatchStatusResponse.encode(toWatchResponse(event)).finish());
  let bytes = encodedChanges.get(event.change);
  if (!bytes) {
    bytes = Buffer.from(WatchStatusResponse.encode(toWatchResponse(event)).finish());
    encodedChanges.set(event.change, bytes);
  }
  return bytes;
}

export function watchStatusHandler(registry: Registry, hub: WatchHub, gate: Admission): WatchStatusHandler {
  return (call) => {
    let watcher: Watcher;
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
    writeStream(call, watcher, encodeEvent);
  };
}
