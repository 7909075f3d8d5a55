// The Go client (clients/go, GOPATH mode on Debian's packages) against the
// real server: unit tests, gofmt, its examples, and its resuming watch
// through dropped connections. Skipped with "skipped: install ..." when the
// Debian toolchain is missing, failed instead when CI=true.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Spawned, killAllProcesses, runToEnd } from "../helpers/process.js";
import { type TestServer, startServer } from "../helpers/server.js";
import { GO_IMPORT_ROOT, GoPath, describeResume, missingGo, toolchainGate } from "./support.js";

const gate = toolchainGate("Go", missingGo());
const pkg = `${GO_IMPORT_ROOT}/clients/go`;

describe.skipIf(gate.skip)(gate.title, () => {
  let srv: TestServer | undefined;
  let gopath: GoPath | undefined;

  beforeAll(async () => {
    gate.failIfMissing();
    gopath = new GoPath();
    // One build for every program this file runs.
    [srv] = await Promise.all([startServer(), gopath.build(`${pkg}/examples/publish`, `${pkg}/examples/watch`, "sr-crosslang/srtest")]);
  }, 240_000);
  afterAll(async () => {
    await killAllProcesses();
    await srv?.stop();
    gopath?.remove();
  });

  it("passes its unit tests (fake server: token, reasons, resume, fallback, backoff, TLS)", async () => {
    // -vet=off: vet analyses every dependency (grpc-go) first, 10 s on a
    // cold cache; `go vet` belongs to linting, not to this test.
    const p = await gopath!.go(["test", "-vet=off", "-count=1", `${pkg}/srclient`]);
    expect(p.lines.join("\n")).toMatch(new RegExp(`^ok\\s+${pkg}/srclient`, "m"));
  });

  it("is gofmt-clean", async () => {
    const p = await runToEnd("gofmt", ["-l", "clients/go", "test/crosslang/go"]);
    expect(p.lines.filter((l) => l !== "")).toEqual([]);
  });

  it("runs its examples: watch prints the status that publish sets", async () => {
    const group = "ExampleGo";
    const watch = new Spawned(gopath!.exe("watch"), ["-target", srv!.address, "-group", group, "-count", "1"]);
    await watch.waitFor("the watch example to start", (p) => p.lines.some((l) => l.startsWith(`watching ${group} from revision`)));
    const publish = await runToEnd(gopath!.exe("publish"), ["-target", srv!.address, "-group", group]);
    const published = /^ExampleGo: status 1 \(ready=true\) at revision (\d+)$/.exec(publish.lines[0] ?? "");
    expect(published, publish.lines.join("\n")).not.toBeNull();
    expect((await watch.waitForExit(20_000)).code).toBe(0);
    expect(watch.lines).toContain(`${group}/main: -1 -> 1 ("running") at revision ${published![1]}`);
  });

  describeResume("Go", (target, group) => new Spawned(gopath!.exe("srtest"), ["watch", "-target", target, "-group", group]));
});
