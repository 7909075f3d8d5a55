// The Python client (clients/python) against the real server: its unit
// tests, its examples, and its resuming watch through dropped connections.
// Skipped with "skipped: install ..." when the Debian toolchain is missing,
// failed instead when CI=true.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type TestServer, startServer } from "../helpers/server.js";
import { PYTHON, Proc, describeResume, killAll, missingPython, python, pythonEnv, runToEnd, toolchainGate } from "./support.js";

const gate = toolchainGate("Python", await missingPython());
const srtest = "test/crosslang/python/srtest.py";

describe.skipIf(gate.skip)(gate.title, () => {
  let srv: TestServer | undefined;

  beforeAll(async () => {
    gate.failIfMissing();
    srv = await startServer();
  });
  afterAll(async () => {
    killAll();
    await srv?.stop();
  });

  it("passes its unit tests (fake server: token, resume, fallback, backoff, TLS)", async () => {
    const p = await runToEnd(PYTHON, ["-m", "unittest", "discover", "-s", "clients/python/tests"], pythonEnv);
    expect(p.stderr).toMatch(/Ran [1-9]\d* tests/);
    expect(p.stderr).toMatch(/\nOK/);
  });

  it("runs its examples: watch.py prints the status that publish.py sets", async () => {
    const group = "ExamplePy";
    const watch = python(["clients/python/examples/watch.py", "--target", srv!.address, "--group", group, "--count", "1"]);
    await watch.waitFor("the watch example to start", (p) => p.lines.some((l) => l.startsWith(`watching ${group} from revision`)));
    const publish = await runToEnd(PYTHON, ["clients/python/examples/publish.py", "--target", srv!.address, "--group", group], pythonEnv);
    const published = /^ExamplePy: status 1 \(ready=True\) at revision (\d+)$/.exec(publish.lines[0] ?? "");
    expect(published, publish.lines.join("\n")).not.toBeNull();
    expect(await watch.exit()).toBe(0);
    expect(watch.lines).toContain(`${group}/main: -1 -> 1 ('running') at revision ${published![1]}`);
  });

  it("reports an unreachable server as UNAVAILABLE rather than hanging", async () => {
    const p = python(["-c", "import sr_client, grpc\ntry:\n  sr_client.connect('127.0.0.1:1').check('g', timeout=10)\nexcept grpc.RpcError as e:\n  print(e.code().name)"]);
    expect(await p.exit()).toBe(0);
    expect(p.lines[0]).toBe("UNAVAILABLE");
  });

  describeResume("Python", (target, group) => new Proc(PYTHON, [srtest, "watch", target, group], pythonEnv));
});
