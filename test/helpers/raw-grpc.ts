/**
 * gRPC spoken by hand over node:http2, for what no gRPC client will send:
 * a length prefix that lies, the compressed flag without an encoding, a body
 * cut short, a reset mid-stream, thousands of streams on one connection.
 */
import http2, { type ClientHttp2Session, type ClientHttp2Stream, type IncomingHttpHeaders } from "node:http2";
import { ErrorInfo } from "../../gen/ts/google/rpc/error_details.js";
import { Status } from "../../gen/ts/google/rpc/status.js";
import { STATUS_DETAILS_KEY } from "../../src/protocol/wire.js";
import { withTimeout } from "./wait.js";

/** One length-prefixed message: flag byte, 4-byte length (the real one unless `declaredLength`), body. */
export function grpcFrame(body: Uint8Array, options: { compressed?: boolean; declaredLength?: number } = {}): Buffer {
  const frame = Buffer.alloc(5 + body.length);
  frame.writeUInt8(options.compressed ? 1 : 0, 0);
  frame.writeUInt32BE(options.declaredLength ?? body.length, 1);
  Buffer.from(body).copy(frame, 5);
  return frame;
}

/** A connection of its own, once the server's SETTINGS have arrived. */
export async function connectRaw(address: string, timeoutMs = 5_000): Promise<ClientHttp2Session> {
  const session = http2.connect(`http://${address}`);
  session.on("error", () => {}); // a test looks at how it ended, not at the error event
  await withTimeout(
    new Promise<void>((resolve, reject) => {
      session.once("remoteSettings", () => resolve());
      session.once("close", () => reject(new Error("the connection closed before the server's SETTINGS")));
    }),
    timeoutMs,
    "the server's SETTINGS",
  );
  return session;
}

/** Resolves once `session` has closed (whoever closed it). */
export function sessionClosed(session: ClientHttp2Session, timeoutMs = 5_000, what = "the connection to close"): Promise<void> {
  if (session.closed || session.destroyed) return Promise.resolve();
  return withTimeout(new Promise<void>((resolve) => session.once("close", () => resolve())), timeoutMs, what);
}

/** How a raw call ended. */
export interface RawAnswer {
  httpStatus: number | undefined;
  /** grpc-status from the trailers (or a trailers-only answer); undefined when the stream was reset first. */
  grpcStatus: number | undefined;
  grpcMessage: string;
  /** ErrorInfo.reason of grpc-status-details-bin, when the server sent one. */
  reason: string | undefined;
  /** The response messages, without their prefixes. */
  messages: Buffer[];
  /** The RST_STREAM code when the stream was reset. */
  rstCode: number;
}

function reasonOf(headers: IncomingHttpHeaders): string | undefined {
  const details = headers[STATUS_DETAILS_KEY];
  if (typeof details !== "string") return undefined;
  for (const any of Status.decode(Buffer.from(details, "base64")).details) {
    if (any.typeUrl.endsWith("google.rpc.ErrorInfo")) return ErrorInfo.decode(any.value).reason;
  }
  return undefined;
}

export interface RawCallOptions {
  /** Headers beyond the usual ones (content-type application/grpc, te: trailers). */
  headers?: Record<string, string>;
  /** Half-close after the body (default true); false keeps the request open. */
  end?: boolean;
}

/** Opens a call on `session` and sends `body`; the stream is returned at once, `answer` settles when it closes. */
export function openRaw(session: ClientHttp2Session, path: string, body: Buffer, options: RawCallOptions = {}): { stream: ClientHttp2Stream; answer: Promise<RawAnswer> } {
  const stream = session.request({
    ":method": "POST",
    ":path": path,
    "content-type": "application/grpc",
    te: "trailers",
    ...options.headers,
  });
  const answer: RawAnswer = { httpStatus: undefined, grpcStatus: undefined, grpcMessage: "", reason: undefined, messages: [], rstCode: 0 };
  const ended = (headers: IncomingHttpHeaders) => {
    const code = headers["grpc-status"];
    if (code !== undefined) answer.grpcStatus = Number(code);
    answer.grpcMessage = decodeURIComponent(String(headers["grpc-message"] ?? ""));
    answer.reason = reasonOf(headers);
  };
  let buffer = Buffer.alloc(0);
  stream.on("response", (headers) => {
    answer.httpStatus = Number(headers[":status"]);
    ended(headers);
  });
  stream.on("trailers", ended);
  stream.on("data", (chunk: Buffer) => {
    buffer = Buffer.concat([buffer, chunk]);
    while (buffer.length >= 5 && buffer.length >= 5 + buffer.readUInt32BE(1)) {
      answer.messages.push(buffer.subarray(5, 5 + buffer.readUInt32BE(1)));
      buffer = buffer.subarray(5 + buffer.readUInt32BE(1));
    }
  });
  stream.on("error", () => {}); // a reset is reported as rstCode
  const closed = new Promise<RawAnswer>((resolve) => {
    stream.once("close", () => {
      answer.rstCode = stream.rstCode ?? 0;
      resolve(answer);
    });
  });
  if (options.end === false) stream.write(body);
  else stream.end(body);
  return { stream, answer: closed };
}

/** One call sent whole; its answer within `timeoutMs`. */
export function rawCall(session: ClientHttp2Session, path: string, body: Buffer, options: RawCallOptions = {}, timeoutMs = 5_000): Promise<RawAnswer> {
  return withTimeout(openRaw(session, path, body, options).answer, timeoutMs, `the answer to ${path}`);
}

/** The first response message of a raw stream, within `timeoutMs`. */
export function firstMessage(stream: ClientHttp2Stream, timeoutMs = 5_000): Promise<void> {
  return withTimeout(new Promise<void>((resolve) => stream.once("data", () => resolve())), timeoutMs, "the stream's first message");
}
