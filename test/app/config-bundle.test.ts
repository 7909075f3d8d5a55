// The compiled server reads its configuration file with zod and yaml from one bundled file
// (dist/vendor/config-libs.cjs, scripts/build-server.mjs; issue 12: it loads in about half the
// time of the packages), the sources with the packages themselves: the same libraries, so the
// same refusals, word for word.
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type * as Z from "zod";
import { ConfigError, loadConfig } from "../../src/app/config.js";
import { killAllSrProcesses, removeTempFiles, repoRoot, runSrProcess, startSrProcess, writeTempFile } from "../helpers/process.js";

afterAll(async () => {
  await killAllSrProcesses();
  removeTempFiles();
});

const BUNDLE = path.join(repoRoot, "dist/vendor/config-libs.cjs");

/** The message the sources give for a file (loadConfig's ConfigError). */
function sourceMessage(file: string): string {
  try {
    loadConfig(["--config", file], {});
  } catch (error) {
    if (error instanceof ConfigError) return error.message;
    throw error;
  }
  throw new Error(`${file} was accepted`);
}

describe("the compiled server's configuration file (zod and yaml bundled)", { timeout: 60_000 }, () => {
  it("refuses a bad file with the sources' very message", async () => {
    const cases = [
      "limits: {max_groups: 0}\n",
      "listen: 127.0.0.1:0\nlimits:\n  max_groups: x\nwatch:\n  progress: soon\nlisen: 1\n",
      "groups:\n  - name: billing\n  - name: ship/ping\n",
      "limits:\n  max_groups: 3\n bad: [\n",
    ].map((yaml) => writeTempFile("sr.yaml", yaml));
    const runs = await Promise.all(cases.map((file) => runSrProcess({ args: ["--config", file] })));
    expect(existsSync(BUNDLE)).toBe(true); // built by the first run (the helpers build dist/ when stale)
    runs.forEach((run, i) => {
      expect(run.exit.code, run.stderr).toBe(2);
      expect(run.stderr.split("\n\nUsage:")[0]).toBe(`sr: ${sourceMessage(cases[i] as string)}`);
    });
  });

  it("starts with a good one; the bundle holds the installed zod", async () => {
    const { address } = await startSrProcess({ listen: null, http: null, args: ["--config", writeTempFile("sr.yaml", "listen: 127.0.0.1:0\nhttp: false\n")] });
    expect(address).toMatch(/^127\.0\.0\.1:\d+$/);
    const require = createRequire(import.meta.url);
    const bundled = (require(BUNDLE) as { z: typeof Z }).z.core.version;
    expect(bundled).toEqual((require("zod") as typeof Z).core.version);
  });
});
