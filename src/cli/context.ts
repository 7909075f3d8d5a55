/**
 * What a command's action runs with: the output format and colours, a client
 * made on first use (and closed after), and one place that turns what the
 * action returned or threw into the exit code.
 */
import type { Command } from "commander";
import type { SrClient } from "../../clients/ts/index.js";
import type { HealthClient } from "../../gen/ts/health/v1/health.js";
import { type ClientOptions, healthClientOf, srClientOf } from "./connect.js";
import { CliError, EXIT_FAILED, describeError } from "./exit.js";
import { type Format, type Paint, colourOn, paintOf } from "./output.js";

export interface Context {
  readonly format: Format;
  readonly paint: Paint;
  readonly options: ClientOptions;
  /** Per-call options of unary calls (the deadline). */
  readonly call: { timeoutMs: number };
  client(): SrClient;
  health(): HealthClient;
  out(text: string): void;
}

/** Maps an error to an exit code (after it was printed). Default: 1. */
export type OnError = (error: unknown) => number;

class RunContext implements Context {
  readonly format: Format;
  readonly paint: Paint;
  readonly options: ClientOptions;
  readonly call: { timeoutMs: number };
  private sr: SrClient | undefined;
  private healthClient: HealthClient | undefined;

  constructor(globals: Record<string, unknown>) {
    this.format = (globals.output as Format | undefined) ?? "table";
    this.paint = paintOf(this.format === "table" && colourOn());
    this.options = globals as unknown as ClientOptions;
    this.call = { timeoutMs: this.options.timeout };
  }

  client(): SrClient {
    this.sr ??= srClientOf(this.options);
    return this.sr;
  }

  health(): HealthClient {
    this.healthClient ??= healthClientOf(this.options);
    return this.healthClient;
  }

  out(text: string): void {
    process.stdout.write(text);
  }

  close(): void {
    this.sr?.close();
    this.healthClient?.close();
  }
}

/**
 * Wraps a command's handler as a commander action: `handler(ctx, args, opts)`
 * returns the exit code; what it throws is printed as `sr: ...` and exits by
 * `onError` (a CliError by its own code).
 */
export function run<O = Record<string, unknown>>(
  handler: (ctx: Context, args: (string | undefined)[], opts: O) => Promise<number>,
  onError: OnError = () => EXIT_FAILED,
): (...params: unknown[]) => Promise<void> {
  return async (...params: unknown[]) => {
    const command = params.at(-1) as Command;
    const opts = params.at(-2) as O;
    const args = params.slice(0, -2) as (string | undefined)[];
    const ctx = new RunContext(command.optsWithGlobals());
    try {
      process.exitCode = await handler(ctx, args, opts);
    } catch (error) {
      process.stderr.write(`sr: ${describeError(error)}\n`);
      process.exitCode = error instanceof CliError ? error.exitCode : onError(error);
    } finally {
      ctx.close();
    }
  };
}

/** "group/identifier", `main` for the empty identifier. */
export function nameOf(group: string, identifier: string | undefined): string {
  return `${group}/${identifier || "main"}`;
}

/** Adds "Examples:" to a command's --help. */
export function examples(command: Command, lines: readonly string[]): Command {
  return command.addHelpText("after", `\nExamples:\n${lines.map((line) => `  ${line}`).join("\n")}\n`);
}
