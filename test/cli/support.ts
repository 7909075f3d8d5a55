/**
 * The `sr` command as a child process (`node dist/src/cli/main.js`, built
 * first when stale, as the other process tests do), and the checks its tests
 * share: table alignment, colour codes.
 */
import { execFileSync } from "node:child_process";
import path from "node:path";
import { type ProcessOptions, Spawned, choosesHttp, repoRoot } from "../helpers/process.js";

export const CLI = path.join(repoRoot, "dist/src/cli/main.js");

let built = false;
/** dist/ rebuilt when older than its sources (once per test worker; workers serialise on the build's lock). */
export function ensureBuilt(): void {
  if (built) return;
  execFileSync(process.execPath, [path.join(repoRoot, "scripts/build-server.mjs"), "--if-stale"], { cwd: repoRoot, stdio: ["ignore", "ignore", "inherit"] });
  built = true;
}

/** What a run printed (stdout as its lines joined, without the last newline) and how it ended. */
export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The environment the CLI reads, cleared unless a test sets it (a terminal's settings must not leak in). */
const CLEARED = { SR_SERVER: undefined, SR_TOKEN: undefined, NO_COLOR: undefined, FORCE_COLOR: undefined, SR_LISTEN: undefined, SR_HTTP: undefined };

/**
 * Spawns `sr ARGS...` (stdout and stderr piped) without waiting. `sr serve` gets `--no-http` unless ARGS
 * choose (`--http` with port 0): no test server takes the default HTTP port 8080.
 */
export function spawnSr(args: readonly string[], options: ProcessOptions = {}): Spawned {
  ensureBuilt();
  const http = args[0] === "serve" && !choosesHttp(args) && !options.env?.SR_HTTP ? ["--no-http"] : [];
  return new Spawned(process.execPath, [CLI, ...args, ...http], { ...options, env: { ...CLEARED, ...options.env } });
}

/** Runs `sr ARGS...` to its exit. */
export async function sr(args: readonly string[], options: ProcessOptions = {}, timeoutMs = 20_000): Promise<Run> {
  const proc = spawnSr(args, options);
  try {
    const exit = await proc.waitForExit(timeoutMs);
    return { code: exit.code, stdout: proc.stdout, stderr: proc.stderr };
  } finally {
    await proc.kill();
  }
}

/** A client of `address`: `at(address)("status")`. */
export function at(address: string, env: Record<string, string | undefined> = {}) {
  return (...args: string[]) => sr(["--server", address, ...args], { env });
}

// eslint-disable-next-line no-control-regex
export const ANSI = /\x1b\[[0-9;]*m/;
// eslint-disable-next-line no-control-regex
const ANSI_ALL = /\x1b\[[0-9;]*m/g;
export const stripAnsi = (text: string) => text.replace(ANSI_ALL, "");

/**
 * Checks that a table's columns line up: each starts where its header word
 * starts, after a gap of two spaces, on every line. Returns the rows as cells
 * (by the header's column offsets), header first.
 */
export function alignedTable(output: string): string[][] {
  const lines = stripAnsi(output).replace(/\n$/, "").split("\n");
  const header = lines[0] ?? "";
  const starts = [...header.matchAll(/\S+/g)].map((m) => m.index);
  if (starts.length < 2) throw new Error(`not a table header: ${JSON.stringify(header)}`);
  return lines.map((line, n) => {
    for (const start of starts.slice(1)) {
      if (line.length <= start) continue; // trailing empty cells
      if (line.slice(start - 2, start) !== "  ") {
        throw new Error(`line ${n} is not aligned at column ${start}:\n${lines.join("\n")}`);
      }
    }
    const cells = starts.map((start, i) => line.slice(start, starts[i + 1] ?? line.length));
    // A cell starts exactly at its column (or is empty).
    cells.forEach((cell, i) => {
      if (cell.startsWith(" ") && cell.trim() !== "") throw new Error(`line ${n}, column ${i} starts late:\n${lines.join("\n")}`);
    });
    return cells.map((cell) => cell.trim());
  });
}
