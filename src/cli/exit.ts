/**
 * The exit codes of `sr` and the errors that carry them. Every command exits
 * 0 on success, 1 when its call failed and 64 on a usage error; `check` and
 * `health` have codes of their own (below), as the README's "The sr command" says.
 */
import { status as GrpcStatus } from "@grpc/grpc-js";
import { SrError } from "../../clients/ts/index.js";

export const EXIT_OK = 0;
/** A call failed (any command but check and health). */
export const EXIT_FAILED = 1;
/** A usage error: an unknown command or option, a bad argument, an invalid configuration (sysexits' EX_USAGE). */
export const EXIT_USAGE = 64;

/** `check`: the readiness of what it names. */
export const CHECK_EXIT = { ready: 0, notReady: 1, notFound: 2, error: 3 } as const;
/** `health`: as grpc_health_probe. */
export const HEALTH_EXIT = { serving: 0, noConnection: 2, failed: 3, notServing: 4 } as const;

/** An error that ends the command with `exitCode`; its message is printed as `sr: <message>`. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
    this.name = "CliError";
  }
}

export class UsageError extends CliError {
  constructor(message: string) {
    super(message, EXIT_USAGE);
    this.name = "UsageError";
  }
}

/** One line for people: the server's message and its reason (or the gRPC code when there is none). */
export function describeError(error: unknown): string {
  if (error instanceof SrError) {
    const why = error.reason ?? GrpcStatus[error.code] ?? String(error.code);
    return `${error.details || "the call failed"} (${why})`;
  }
  return error instanceof Error ? error.message : String(error);
}

/** Whether `error` says the server was never reached (no reason: grpc-js itself answered UNAVAILABLE). */
export function isNoConnection(error: unknown): boolean {
  return error instanceof SrError && error.code === GrpcStatus.UNAVAILABLE && error.reason === undefined;
}

export function isNotFound(error: unknown): boolean {
  return error instanceof SrError && (error.reason === "GROUP_NOT_FOUND" || error.reason === "IDENTIFIER_NOT_FOUND");
}
