/**
 * `npm run bench`: every scenario, one after the other, each in a process of
 * its own (so one's heap and sockets do not weigh on the next), with the same
 * flags: `npm run bench -- --smoke` is the tiny run CI makes.
 *
 *   npx tsx bench/all.ts [--smoke] [--rounds N] [--write | --no-write] [--only unary,fanout,...]
 */
import { spawnSync } from "node:child_process";
import path from "node:path";
import { ensureBuilt, repoRoot } from "./lib/procs.js";
import { now } from "./lib/stats.js";

const SCENARIOS = ["unary", "fanout", "scale", "slow-readers", "page", "storage", "replicas"];
const args = process.argv.slice(2);
const only = args.indexOf("--only");
const chosen = only >= 0 ? (args[only + 1] ?? "").split(",") : SCENARIOS;
const passed = only >= 0 ? [...args.slice(0, only), ...args.slice(only + 2)] : args;
const unknown = chosen.filter((s) => !SCENARIOS.includes(s));
if (unknown.length) {
  process.stderr.write(`bench: no scenario ${unknown.join(", ")} (known: ${SCENARIOS.join(", ")})\n`);
  process.exit(2);
}

ensureBuilt();
const timings: string[] = [];
let failed = false;
for (const scenario of chosen) {
  const start = now();
  const r = spawnSync(process.execPath, ["--import", "tsx", path.join(repoRoot, "bench", `${scenario}.ts`), ...passed], { cwd: repoRoot, stdio: "inherit" });
  const ok = r.status === 0;
  failed ||= !ok;
  timings.push(`${scenario.padEnd(14)} ${((now() - start) / 1000).toFixed(1).padStart(7)} s  ${ok ? "ok" : `FAILED (${r.status ?? r.signal})`}`);
}
process.stderr.write(`== bench\n${timings.join("\n")}\n`);
process.exit(failed ? 1 : 0);
