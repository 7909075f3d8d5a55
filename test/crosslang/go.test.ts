// The Go client (clients/go, on Debian's packages) against the real server:
// unit tests, gofmt and go vet, the published module path, its examples (in
// GOPATH mode and as a module built offline), and its resuming watch through
// dropped connections. Skipped with "skipped: install ..." when the Debian
// toolchain is missing, failed instead when CI=true.
import { readFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Spawned, killAllProcesses, repoRoot, runToEnd } from "../helpers/process.js";
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

  it("passes its unit tests (fake server: token, reasons, resume, fallback, backoff, TLS, publisher)", async () => {
    // -vet=off: vet analyses every dependency (grpc-go) first, 10 s on a
    // cold cache; `go vet` belongs to linting, not to this test.
    const p = await gopath!.go(["test", "-vet=off", "-count=1", `${pkg}/srclient`]);
    expect(p.lines.join("\n")).toMatch(new RegExp(`^ok\\s+${pkg}/srclient`, "m"));
  });

  it("keeps the published module path: go.mod's module is where sr.proto's go_package puts srv1", () => {
    const goPackage = /option go_package = "([^";]+)/.exec(readFileSync(path.join(repoRoot, "proto/sr/v1/sr.proto"), "utf8"))?.[1];
    const module = /^module (\S+)$/m.exec(readFileSync(path.join(repoRoot, "clients/go/go.mod"), "utf8"))?.[1];
    // buf breaking (npm run lint, FILE rules) refuses a changed go_package; this ties go.mod to it.
    expect(goPackage).toBe(`${pkg}/srv1`);
    expect(module).toBe(pkg);
  });

  it("is gofmt- and go vet-clean", async () => {
    const p = await runToEnd("gofmt", ["-l", "clients/go", "test/crosslang"]);
    expect(p.lines.filter((l) => l !== "")).toEqual([]);
    // go vet prints nothing and exits 0 when clean; runToEnd fails otherwise.
    const vet = await gopath!.go(["vet", `${pkg}/srv1`, `${pkg}/srclient`, `${pkg}/examples/publish`, `${pkg}/examples/watch`, "sr-crosslang/srtest", "sr-crosslang/shape", "sr-crosslang/behaviour"]);
    expect(vet.stderr).toBe("");
  }, 120_000); // vet reads every dependency's facts first: seconds on a cold cache

  it("builds its examples as a module, offline (replace onto Debian's packages), and they run", async () => {
    const out = path.join(gopath!.dir, "module-bin") + path.sep;
    await gopath!.goModule("clients/go/examples", ["build", "-o", out, "./..."]);
    const publish = await runToEnd(path.join(out, "publish"), ["-target", srv!.address, "-group", "ExampleGoModule"]);
    expect(publish.lines[0]).toMatch(/^ExampleGoModule: status 1 \(ready=true\) at revision \d+$/);
    // With -ttl it keeps a lease alive (srclient.Publisher) until -for passes, then exits 0.
    const leased = await runToEnd(path.join(out, "publish"), ["-target", srv!.address, "-group", "ExampleGoModule", "-ttl", "2s", "-for", "100ms"]);
    expect(leased.lines[0]).toMatch(/^ExampleGoModule: status 1 at revision \d+, lease 2s$/);
  }, 240_000); // module mode compiles grpc-go again on a cold build cache

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
