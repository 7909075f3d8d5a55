/**
 * WatchStatus: admits the call, opens a watcher on the hub, names the
 * registry in the initial metadata and streams the watcher's events.
 */
import { BinaryWriter } from "@bufbuild/protobuf/wire";
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

/**
 * One writer for every encoding (they are synchronous): its buffer, grown once,
 * is reused, instead of a fresh one doubling its way up to each snapshot part;
 * one that grew past REUSE_BYTES for a rare large message is let go.
 */
let writer = new BinaryWriter();
const REUSE_BYTES = 256 * 1024;

/** The encoded event as a Buffer without another copy (finish() returns a fresh array of the exact length). */
const encoded = (event: WatchEvent): Buffer => {
  let bytes: Uint8Array;
  try {
    bytes = WatchStatusResponse.encode(toWatchResponse(event), writer).finish();
  } catch (error) {
    writer = new BinaryWriter(); // left mid-message: never reused
    throw error;
  }
  if (bytes.byteLength > REUSE_BYTES) writer = new BinaryWriter();
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
};

export function encodeEvent(event: WatchEvent): Buffer {
  if (event.kind !== "change") return encoded(event);
  let bytes = encodedChanges.get(event.change);
  if (!bytes) {
    bytes = encoded(event);
    encodedChanges.set(event.change, bytes);
  }
  return bytes;
}

export function watchStatusHandler(registry: Registry, hub: WatchHub, gate: Admission): WatchStatusHandler {
  return (call) => {
    const req = call.request;
    const startRevision = req.startRevision === undefined ? undefined : Number(req.startRevision);
    const open = () => {
      let watcher: Watcher;
      try {
        watcher = hub.watch(
          {
            group: req.group,
            identifier: req.identifier,
            startRevision,
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
    try {
      gate.admit(call.metadata);
    } catch (error) {
      call.emit("error", toGrpcError(error));
      return;
    }
    // A replica (etcd mode) may be asked for a revision the cluster has and it has not applied yet.
    if (!hub.needsWait(startRevision)) return open();
    hub.awaitStart(startRevision as number).then(
      () => {
        if (!call.cancelled) open();
      },
      (error: unknown) => call.emit("error", toGrpcError(error)),
    );
  };
}
