/**
 * Output: aligned tables for people, JSON and YAML for programs (`-o`).
 * Readiness is coloured only on a terminal: never when piped, never with
 * NO_COLOR; FORCE_COLOR turns it on anyway. Text from the server is shown with
 * its control characters escaped, so that no details can move the cursor or
 * colour the terminal.
 */
import { stringify as yamlStringify } from "yaml";

export const FORMATS = ["table", "json", "yaml"] as const;
export type Format = (typeof FORMATS)[number];

export interface Paint {
  readonly on: boolean;
  ready(text: string): string;
  notReady(text: string): string;
  dim(text: string): string;
}

/** Colour on a terminal unless NO_COLOR is set (non-empty); FORCE_COLOR (non-empty, not "0") forces it. */
export function colourOn(stream: { isTTY?: boolean } = process.stdout, env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.NO_COLOR) return false;
  if (env.FORCE_COLOR && env.FORCE_COLOR !== "0") return true;
  return stream.isTTY === true;
}

export function paintOf(on: boolean): Paint {
  const sgr = (code: string) => (text: string) => (on ? `\x1b[${code}m${text}\x1b[0m` : text);
  return { on, ready: sgr("32"), notReady: sgr("31"), dim: sgr("2") };
}

const ANSI = /\x1b\[[0-9;]*m/g;

/** The width a cell takes on screen (colour codes take none). */
export function visibleWidth(text: string): number {
  return [...text.replace(ANSI, "")].length;
}

/** Server text made safe for one table cell or line: control characters escaped. */
export function safeText(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\x00-\x1f\x7f-\x9f]/g, (c) => {
    if (c === "\n") return "\\n";
    if (c === "\t") return "\\t";
    if (c === "\r") return "\\r";
    return `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`;
  });
}

/** Columns separated by two spaces, each as wide as its widest cell; the last column is not padded. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(visibleWidth(h), ...rows.map((row) => visibleWidth(row[i] ?? ""))));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell + " ".repeat((widths[i] as number) - visibleWidth(cell))))
      .join("  ")
      .trimEnd();
  return `${[header, ...rows].map(line).join("\n")}\n`;
}

/** A Duration as text: "30s", "1.5s". */
export function durationText(duration: { seconds: bigint; nanos: number }): string {
  const ms = Number(duration.seconds) * 1000 + Math.round(duration.nanos / 1e6);
  return `${ms / 1000}s`;
}

function isDuration(value: object): value is { seconds: bigint; nanos: number } {
  const keys = Object.keys(value);
  return keys.length === 2 && typeof (value as { seconds?: unknown }).seconds === "bigint" && typeof (value as { nanos?: unknown }).nanos === "number";
}

/**
 * A message as plain JSON data: 64-bit numbers as numbers (as strings beyond
 * 2^53), times as RFC 3339 text, durations as "30s"; absent fields left out.
 */
export function toPlain(value: unknown): unknown {
  if (typeof value === "bigint") return value <= BigInt(Number.MAX_SAFE_INTEGER) && value >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(value) : value.toString();
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.map(toPlain);
  if (value !== null && typeof value === "object") {
    if (isDuration(value)) return durationText(value);
    const out: Record<string, unknown> = {};
    for (const [key, v] of Object.entries(value)) if (v !== undefined) out[key] = toPlain(v);
    return out;
  }
  return value;
}

/** `data` in the chosen format; `human` renders the table form. */
export function render(format: Format, data: unknown, human: () => string): string {
  if (format === "json") return `${JSON.stringify(toPlain(data), null, 2)}\n`;
  if (format === "yaml") return yamlStringify(toPlain(data));
  return human();
}

/** One record of a stream (watch): a JSON line, a YAML document, or the human line. */
export function renderLine(format: Format, data: unknown, human: () => string): string {
  if (format === "json") return `${JSON.stringify(toPlain(data))}\n`;
  if (format === "yaml") return `---\n${yamlStringify(toPlain(data))}`;
  return `${human()}\n`;
}
