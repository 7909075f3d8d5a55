// The Python client (clients/python) against the real server: its unit
// tests, its examples, and its resuming watch through dropped connections;
// then as people install it: mypy-clean, built into a wheel offline,
// installed into a fresh virtual environment, its sync and asyncio examples
// run from there.
// Skipped with "skipped: install ..." when the Debian toolchain is missing,
// failed instead when CI=true.
import { cpSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Spawned, killAllProcesses, repoRoot, runToEnd } from "../helpers/process.js";
import { type TestServer, startServer } from "../helpers/server.js";
import { PYTHON, describeResume, missingPython, missingPythonPackaging, python, runPython, toolchainGate } from "./support.js";

const gate = toolchainGate("Python", await missingPython());
const srtest = "test/crosslang/python/srtest.py";

describe.skipIf(gate.skip)(gate.title, () => {
  let srv: TestServer | undefined;

  beforeAll(async () => {
    gate.failIfMissing();
    srv = await startServer();
  });
  afterAll(async () => {
    await killAllProcesses();
    await srv?.stop();
  });

  it("passes its unit tests (fake server: token, reasons, resume, fallback, backoff, TLS, publisher)", async () => {
    const p = await runPython(["-m", "unittest", "discover", "-s", "clients/python/tests"]);
    expect(p.stderr).toMatch(/Ran [1-9]\d* tests/);
    expect(p.stderr).toMatch(/\nOK/);
  });

  it("runs its examples: watch.py prints the status that publish.py sets", async () => {
    const group = "ExamplePy";
    const watch = python(["clients/python/examples/watch.py", "--target", srv!.address, "--group", group, "--count", "1"]);
    await watch.waitFor("the watch example to start", (p) => p.lines.some((l) => l.startsWith(`watching ${group} from revision`)));
    const publish = await runPython(["clients/python/examples/publish.py", "--target", srv!.address, "--group", group]);
    const published = /^ExamplePy: status 1 \(ready=True\) at revision (\d+)$/.exec(publish.lines[0] ?? "");
    expect(published, publish.lines.join("\n")).not.toBeNull();
    expect((await watch.waitForExit(20_000)).code).toBe(0);
    expect(watch.lines).toContain(`${group}/main: -1 -> 1 ('running') at revision ${published![1]}`);
  });

  it("reports an unreachable server as UNAVAILABLE rather than hanging", async () => {
    const p = await runPython(["-c", "import sr_client, grpc\ntry:\n  sr_client.connect('127.0.0.1:1').check('g', timeout=10)\nexcept grpc.RpcError as e:\n  print(e.code().name, repr(e.reason))"]);
    // No reason: the server was never reached.
    expect(p.lines[0]).toBe("UNAVAILABLE ''");
  });

  describeResume("Python", (target, group) => python([srtest, "watch", target, group]));
});

const packaging = toolchainGate("Python packaging", await missingPythonPackaging());
const clientDir = path.join(repoRoot, "clients/python");

describe.skipIf(packaging.skip)(packaging.skip ? packaging.title : "Python client, installed from its wheel", () => {
  let srv: TestServer | undefined;
  let dir = "";
  let venvPython = "";
  // The checkout must not be importable: only the installed wheel is.
  const installed = { PYTHONPATH: undefined, PYTHONUNBUFFERED: "1", PYTHONDONTWRITEBYTECODE: "1" };

  beforeAll(async () => {
    packaging.failIfMissing();
    srv = await startServer();
    dir = mkdtempSync(path.join(tmpdir(), "sr-wheel-"));
    // Built from a copy, so that no build/ or *.egg-info of an earlier build leaks in.
    const source = path.join(dir, "source");
    cpSync(clientDir, source, { recursive: true, filter: (p) => !/(^|\/)(build|dist|[^/]*\.egg-info|__pycache__)$/.test(p) });
    await runToEnd(PYTHON, ["-m", "build", "--wheel", "--no-isolation", "--outdir", dir, source], { env: installed }, 120_000);
    await runToEnd(PYTHON, ["-m", "venv", "--system-site-packages", path.join(dir, "venv")], { env: installed });
    venvPython = path.join(dir, "venv/bin/python");
    const wheel = readdirSync(dir).find((f) => f.endsWith(".whl"));
    // --no-index: nothing is downloaded; grpcio and protobuf (its
    // dependencies) come from Debian's packages, seen through --system-site-packages.
    await runToEnd(venvPython, ["-m", "pip", "install", "--no-index", path.join(dir, wheel!)], { env: installed }, 120_000);
  }, 240_000);
  afterAll(async () => {
    await killAllProcesses();
    await srv?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("is mypy --strict clean, its examples too against the installed wheel (py.typed)", async () => {
    // The configuration (pyproject.toml) ignores only grpc's, protobuf's and google.rpc's missing stubs.
    const own = await runToEnd(PYTHON, ["-m", "mypy", "--cache-dir", path.join(dir, "mypy-cache"), "sr_client", "examples"], { cwd: clientDir, env: installed }, 120_000);
    expect(own.lines.at(-1)).toMatch(/^Success: no issues found in \d+ source files$/);
    // From elsewhere, so sr_client is the venv's: without py.typed mypy would refuse it.
    const config = path.join(clientDir, "pyproject.toml");
    const user = await runToEnd(PYTHON, ["-m", "mypy", "--config-file", config, "--python-executable", venvPython, path.join(clientDir, "examples")], { cwd: dir, env: installed }, 120_000);
    expect(user.lines.at(-1)).toMatch(/^Success: no issues found in \d+ source files$/);
  }, 240_000); // a cold mypy cache, on a busy machine

  it("installs sr_client and sr_client.aio into the virtual environment, not from the checkout", async () => {
    const p = await runToEnd(venvPython, ["-c", "import sr_client, sr_client.aio; print(sr_client.__file__)"], { cwd: dir, env: installed });
    expect(p.lines[0]).toBe(path.join(dir, "venv/lib", readdirSync(path.join(dir, "venv/lib"))[0]!, "site-packages/sr_client/__init__.py"));
  });

  it.each([
    ["sync", "watch.py", "publish.py", [] as string[]],
    ["asyncio", "watch_aio.py", "publish_aio.py", ["--ttl", "5", "--seconds", "0.2"]],
  ])("runs its %s examples from there: the watch prints the status the publisher sets", async (kind, watchScript, publishScript, extra) => {
    const group = `Wheel-${kind}`;
    const example = (script: string) => path.join(clientDir, "examples", script);
    const watch = new Spawned(venvPython, [example(watchScript), "--target", srv!.address, "--group", group, "--count", "1"], { cwd: dir, env: installed });
    await watch.waitFor("the watch example to start", (p) => p.lines.some((l) => l.startsWith(`watching ${group} from revision`)));
    const publish = await runToEnd(venvPython, [example(publishScript), "--target", srv!.address, "--group", group, ...extra], { cwd: dir, env: installed });
    const published = new RegExp(`^${group}: status 1 \\(ready=True\\) at revision (\\d+)`).exec(publish.lines[0] ?? "");
    expect(published, publish.describe()).not.toBeNull();
    expect((await watch.waitForExit(20_000)).code).toBe(0);
    expect(watch.lines).toContain(`${group}/main: -1 -> 1 ('running') at revision ${published![1]}`);
  });
});
