#!/usr/bin/env node
// Compiles the server (src/ and gen/) to dist/ and records a hash of what it
// was compiled from, so that a stale build is never run by mistake.
//
//   node scripts/build-server.mjs            build (the `prepare` script, run by `npm ci`)
//   node scripts/build-server.mjs --if-stale build only when the sources differ (`prestart`, the tests)
//   node scripts/build-server.mjs --check    exit 1 with a message when stale (builds nothing)
//
// Besides tsc's output it writes dist/vendor/config-libs.cjs: zod and yaml as
// one CommonJS file (esbuild), which src/app/config-schema.ts loads in place of
// the packages when it is there (see CONFIG_LIBS below).
//
// A content hash, not mtimes: a checkout or a copy changes mtimes without
// changing the code, and an edit within the same second keeps them.
// Concurrent callers (parallel test workers) serialise on a lock directory and
// re-check after taking it, so only one of them compiles.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { chmodSync, copyFileSync, cpSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import vm from "node:vm";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const DIST = path.join(root, "dist");
const STAMP = path.join(DIST, ".source-hash");
const LOCK = path.join(root, ".dist.lock");
/**
 * What the build reads: the code, the generated code with its descriptor set, the compiler settings,
 * the installed versions (the vendor bundle holds zod's and yaml's code) and this script.
 */
const INPUTS = ["src", "gen", "clients/ts", "tsconfig.json", "tsconfig.build.json", "package-lock.json", "scripts/build-server.mjs"];
/** Build outputs inside the inputs (the client package's own dist/), never read. */
const SKIPPED = new Set(["dist", "node_modules"]);
/**
 * zod and yaml bundled into one CommonJS file, for a server started with a
 * configuration file: loaded from node_modules they are about 100 small
 * modules (zod ~75 ms, yaml ~30 ms of Node's module loader), the bundle ~50 ms
 * (a bare process; in a server's start about 30 ms saved, as a major GC then
 * falls in the schema's build).
 * CommonJS because yaml requires "process" at run time, which an ESM bundle
 * cannot; the same `require` conditions (zod's index.cjs, yaml's node build)
 * as config-schema.ts's createRequire, so the same code either way.
 */
const CONFIG_LIBS = {
  file: "vendor/config-libs.cjs",
  // Getters: each library is evaluated when first asked for (esbuild keeps a bundled require lazy).
  entry: 'module.exports = { get z() { return require("zod"); }, get YAML() { return require("yaml"); } };\n',
};
/** A lock older than this is left over from a killed build. */
const STALE_LOCK_MS = 120_000;

function files(entry) {
  const full = path.join(root, entry);
  if (!statSync(full, { throwIfNoEntry: false })) return [];
  if (!statSync(full).isDirectory()) return [entry];
  return readdirSync(full, { withFileTypes: true })
    .filter((d) => !(d.isDirectory() && SKIPPED.has(d.name)))
    .flatMap((d) => files(path.join(entry, d.name)))
    .sort();
}

export function sourceHash() {
  const hash = createHash("sha256");
  for (const file of INPUTS.flatMap(files)) {
    hash.update(`${file}\0`);
    hash.update(readFileSync(path.join(root, file)));
  }
  return hash.digest("hex");
}

function builtHash() {
  try {
    return readFileSync(STAMP, "utf8").trim();
  } catch {
    return undefined;
  }
}

function build(hash) {
  // Compiled beside dist/ and swapped in by two renames, so that a server
  // started meanwhile (another test worker) never finds dist/ half written.
  const next = `${DIST}.next`;
  const old = `${DIST}.old`;
  rmSync(next, { recursive: true, force: true });
  try {
    execFileSync(
      process.execPath,
      [path.join(root, "node_modules/typescript/bin/tsc"), "-p", path.join(root, "tsconfig.build.json"), "--outDir", next],
      { cwd: root, stdio: "inherit" },
    );
  } catch {
    // tsc printed the errors; a build that does not type-check is not used, so dist/ stays stale.
    rmSync(next, { recursive: true, force: true });
    console.error("sr: the server does not compile (errors above); dist/ is not usable");
    process.exit(1);
  }
  // reflection.ts reads the descriptor set next to the compiled gen/.
  mkdirSync(path.join(next, "gen"), { recursive: true });
  copyFileSync(path.join(root, "gen/descriptors.binpb"), path.join(next, "gen/descriptors.binpb"));
  // The status page's browser files (plain JS and CSS, served as they are) sit next to the compiled page code.
  cpSync(path.join(root, "src/transport/http/page/assets"), path.join(next, "src/transport/http/page/assets"), {
    recursive: true,
    filter: (source) => !source.endsWith(".d.ts"),
  });
  // config-schema.ts's zod and yaml, one file (CONFIG_LIBS).
  try {
    // Required here, not imported: --check and --if-stale on a fresh build never load it.
    createRequire(import.meta.url)("esbuild").buildSync({
      stdin: { contents: CONFIG_LIBS.entry, resolveDir: root, sourcefile: "config-libs-entry.cjs", loader: "js" },
      outfile: path.join(next, CONFIG_LIBS.file),
      bundle: true,
      format: "cjs",
      platform: "node",
      target: "node20",
      logLevel: "warning",
    });
  } catch (error) {
    // esbuild printed its own errors (a BuildFailure lists them); anything else (no esbuild installed) is shown here.
    if (!Array.isArray(error?.errors)) console.error(String(error?.message ?? error));
    rmSync(next, { recursive: true, force: true });
    console.error(`sr: ${CONFIG_LIBS.file} could not be bundled (errors above); dist/ is not usable`);
    process.exit(1);
  }
  // V8's code cache of that file, made by running it once here: Node 20 keeps none of its own, and
  // compiling the bundle is most of its load time. Another Node rejects it and compiles (config-schema.ts).
  writeConfigLibsCache(path.join(next, CONFIG_LIBS.file));
  // The `sr` command (package.json's bin) runs as a program of its own.
  const cli = path.join(next, "src/cli/main.js");
  if (statSync(cli, { throwIfNoEntry: false })) chmodSync(cli, 0o755);
  writeFileSync(path.join(next, ".source-hash"), `${hash}\n`);
  rmSync(old, { recursive: true, force: true });
  if (statSync(DIST, { throwIfNoEntry: false })) renameSync(DIST, old);
  renameSync(next, DIST);
  rmSync(old, { recursive: true, force: true });
}

/** Runs the bundle as config-schema.ts does (the same wrapper, so V8 takes the cache), then writes FILE.v8cache. */
function writeConfigLibsCache(file) {
  const script = new vm.Script(`(function (exports, require, module) {${readFileSync(file, "utf8")}\n})`, { filename: file });
  const module = { exports: {} };
  script.runInThisContext()(module.exports, createRequire(file), module);
  const { z, YAML } = module.exports;
  // Compiled now, so cached: the functions a schema's build and a document's parse call.
  const schema = z.strictObject({ a: z.int().min(1).optional(), b: z.array(z.string()).optional(), c: z.unknown().transform((v) => v) });
  schema.safeParse(YAML.parseDocument("a: 1\nb: [x]\nc: 2\n", { lineCounter: new YAML.LineCounter() }).toJS());
  writeFileSync(`${file}.v8cache`, script.createCachedData());
}

function sleep(ms) {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function withLock(fn) {
  for (;;) {
    try {
      mkdirSync(LOCK);
      break;
    } catch (error) {
      if (error.code !== "EEXIST") throw error;
      const age = Date.now() - (statSync(LOCK, { throwIfNoEntry: false })?.mtimeMs ?? Date.now());
      if (age > STALE_LOCK_MS) rmSync(LOCK, { recursive: true, force: true });
      else sleep(100);
    }
  }
  try {
    return fn();
  } finally {
    rmSync(LOCK, { recursive: true, force: true });
  }
}

const mode = process.argv[2] ?? "--build";
if (mode === "--check") {
  if (builtHash() !== sourceHash()) {
    console.error("sr: dist/ is missing or older than src/, gen/ or package-lock.json; run `npm run build` (npm start rebuilds it by itself)");
    process.exit(1);
  }
} else if (mode === "--if-stale") {
  if (builtHash() !== sourceHash()) {
    withLock(() => {
      const hash = sourceHash();
      if (builtHash() === hash) return;
      console.error("sr: dist/ is older than src/, gen/ or package-lock.json, rebuilding");
      build(hash);
    });
  }
} else if (mode === "--build") {
  withLock(() => build(sourceHash()));
} else {
  console.error(`usage: node scripts/build-server.mjs [--build | --if-stale | --check] (not '${mode}')`);
  process.exit(2);
}
