/**
 * The one way a server stream is written: events are pulled from a source and
 * written at the pace the client reads (after nice-grpc's adapter: when
 * `write()` returns false, wait for `drain`). Whatever way the stream ends
 * (the source ends, the client cancels, the call errors, something throws),
 * the source is closed and every listener added here is removed; a throw ends
 * the stream with a status instead of escaping.
 */
import { ENDED, type EventSource, IDLE } from "../../domain/watch/source.js";
import { type GrpcError, toGrpcError } from "./errors.js";

/** The part of a grpc-js ServerWritableStream the writer uses. */
export interface StreamCall<Out> {
  write(message: Out): boolean;
  end(): void;
  emit(event: "error", error: GrpcError): boolean;
  on(event: "cancelled" | "error" | "drain", listener: () => void): unknown;
  off(event: "cancelled" | "error" | "drain", listener: () => void): unknown;
}

/** Writes `source`'s events to `call` as `encode` makes them, until either ends. */
export function writeStream<T, Out>(call: StreamCall<Out>, source: EventSource<T>, encode: (event: T) => Out): void {
  // What the writer waits for; "done" once it has let go of the call.
  let phase: "writing" | "source" | "drain" | "done" = "writing";

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
        const event = source.next();
        if (event === ENDED) return finish("ended");
        if (event === IDLE) {
          phase = "source";
          return source.wait(onWake);
        }
        if (!call.write(encode(event))) {
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
  const onGone = () => finish("gone");

  call.on("cancelled", onGone);
  call.on("error", onGone);
  call.on("drain", onDrain);
  pump();
}
