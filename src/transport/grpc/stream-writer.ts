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
 */
import { ENDED, type EventSource, IDLE } from "../../domain/watch/source.js";
import { type GrpcError, toGrpcError } from "./errors.js";

/** Bytes of encoded messages written and not yet handed on by grpc-js, past which the writer waits. */
export const MAX_BUFFERED_BYTES = 16 * 1024;

/** The part of a grpc-js ServerWritableStream the writer uses. */
export interface StreamCall<Out> {
  /** `callback` once the message has left the call's queue (a Writable's write callback). */
  write(message: Out, callback?: (error?: unknown) => void): boolean;
  end(): void;
  emit(event: "error", error: GrpcError): boolean;
  on(event: "cancelled" | "error" | "drain", listener: () => void): unknown;
  off(event: "cancelled" | "error" | "drain", listener: () => void): unknown;
}

/** Writes `source`'s events to `call` as `encode` makes them, until either ends. */
export function writeStream<T, Out>(call: StreamCall<Out>, source: EventSource<T>, encode: (event: T) => Out): void {
  // What the writer waits for; "done" once it has let go of the call.
  // "flush": over MAX_BUFFERED_BYTES, waiting for write callbacks.
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
  const pump = () => {
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
        const message = encode(event);
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
