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
import { FRAME_PREFIX_BYTES, type Framed, framedWrites, joinFramed, setPrefix } from "./framed.js";
import { toWatchResponse } from "./mapping.js";
import { writeStream } from "./stream-writer.js";

export type WatchStatusHandler = (call: ServerWritableStream<WatchStatusRequest, Buffer | Framed>) => void;

/** Watch responses reach grpc-js already encoded (by encodeEvent), or framed too (Framed, which its serializer never sees). */
export const watchStatusSerialize = (value: Buffer): Buffer => value;

/**
 * Encoded watch responses, each with its gRPC prefix (framed.ts), shared by
 * every watcher that receives the same change (its message does not depend on
 * the watch options), so a change fanned out to a thousand watchers is encoded
 * and framed once.
 */
const encodedChanges = new WeakMap<Change, Buffer>();

/**
 * One writer for every encoding (they are synchronous): its buffer, grown once,
 * is reused, instead of a fresh one doubling its way up to each snapshot part;
 * one that grew past REUSE_BYTES for a rare large message is let go.
 */
let writer = new BinaryWriter();
const REUSE_BYTES = 256 * 1024;
/** Where the message's gRPC prefix goes, set once its length is known. */
const PREFIX = new Uint8Array(FRAME_PREFIX_BYTES);

/** The encoded event after its prefix, as a Buffer without another copy (finish() returns a fresh array of the exact length). */
const encoded = (event: WatchEvent): Buffer => {
  let bytes: Uint8Array;
  try {
    bytes = WatchStatusResponse.encode(toWatchResponse(event), writer.raw(PREFIX)).finish();
  } catch (error) {
    writer = new BinaryWriter(); // left mid-message: never reused
    throw error;
  }
  if (bytes.byteLength > REUSE_BYTES) writer = new BinaryWriter();
  return setPrefix(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
};

/** The event as one gRPC message: its prefix, then the encoded WatchStatusResponse. */
export function framedEvent(event: WatchEvent): Buffer {
  if (event.kind !== "change") return encoded(event);
  let bytes = encodedChanges.get(event.change);
  if (!bytes) {
    bytes = encoded(event);
    encodedChanges.set(event.change, bytes);
  }
  return bytes;
}

/** The encoded WatchStatusResponse alone. */
export function encodeEvent(event: WatchEvent): Buffer {
  return framedEvent(event).subarray(FRAME_PREFIX_BYTES);
}

export function watchStatusHandler(registry: Registry, hub: WatchHub, gate: Admission): WatchStatusHandler {
  // Framed writes when this grpc-js takes them (framed.ts): each change framed once, bursts joined.
  const framed = framedWrites();
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
      if (framed) writeStream(call, watcher, framedEvent, joinFramed);
      else writeStream(call, watcher, encodeEvent);
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
