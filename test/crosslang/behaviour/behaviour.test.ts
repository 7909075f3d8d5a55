// The behaviour table (scenarios.json) against live servers: every client's
// runner (TypeScript, Python blocking, Python asyncio, Go) carries out every
// scenario on a fresh server of its own, and what each observed must be
// what the table expects, so the clients cannot drift apart. The Python and
// Go runners are skipped with "skipped: install ..." when the Debian
// toolchain is missing (toolchainGate prints what to install), failed
// instead when CI=true.
import { readFileSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { afterAll, describe, it } from "vitest";
import { PYTHON, GoPath, missingGo, missingPython, pythonEnv, toolchainGate } from "../support.js";
import { repoRoot, runToEnd } from "../../helpers/process.js";
import { startProxy } from "../../helpers/proxy.js";
import { startServer } from "../../helpers/server.js";

interface Scenario {
  name: string;
  steps: string[];
  expect: Record<string, unknown>;
}
const table = JSON.parse(readFileSync(path.join(repoRoot, "test/crosslang/behaviour/scenarios.json"), "utf8")) as { scenarios: Scenario[] };

/**
 * Runs one runner against a server of its own (a history of 5 changes, for
 * the resync scenario), a proxy in front of it and the control endpoint its
 * resume scenario posts to; returns each scenario's result by name.
 */
async function runScenarios(command: string, args: string[], env: Record<string, string> = {}): Promise<Record<string, unknown>> {
  const srv = await startServer((config) => {
    config.watch.history = 5;
  });
  const proxy = await startProxy(srv.address);
  const control = http.createServer((req, res) => {
    const act = req.url === "/drop" ? proxy.drop() : req.url === "/accept" ? proxy.accept() : Promise.reject(new Error(`unknown ${req.url}`));
    act.then(
      () => res.writeHead(204).end(),
      (error: Error) => res.writeHead(500).end(error.message),
    );
  });
  await new Promise<void>((resolve) => control.listen(0, "127.0.0.1", resolve));
  try {
    const url = `http://127.0.0.1:${(control.address() as AddressInfo).port}`;
    const p = await runToEnd(command, [...args, "--target", srv.address, "--proxy", proxy.address, "--control", url], { env }, 90_000);
    return Object.fromEntries(p.json.map((line) => [line.scenario as string, line.result]));
  } finally {
    control.close();
    await proxy.close();
    await srv.stop();
  }
}

const expected = Object.fromEntries(table.scenarios.map((s) => [s.name, s.expect]));
const pythonGate = toolchainGate("Python", await missingPython());
const goGate = toolchainGate("Go", missingGo());

// The runners run at once, each against its own server.
describe.concurrent("the behaviour table, in every client", () => {
  let gopath: GoPath | undefined;
  afterAll(() => gopath?.remove());

  it("names every scenario once, each with its steps and expected result", ({ expect }) => {
    const names = table.scenarios.map((s) => s.name);
    expect(new Set(names).size).toBe(names.length);
    expect(names).toEqual(["connect", "publish_read", "errors", "watch", "resume", "resync", "lease"]);
    for (const s of table.scenarios) expect(s.steps.length, s.name).toBeGreaterThan(0);
  });

  it("TypeScript (clients/ts)", async ({ expect }) => {
    const tsx = path.join(repoRoot, "node_modules/.bin/tsx");
    expect(await runScenarios(tsx, ["test/crosslang/behaviour/runner.ts"])).toEqual(expected);
  });

  it.skipIf(pythonGate.skip)("Python, blocking (sr_client)", async ({ expect }) => {
    pythonGate.failIfMissing();
    expect(await runScenarios(PYTHON, ["test/crosslang/python/behaviour.py", "--client", "sync"], pythonEnv)).toEqual(expected);
  });

  it.skipIf(pythonGate.skip)("Python, asyncio (sr_client.aio)", async ({ expect }) => {
    pythonGate.failIfMissing();
    expect(await runScenarios(PYTHON, ["test/crosslang/python/behaviour.py", "--client", "aio"], pythonEnv)).toEqual(expected);
  });

  it.skipIf(goGate.skip)("Go (srclient)", async ({ expect }) => {
    goGate.failIfMissing();
    gopath = new GoPath();
    await gopath.build("sr-crosslang/behaviour");
    expect(await runScenarios(gopath.exe("behaviour"), [])).toEqual(expected);
  }, 240_000);
});
