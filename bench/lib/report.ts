/**
 * What every scenario shares around its measurement: the flags, the machine
 * and load average, the table, the JSON, and its section of BENCHMARKS.md.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { loadavg, totalmem } from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { repoRoot } from "./procs.js";
import { now } from "./stats.js";

export interface Flags {
  smoke: boolean;
  rounds: number;
  /** Write the scenario's section of BENCHMARKS.md (default: on for a full run, off for --smoke). */
  write: boolean;
  /** The arguments as given, for the reproducing command. */
  argv: string[];
  /** When the scenario started (stats.ts `now()`) and the 1-minute load average then. */
  startedAt: number;
  startedLoad: number;
  /** The scenario's own string flags (`flags(rounds, ["duration"])`), as given. */
  extra: Record<string, string | undefined>;
}

/** `--smoke` (tiny sizes, no BENCHMARKS.md), `--rounds N`, `--write` / `--no-write`, and a scenario's own `--NAME VALUE` flags. */
export function flags(defaultRounds: number, extra: readonly string[] = []): Flags {
  const argv = process.argv.slice(2);
  const { values } = parseArgs({
    args: argv,
    options: {
      ...Object.fromEntries(extra.map((name) => [name, { type: "string" as const }])),
      smoke: { type: "boolean", default: false },
      rounds: { type: "string" },
      write: { type: "boolean" },
      "no-write": { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(`flags: [--smoke] [--rounds N] [--write | --no-write]${extra.map((name) => ` [--${name} VALUE]`).join("")}\n`);
    process.exit(0);
  }
  const smoke = values.smoke ?? false;
  const rounds = values.rounds === undefined ? (smoke ? 1 : defaultRounds) : Number(values.rounds);
  if (!Number.isInteger(rounds) || rounds < 1) throw new Error(`--rounds must be a positive integer, not '${values.rounds}'`);
  const given = values as Record<string, unknown>;
  const own = Object.fromEntries(extra.map((name) => [name, given[name] as string | undefined]));
  return { smoke, rounds, write: values["no-write"] ? false : (values.write ?? !smoke), argv, startedAt: now(), startedLoad: load1(), extra: own };
}

export const log = (line: string) => process.stderr.write(`${line}\n`);

function run(command: string, args: string[]): string {
  try {
    return execFileSync(command, args, { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
  } catch {
    return "unknown";
  }
}

function packageVersion(name: string): string {
  try {
    return (JSON.parse(readFileSync(path.join(repoRoot, "node_modules", name, "package.json"), "utf8")) as { version: string }).version;
  } catch {
    return "unknown";
  }
}

export interface Machine {
  cpu: string;
  cores: number;
  memoryGiB: number;
  kernel: string;
  node: string;
  grpcJs: string;
  h2load: string;
  etcd: string;
}

export function machine(): Machine {
  return {
    cpu: /Model name:\s*(.*)/.exec(run("lscpu", []))?.[1]?.trim() ?? "unknown",
    cores: Number(run("nproc", [])),
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    kernel: run("uname", ["-sr"]),
    node: process.version,
    grpcJs: packageVersion("@grpc/grpc-js"),
    h2load: /h2load nghttp2\/(\S+)/.exec(run("h2load", ["--version"]))?.[1] ?? "missing",
    etcd: /etcd Version: (\S+)/.exec(run("etcd", ["--version"]))?.[1] ?? "missing",
  };
}

/** The 1-minute load average, sampled at the start and end of a scenario. */
export const load1 = () => Number((loadavg()[0] ?? 0).toFixed(2));

export type Cell = string | number | undefined;
export interface Column<R> {
  title: string;
  value: (row: R) => Cell;
  /** Left-aligned text column (default: numbers, right-aligned). */
  text?: boolean;
}

/** 1234567 -> "1,234,567"; small numbers keep three significant digits. */
export function fmt(value: Cell): string {
  if (value === undefined || (typeof value === "number" && !Number.isFinite(value))) return "-";
  if (typeof value === "string") return value;
  if (Number.isInteger(value)) return value.toLocaleString("en-US");
  const abs = Math.abs(value);
  if (abs >= 100) return Math.round(value).toLocaleString("en-US");
  if (abs >= 10) return value.toFixed(1);
  if (abs >= 1) return value.toFixed(2);
  return value.toPrecision(3).replace(/0+$/, "").replace(/\.$/, "");
}

/** `value` as a multiple of `baseline`'s, "0.85x". */
export function ratio(value: number, baseline: number | undefined): string {
  return baseline ? `${(value / baseline).toFixed(2)}x` : "-";
}

export function table<R>(columns: Column<R>[], rows: readonly R[]): string {
  const head = `| ${columns.map((c) => c.title).join(" | ")} |`;
  const rule = `|${columns.map((c) => (c.text ? "---" : "---:")).join("|")}|`;
  const body = rows.map((row) => `| ${columns.map((c) => fmt(c.value(row))).join(" | ")} |`);
  return [head, rule, ...body].join("\n");
}

export interface Outcome {
  /** Scenario name: the section of BENCHMARKS.md and the JSON file. */
  scenario: string;
  title: string;
  /** Markdown: the tables and what they mean. */
  body: string;
  /** Medians and the raw rounds, for the JSON. */
  data: { medians: unknown; runs: unknown };
}

/**
 * Prints the tables and the JSON, saves the JSON (bench/results/SCENARIO.json,
 * or tmp/bench-smoke/ for a smoke run) and, for a full run, replaces the
 * scenario's section of BENCHMARKS.md between its markers.
 */
export function publish(f: Flags, outcome: Outcome): void {
  const m = machine();
  const endLoad = load1();
  const seconds = Math.round((now() - f.startedAt) / 1000);
  const command = `npx tsx bench/${outcome.scenario}.ts${f.argv.length ? ` ${f.argv.join(" ")}` : ""}`;
  const when = new Date().toISOString().replace(/\.\d+Z$/, "Z");
  const json = {
    scenario: outcome.scenario,
    when,
    command,
    smoke: f.smoke,
    rounds: f.rounds,
    machine: m,
    loadAverage1m: { start: f.startedLoad, end: endLoad },
    seconds,
    ...outcome.data,
  };
  const dir = f.smoke ? path.join(repoRoot, "tmp/bench-smoke") : path.join(repoRoot, "bench/results");
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${outcome.scenario}.json`);
  writeFileSync(file, `${JSON.stringify(json, (_k, v: unknown) => (typeof v === "bigint" ? Number(v) : v), 2)}\n`);

  const section = [
    `## ${outcome.title}`,
    "",
    `Measured ${when} by \`${command}\` in ${seconds} s, ${f.rounds} round${f.rounds === 1 ? "" : "s"} (medians), ` +
      `on ${m.cores} × ${m.cpu}, ${m.memoryGiB} GiB, ${m.kernel}; Node ${m.node}, @grpc/grpc-js ${m.grpcJs}, h2load ${m.h2load}, etcd ${m.etcd}; ` +
      `1-minute load average ${f.startedLoad} at the start, ${endLoad} at the end. Every run: \`${path.relative(repoRoot, file)}\`.`,
    "",
    outcome.body.trim(),
    "",
  ].join("\n");
  process.stdout.write(`${section}\n`);
  process.stdout.write(`JSON, medians (every round in ${path.relative(repoRoot, file)}):\n${JSON.stringify(outcome.data.medians)}\n`);
  if (f.write) writeSection(outcome.scenario, section);
}

const BENCHMARKS = path.join(repoRoot, "BENCHMARKS.md");

/** Replaces `<!-- bench:NAME -->` ... `<!-- /bench:NAME -->` in BENCHMARKS.md, or appends it. */
function writeSection(name: string, section: string): void {
  const text = readFileSync(BENCHMARKS, "utf8");
  const open = `<!-- bench:${name} -->`;
  const close = `<!-- /bench:${name} -->`;
  const block = `${open}\n${section}${close}`;
  const start = text.indexOf(open);
  const end = text.indexOf(close);
  const next = start >= 0 && end > start ? text.slice(0, start) + block + text.slice(end + close.length) : `${text.trimEnd()}\n\n${block}\n`;
  writeFileSync(BENCHMARKS, next);
}
