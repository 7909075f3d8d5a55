/**
 * The one way a server stream is written: events are pulled from a source and
 * written at the pace the client reads (after nice-grpc's adapter: when
 * `write()` returns false, wait for `drain`). Whatever way the stream ends
 * (the source ends, the client cancels, the call errors, something throws),
 * the source is closed and every listener added here is removed; a throw ends
 * the stream with a status instead of escaping.
 *
 * `write()` alone is no bound on bytes: grpc-js's stream counts messages (it
 * answers false only with 16 of them queued), so 16 large messages (snapshot
 * parts) could sit in it for a reader that stopped. Encoded messages (bytes)
 * are therefore also counted until grpc-js calls back that it has handed them
 * on: past MAX_BUFFERED_BYTES the writer waits for those callbacks too.
 *
 * Given `join`, the writer coalesces: it keeps one write in flight, and each
 * write carries every message the source has ready, joined into one buffer:
 * messages are taken until they reach BATCH_BYTES, so a write is at most
 * BATCH_BYTES plus one message. Nothing waits to be joined: a
 * message is written as soon as the write before it has been handed on, so a
 * stream that keeps up gets one message a write, and one that falls behind
 * gets fewer, larger writes instead of a queue of small ones (what is not yet
 * written stays in the source, within its budget).
 */
import { ENDED, type EventSource, IDLE } from "../../domain/watch/source.js";
import { type GrpcError, toGrpcError } from "./errors.js";

/** Bytes of encoded messages written and not yet handed on by grpc-js, past which the writer waits. */
export const MAX_BUFFERED_BYTES = 16 * 1024;

/** Ready messages are joined into one write until they reach this many bytes (so a write is at most this plus one message). */
export const BATCH_BYTES = 16 * 1024;

/** Makes one write of several encoded messages, in order (`bytes`: their total length). */
export type Join<Out> = (messages: Buffer[], bytes: number) => Out;

/** The part of a grpc-js ServerWritableStream the writer uses. */
export interface StreamCall<Out> {
  /** `callback` once the message has left the call's queue (a Writable's write callback). */
  write(message: Out, callback?: (error?: unknown) => void): boolean;
  end(): void;
  emit(event: "error", error: GrpcError): boolean;
  on(event: "cancelled" | "error" | "drain", listener: () => void): unknown;
  off(event: "cancelled" | "error" | "drain", listener: () => void): unknown;
}

/** Writes `source`'s events to `call` as `encode` makes them, until either ends; with `join`, coalesced (above). */
export function writeStream<T, Out>(call: StreamCall<Out>, source: EventSource<T>, encode: (event: T) => Out): void;
export function writeStream<T, Out>(call: StreamCall<Out>, source: EventSource<T>, encode: (event: T) => Buffer, join: Join<Out>): void;
export function writeStream<T, Out>(
  call: StreamCall<Out>,
  source: EventSource<T>,
  encode: (event: T) => Out | Buffer,
  join?: Join<Out>,
): void {
  // What the writer waits for; "done" once it has let go of the call.
  // "flush": over MAX_BUFFERED_BYTES (joined: any write in flight), waiting for write callbacks.
  let phase: "writing" | "source" | "drain" | "flush" | "done" = "writing";
  /** Bytes written whose write callback has not come yet. */
  let buffered = 0;

  const finish = (outcome: "ended" | "gone" | { error: unknown }) => {
    if (phase === "done") return;
    phase = "done";
    call.off("cancelled", onGone);
    call.off("error", onGone);
    call.off("drain", onDrain);
    try {
      source.close();
    } catch (error) {
      if (outcome === "ended") outcome = { error };
    }
    if (outcome === "ended") call.end();
    else if (outcome !== "gone") call.emit("error", toGrpcError(outcome.error));
  };
  /** With `join`: messages pulled and not yet written, and their bytes. */
  const batch: Buffer[] = [];
  let batchBytes = 0;
  /** Writes the batch; false when the stream is full (wait for drain). */
  const writeBatch = (): boolean => {
    const size = batchBytes;
    const message = (join as Join<Out>)(batch, size);
    batch.length = 0;
    batchBytes = 0;
    buffered += size;
    return call.write(message, (error) => onWritten(size, error));
  };
  /** With `join`: one write in flight; each carries what the source has ready. */
  const pumpJoined = () => {
    phase = "writing";
    try {
      for (;;) {
        if (buffered > 0) {
          phase = "flush";
          return;
        }
        const event = batchBytes >= BATCH_BYTES ? IDLE : source.next();
        if (event !== IDLE && event !== ENDED) {
          const message = encode(event) as Buffer;
          batch.push(message);
          batchBytes += message.byteLength;
          continue;
        }
        if (batch.length > 0 && !writeBatch()) {
          phase = "drain";
          return;
        }
        if (event === ENDED) return finish("ended");
        // Nothing was ready: wait for the source (else the write just made is in flight: loop to "flush").
        if (buffered === 0) {
          phase = "source";
          return source.wait(onWake);
        }
      }
    } catch (error) {
      // What was pulled before the throw still goes out, ahead of the status.
      if (batch.length > 0) {
        try {
          writeBatch();
        } catch {
          // the call is failing anyway
        }
      }
      finish({ error });
    }
  };
  const pump = () => {
    if (join) return pumpJoined();
    phase = "writing";
    try {
      for (;;) {
        if (buffered >= MAX_BUFFERED_BYTES) {
          phase = "flush";
          return;
        }
        const event = source.next();
        if (event === ENDED) return finish("ended");
        if (event === IDLE) {
          phase = "source";
          return source.wait(onWake);
        }
        const message = encode(event) as Out;
        const size = message instanceof Uint8Array ? message.byteLength : 0;
        if (size > 0) buffered += size;
        if (!(size > 0 ? call.write(message, (error) => onWritten(size, error)) : call.write(message))) {
          phase = "drain";
          return;
        }
      }
    } catch (error) {
      finish({ error });
    }
  };
  const onWake = () => {
    if (phase === "source") pump();
  };
  const onDrain = () => {
    if (phase === "drain") pump();
  };
  const onWritten = (size: number, error: unknown) => {
    buffered -= size;
    // A failed write ends the call (its cancel or error ends the writer): nothing more to write.
    if (phase === "flush" && !error && buffered < MAX_BUFFERED_BYTES) pump();
  };
  const onGone = () => finish("gone");

  call.on("cancelled", onGone);
  call.on("error", onGone);
  call.on("drain", onDrain);
  pump();
}
