// The TypeScript client as people install it: `npm pack` of clients/ts (its
// prepack builds dist/), the tarball installed into an empty project outside
// the repository, and programs there that import it by name, type-checked
// with `tsc --strict` and run with plain Node against a live server.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { repoRoot, runToEnd } from "../../helpers/process.js";
import { type TestServer, startServer } from "../../helpers/server.js";

const PACKAGE = "status-report-client";
const TSC = path.join(repoRoot, "node_modules/.bin/tsc");

/**
 * Never called: it only has to fail to type-check. Were the package's types
 * missing or `any`, the directive would be unused, which tsc reports.
 */
const MISUSE = `function misuse() {
  // @ts-expect-error: a status is a number
  return sr.setStatus({ group, status: "up" });
}
void misuse;`;

/**
 * One program, written twice from one source: as TypeScript (`typed`, with
 * the annotations strict mode asks for) and as plain JavaScript. It registers
 * a group, publishes its status with a lease and reads it back, catches an
 * error by its reason and watches one change, then prints what it saw as one
 * JSON line. It ends by itself once it has stopped and closed what it opened.
 */
function program(typed: boolean): string {
  const t = (annotation: string) => (typed ? annotation : "");
  return `import { SrClient, SrError } from "${PACKAGE}";
${typed ? `import type { Reason, WatchStatusResponse } from "${PACKAGE}";` : ""}

const group = process.env.SR_GROUP${t("!")};
const sr = new SrClient(process.env.SR_ADDRESS${t("!")});
const { created } = await sr.registerGroup({ group, status: -1, details: "warming up" });
const publisher = await sr.publish({ group, status: 1, details: "ready", ttlMs: 60_000 });
const { status } = await sr.getStatus({ group });

let reason${t(": Reason | undefined")};
try {
  await sr.getStatus({ group: group + "-missing" });
} catch (error) {
  if (error instanceof SrError) reason = error.reason;
}

const stop = new AbortController();
let watched${t(": WatchStatusResponse | undefined")};
for await (const message of sr.watch({ group }, { signal: stop.signal })) {
  const event = message.event;
  if (event?.$case === "snapshot" && event.value.last) await sr.setStatus({ group, status: 2, details: "watched" });
  if (event?.$case === "statusChanged") {
    watched = message;
    stop.abort();
  }
}
publisher.stop();
sr.close();
${typed ? MISUSE : ""}
const change = watched?.event?.$case === "statusChanged" ? watched.event.value : undefined;
const lease = Number(status?.leaseTtl?.seconds);
console.log(JSON.stringify({ created, status: status?.status, details: status?.details, lease, reason, watched: change?.status }));
`;
}

/**
 * The ```ts examples of a README (of its `section` alone, when given), in
 * order, as one module: they must type-check against the installed package
 * exactly as printed. `prelude` declares what an example leaves to the reader.
 */
function examplesOf(readme: string, { section, prelude = "" }: { section?: string; prelude?: string } = {}): string {
  let text = readFileSync(path.join(repoRoot, readme), "utf8");
  if (section) {
    const start = text.indexOf(`\n## ${section}\n`);
    expect(start, `${readme} has a section "${section}"`).toBeGreaterThan(-1);
    const end = text.indexOf("\n## ", start + 1);
    text = text.slice(start, end === -1 ? undefined : end);
  }
  const blocks = [...text.matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((match) => match[1]);
  expect(blocks.length, `${readme} has TypeScript examples`).toBeGreaterThan(0);
  return [prelude, ...blocks].join("\n");
}

/** What every variant prints against a fresh group. */
const EXPECTED = { created: true, status: 1, details: "ready", lease: 60, reason: "GROUP_NOT_FOUND", watched: 2 };

let srv: TestServer;
let project: string;
const temp: string[] = [];

function tempDir(prefix: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  temp.push(dir);
  return dir;
}

/** Runs `command` in the project; its last stdout line is the program's JSON. */
async function runProgram(command: string, args: string[], group: string): Promise<unknown> {
  const proc = await runToEnd(command, args, { cwd: project, env: { SR_ADDRESS: srv.address, SR_GROUP: group } }, 20_000);
  return JSON.parse(proc.lines.at(-1) ?? "null");
}

/**
 * Installs with the npm cache only (what `npm ci` left there) and, where the
 * cache lacks the registry's package listings (npm ci reads the lockfile, not
 * those), lets npm ask the registry for what is missing.
 */
async function install(args: string[]): Promise<void> {
  const base = ["install", "--no-audit", "--no-fund", ...args];
  try {
    await runToEnd("npm", ["--offline", ...base], { cwd: project }, 60_000);
  } catch {
    await runToEnd("npm", ["--prefer-offline", ...base], { cwd: project }, 60_000);
  }
}

beforeAll(async () => {
  srv = await startServer();
  const packed = tempDir("sr-pack-");
  const pack = await runToEnd("npm", ["pack", "--json", "--pack-destination", packed], { cwd: path.join(repoRoot, "clients/ts") }, 60_000);
  // npm prints the prepack script's output to stderr and the JSON report alone to stdout.
  const [report] = JSON.parse(pack.lines.join("\n")) as [{ filename: string; files: { path: string }[] }];
  const shipped = report.files.map((file) => file.path);
  expect(shipped).toEqual(expect.arrayContaining(["package.json", "README.md", "dist/clients/ts/index.js", "dist/clients/ts/index.d.ts"]));
  expect(shipped.filter((file) => !file.startsWith("dist/") && file !== "package.json" && file !== "README.md"), "nothing else of the repository").toEqual([]);
  project = tempDir("sr-consumer-");
  writeFileSync(path.join(project, "package.json"), JSON.stringify({ name: "consumer", private: true, type: "module" }));
  // @types/node is what any TypeScript project on Node has; the root's version keeps it in the cache.
  const typesNode = JSON.parse(readFileSync(path.join(repoRoot, "node_modules/@types/node/package.json"), "utf8")).version as string;
  await install([path.join(packed, report.filename), `@types/node@${typesNode}`]);
  writeFileSync(path.join(project, "main.ts"), program(true));
  writeFileSync(path.join(project, "main.mjs"), program(false));
  writeFileSync(path.join(project, "readme.ts"), examplesOf("README.md", { section: "Using it from TypeScript" }));
  writeFileSync(path.join(project, "package-readme.ts"), examplesOf("clients/ts/README.md", { prelude: "declare const state: Map<string, number>;" }));
  writeFileSync(
    path.join(project, "tsconfig.json"),
    // skipLibCheck off: the package's declarations are checked too, as a strict consumer would.
    JSON.stringify({ compilerOptions: { strict: true, module: "nodenext", target: "es2022", outDir: "out", skipLibCheck: false }, files: ["main.ts", "readme.ts", "package-readme.ts"] }),
  );
}, 120_000);

afterAll(async () => {
  await srv?.stop();
  for (const dir of temp) rmSync(dir, { recursive: true, force: true });
});

describe(`the ${PACKAGE} tarball in a project outside the repository`, () => {
  it("declares its runtime dependencies at the root's versions", () => {
    const own = JSON.parse(readFileSync(path.join(project, "node_modules", PACKAGE, "package.json"), "utf8"));
    const root = JSON.parse(readFileSync(path.join(repoRoot, "package.json"), "utf8"));
    expect(own.dependencies).toEqual({
      "@bufbuild/protobuf": root.dependencies["@bufbuild/protobuf"],
      "@grpc/grpc-js": root.dependencies["@grpc/grpc-js"],
    });
  });

  it("type-checks under tsc --strict (the READMEs' examples too, refusing a misuse), then runs: call, publish, catch a reason, watch a change", async () => {
    await runToEnd(TSC, ["-p", ".", "--strict"], { cwd: project }, 60_000);
    expect(await runProgram("node", ["out/main.js"], "pkg-ts")).toEqual(EXPECTED);
  }, 90_000); // checking every declaration (@types/node's too) takes 5 to 20 s on a busy machine

  it("runs as plain JavaScript under node", async () => {
    expect(await runProgram("node", ["main.mjs"], "pkg-mjs")).toEqual(EXPECTED);
  });
});
