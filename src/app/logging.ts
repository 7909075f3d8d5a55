/**
 * The server's logs: pino, JSON (one object a line) or pretty (pino-pretty,
 * loaded only for that format), at `log.level`; the format when none is set
 * is pretty on a terminal and JSON when stdout is piped. The plain lines that
 * scripts and tests read (`sr: gRPC listening on ADDR`, `sr: HTTP listening
 * on ADDR`, the signals, `sr: stopped`) are written as they are, in every
 * format, to the same stream as the log lines so that the order holds.
 *
 * What is logged (docs/operations.md):
 * - info: every status change (group, identifier, status, oldStatus,
 *   revision, and `by`: the token or certificate that wrote it, "anonymous"
 *   without auth, or the server's own: "server", "config", "lease"), every
 *   registration and removal;
 * - debug: every report added; every call refused, over gRPC with its code
 *   and reason, over HTTP with its status or MI error;
 * - error: every failure of ours, with its cause;
 * - warn: what the server goes on without (a taken default HTTP port).
 * Nothing secret: no request metadata or header is ever logged, and pino's
 * redaction blanks the usual places of a secret as a safety net.
 *
 * The domain does not log: this module listens to the registry's changes
 * and to the listeners' refusals.
 */
import { writeSync } from "node:fs";
import { isatty } from "node:tty";
import { type Metadata, status as Code } from "@grpc/grpc-js";
import { type DestinationStream, type Logger, pino } from "pino";
import { ErrorInfo } from "../../gen/ts/google/rpc/error_details.js";
import { Status } from "../../gen/ts/google/rpc/status.js";
import type { Change, Registry } from "../domain/registry/registry.js";
import { STATUS_DETAILS_KEY } from "../protocol/wire.js";
import type { CallEnd, RpcStats } from "../transport/grpc/metrics.js";
import type { HttpEvents } from "../transport/http/server.js";
import type { LogFormat, LogLevel } from "./config.js";

export type { Logger } from "pino";

/**
 * Where a secret could sit in what is logged; blanked should one ever get
 * there (nothing logs request metadata or headers). Fixed paths only: pino's
 * wildcard paths cost about 10 µs a line.
 */
export const REDACTED_PATHS = ["authorization", "token", "password", "metadata", "headers.authorization", "headers.cookie", "req.headers.authorization"];

/** A stream the log lines and the plain lines go to (stdout unless a test gives one). */
export interface LogOutput {
  write(text: string): unknown;
  /** Writes out what is buffered, synchronously (before the process exits). */
  flushSync?(): void;
}

/** The server's logger and the plain line sink beside it. */
export interface Logs {
  readonly logger: Logger;
  /** A plain line (no JSON, no prefix), in order with the log lines. */
  line(text: string): void;
  /** Writes out whatever is buffered (before process.exit). */
  flush(): void;
}

export interface LogSettings {
  level: LogLevel;
  format: LogFormat | undefined;
}

/**
 * Lines to a file descriptor, written together once per turn of the event
 * loop (or at 64 KiB): under load, one system call carries many log lines;
 * idle, a line goes out right after the turn that logged it. Synchronous
 * writes, so the order holds and nothing waits in a thread at exit.
 */
const PAUSE = new Int32Array(new SharedArrayBuffer(4));

export class LineWriter implements LogOutput {
  private parts: string[] = [];
  private size = 0;
  private scheduled = false;
  private broken = false;

  constructor(private readonly fd: number) {}

  write(text: string): void {
    this.parts.push(text);
    this.size += text.length;
    if (this.size >= 65_536) this.flushSync();
    else if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flushSync());
    }
  }

  flushSync(): void {
    this.scheduled = false;
    if (this.parts.length === 0) return;
    const bytes = Buffer.from(this.parts.join(""));
    this.parts = [];
    this.size = 0;
    if (this.broken) return;
    let offset = 0;
    while (offset < bytes.length) {
      try {
        offset += writeSync(this.fd, bytes, offset);
      } catch (error) {
        // A full non-blocking pipe: try again; anything else (EPIPE: the reader is gone): stop writing.
        if ((error as NodeJS.ErrnoException).code === "EAGAIN") {
          Atomics.wait(PAUSE, 0, 0, 1); // 1 ms, then again
          continue;
        }
        this.broken = true;
        return;
      }
    }
  }
}

function options(level: LogLevel): pino.LoggerOptions {
  return {
    level,
    base: { pid: process.pid },
    formatters: { level: (label) => ({ level: label }) },
    redact: { paths: REDACTED_PATHS, censor: "[redacted]" },
    // An error's type, message, stack and code, and no other property: Node's errors carry their input (a URL error its whole URL, query included).
    serializers: { err: errorOf },
  };
}

function errorOf(error: unknown): Record<string, unknown> {
  if (!(error instanceof Error)) return { type: typeof error, message: String(error) };
  const { code } = error as NodeJS.ErrnoException;
  return { type: error.constructor.name, message: error.message, stack: error.stack, ...(typeof code === "string" ? { code } : {}) };
}

/**
 * The logs of the server process. `output` replaces stdout (tests); `isTTY`
 * decides the format when `settings.format` is undefined (default: stdout's).
 */
export async function createLogs(settings: LogSettings, output?: LogOutput, isTTY = isatty(1)): Promise<Logs> {
  const out: LogOutput = output ?? new LineWriter(1);
  const format = settings.format ?? (isTTY ? "pretty" : "json");
  let stream: DestinationStream = { write: (line: string) => void out.write(line) };
  if (format === "pretty") {
    const { prettyFactory } = await import("pino-pretty");
    const colorize = isTTY && output === undefined && !process.env.NO_COLOR;
    const pretty = prettyFactory({ colorize, translateTime: "SYS:HH:MM:ss.l", ignore: "pid,hostname", singleLine: true });
    stream = { write: (line: string) => void out.write(pretty(line)) };
  }
  const logger = pino(options(settings.level), stream);
  const flush = () => {
    try {
      out.flushSync?.();
    } catch {
      // stdout is gone (closed pipe): nothing left to write to
    }
  };
  return { logger, line: (text) => void out.write(`${text}\n`), flush };
}

/** Logs nothing; its plain lines go to `line` (in-process servers: tests). */
export function silentLogs(line: (text: string) => void = () => {}): Logs {
  return { logger: pino({ level: "silent" }), line, flush() {} };
}

// ---- what is logged ----

/** One change as a log entry: info for status, registrations and removals, debug for reports. Objects built whole: this runs once per change. */
function logChange(logger: Logger, change: Change): void {
  const { group, identifier, revision } = change;
  const by = change.by ?? "server";
  switch (change.kind) {
    case "status":
      logger.info(
        { group, identifier, revision, by, status: change.status, oldStatus: change.oldStatus, details: change.details },
        change.statusChanged ? "status changed" : "details changed",
      );
      return;
    case "registered":
      logger.info({ group, identifier, revision, by, status: change.status.status }, identifier === "main" ? "group registered" : "identifier registered");
      return;
    case "unregistered":
      logger.info({ group, identifier, revision, by }, identifier === "" ? "group unregistered" : "identifier unregistered");
      return;
    case "report":
      if (logger.isLevelEnabled("debug")) logger.debug({ group, identifier, revision, by, sequence: change.report.sequence, text: change.report.text }, "report added");
  }
}

/** Logs every change of `registry`; returns the unsubscriber. */
export function logChanges(registry: Registry, logger: Logger): () => void {
  if (!logger.isLevelEnabled("info")) return () => {};
  return registry.onChange((change) => logChange(logger, change));
}

/** The reason of the rich error model in a call's trailers (docs/errors.md), undefined when there is none. */
export function reasonOf(trailers: Metadata | undefined): string | undefined {
  const bytes = trailers?.get(STATUS_DETAILS_KEY)[0];
  if (!(bytes instanceof Buffer)) return undefined;
  try {
    const info = Status.decode(bytes).details.find((d) => d.typeUrl.endsWith("/google.rpc.ErrorInfo"));
    return info ? ErrorInfo.decode(info.value).reason : undefined;
  } catch {
    return undefined;
  }
}

function logCallEnd(logger: Logger, end: CallEnd): void {
  const slash = end.path.lastIndexOf("/");
  const call = { service: end.path.slice(1, slash), method: end.path.slice(slash + 1), code: Code[end.code] ?? String(end.code), durationMs: Math.round(end.durationMs * 1000) / 1000 };
  if (end.cause !== undefined) {
    logger.error({ ...call, err: end.cause }, "internal error");
    return;
  }
  if (!logger.isLevelEnabled("debug")) return;
  const cancelled = end.code === Code.CANCELLED || end.code === Code.DEADLINE_EXCEEDED;
  logger.debug({ ...call, reason: reasonOf(end.trailers), message: end.details }, cancelled ? "call cancelled" : "call refused");
}

/** Logs the gRPC calls that end with another code than OK: refusals at debug, failures of ours at error. */
export function logCalls(rpc: RpcStats, logger: Logger): () => void {
  return rpc.onEnd((end) => logCallEnd(logger, end));
}

/** What the HTTP listener tells of its refusals and failures, logged the same way. */
export function httpEventsOf(logger: Logger): HttpEvents {
  return {
    refused(event) {
      logger.debug(event, "HTTP request refused");
    },
    failed(event, error) {
      logger.error({ ...event, err: error }, "HTTP request failed");
    },
  };
}
