/**
 * Pre-framed writes for server streams. grpc-js frames each message a stream
 * writes (its server call's `serializeMessage`: a fresh buffer of 5 + n bytes
 * and a copy into it), stream by stream: a change fanned out to a thousand
 * watchers is copied a thousand times, and every message is a write of its own.
 * A `Framed` value carries bytes that already are gRPC messages, each with its
 * 5-byte prefix (one message or several in a row), and grpc-js writes them as
 * they are: a change is framed once for every stream, and the stream writer can
 * join a burst into one write (stream-writer.ts). On the wire nothing differs:
 * the same messages, in fewer HTTP/2 DATA frames.
 *
 * grpc-js has no public way to do this. The hook wraps that one method once,
 * so that a Framed passes through and anything else is serialized as before;
 * `framedWrites()` says whether it is in place. grpc-js is pinned by the
 * lockfile, and test/transport/grpc/framed.test.ts fails if an upgrade moved
 * the method (without it, WatchStatus writes one plain message at a time).
 */
import { createRequire } from "node:module";

/** Bytes of the prefix of a gRPC message: a compressed flag (0) and the length, big-endian. */
export const FRAME_PREFIX_BYTES = 5;

/** gRPC messages, each with its prefix, written by grpc-js as they are. */
export class Framed {
  constructor(readonly bytes: Buffer) {}
}

/** Sets the prefix of the message that `bytes` holds after FRAME_PREFIX_BYTES reserved for it (left zero: uncompressed). */
export function setPrefix(bytes: Buffer): Buffer {
  bytes.writeUInt32BE(bytes.byteLength - FRAME_PREFIX_BYTES, 1);
  return bytes;
}

/** One write of several framed messages. */
export function joinFramed(messages: Buffer[], bytes: number): Framed {
  return new Framed(messages.length === 1 ? (messages[0] as Buffer) : Buffer.concat(messages, bytes));
}

type Serialize = (this: unknown, value: unknown) => Buffer;

let hooked: boolean | undefined;

/** Installs the hook (once); false when this grpc-js has no method to hook. */
export function framedWrites(): boolean {
  if (hooked !== undefined) return hooked;
  let proto: { serializeMessage?: Serialize } | undefined;
  try {
    // The module grpc-js's own server loads (CommonJS, one instance).
    const require = createRequire(import.meta.url);
    proto = require("@grpc/grpc-js/build/src/server-interceptors.js").BaseServerInterceptingCall?.prototype;
  } catch {
    proto = undefined;
  }
  const serialize = proto?.serializeMessage;
  if (!proto || typeof serialize !== "function") return (hooked = false);
  proto.serializeMessage = function (this: unknown, value: unknown): Buffer {
    return value instanceof Framed ? value.bytes : serialize.call(this, value);
  };
  return (hooked = true);
}
