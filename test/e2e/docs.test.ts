// The project's documents stand on their own: every document a comment or a
// page points at is in the repository, and nothing cites the outside contract
// files (the rules they hold are written down in docs/).
import { existsSync, readFileSync, readdirSync, statSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { repoRoot } from "../helpers/process.js";

const SOURCES = ["src", "clients/ts", "clients/python/sr_client", "clients/go", "test", "bench", "scripts", "proto", ".ci"];
const SKIP = new Set(["gen", "node_modules", "__pycache__", "dist"]);

function* files(dir: string): Generator<string> {
  for (const name of readdirSync(dir)) {
    if (SKIP.has(name)) continue;
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) yield* files(full);
    else if (/\.(ts|py|go|sh|proto|md)$/.test(name) || name === "run") yield full;
  }
}

const sources = SOURCES.flatMap((dir) => [...files(path.join(repoRoot, dir))]);
const pages = [
  path.join(repoRoot, "README.md"),
  path.join(repoRoot, "BENCHMARKS.md"),
  // Markdown only (docs/img/ holds the README's screenshot).
  ...readdirSync(path.join(repoRoot, "docs"))
    .filter((name) => name.endsWith(".md"))
    .map((name) => path.join(repoRoot, "docs", name)),
];

describe("documents", () => {
  it("every docs/… file named in the code exists", () => {
    const missing: string[] = [];
    for (const file of sources) {
      for (const [ref] of readFileSync(file, "utf8").matchAll(/docs\/[a-z-]+\.md/g)) {
        if (!existsSync(path.join(repoRoot, ref))) missing.push(`${path.relative(repoRoot, file)}: ${ref}`);
      }
    }
    expect(missing).toEqual([]);
  });

  it("no comment cites a contract file that is not in the repository", () => {
    const outside = /\b(SPEC(\.md)?|MI\.md|TOOLCHAIN\.md|STYLE\.md)\b/;
    const citing = sources.filter((file) => !file.endsWith("docs.test.ts") && outside.test(readFileSync(file, "utf8")));
    expect(citing.map((file) => path.relative(repoRoot, file))).toEqual([]);
  });

  it("every relative link of the README and docs/ points at a file that exists", () => {
    const broken: string[] = [];
    for (const page of pages) {
      for (const [, target] of readFileSync(page, "utf8").matchAll(/\]\(([^)#\s]+)(#[^)]*)?\)/g)) {
        if (/^[a-z]+:/.test(target as string)) continue; // a URL
        if (!existsSync(path.resolve(path.dirname(page), target as string))) broken.push(`${path.relative(repoRoot, page)}: ${target}`);
      }
    }
    expect(broken).toEqual([]);
  });
});
