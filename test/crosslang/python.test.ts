// The Python client (clients/python) against the real server: its unit
// tests, its examples, and its resuming watch through dropped connections.
// Skipped with "skipped: install ..." when the Debian toolchain is missing,
// failed instead when CI=true.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { killAllProcesses } from "../helpers/process.js";
import { type TestServer, startServer } from "../helpers/server.js";
import { describeResume, missingPython, python, runPython, toolchainGate } from "./support.js";

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

  it("passes its unit tests (fake server: token, reasons, resume, fallback, backoff, TLS)", async () => {
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
