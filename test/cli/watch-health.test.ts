/** sr watch (live, one line per change, resuming) and sr health (grpc_health_probe's exit codes) against a live server. */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { type TestServer, startServer } from "../helpers/server.js";
import { killAllProcesses } from "../helpers/process.js";
import { startProxy } from "../helpers/proxy.js";
import { ANSI, type Run, at, ensureBuilt, spawnSr } from "./support.js";

let server: TestServer;
let sr: (...args: string[]) => Promise<Run>;

beforeAll(async () => {
  ensureBuilt();
  server = await startServer();
  sr = at(server.address);
  server.registry.registerGroup({ group: "billing", status: 1, details: "ready" });
  server.registry.registerIdentifier({ group: "billing", identifier: "db", status: -1 });
});

afterAll(async () => {
  await killAllProcesses();
  await server?.stop();
});

describe("watch", () => {
  it("prints the snapshot, then one line per change, plain when piped, and ends on SIGINT with 0", async () => {
    const watch = spawnSr(["--server", server.address, "watch", "billing"]);
    await watch.waitFor("the snapshot", (p) => p.lines.some((line) => /snapshot\s+billing\/db\s+-1\s+not ready$/.test(line)));
    expect(watch.lines.some((line) => /snapshot\s+billing\/main\s+1\s+ready\s+ready$/.test(line))).toBe(true);
    server.registry.setStatus({ group: "billing", identifier: "db", status: 2, details: "up" });
    server.registry.addReport({ group: "billing", identifier: "db", text: "two\nlines" });
    server.registry.registerIdentifier({ group: "billing", identifier: "cache" });
    server.registry.unregisterIdentifier({ group: "billing", identifier: "cache" });
    await watch.waitFor("the removal", (p) => p.lines.some((line) => /unregistered\s+billing\/cache$/.test(line)));
    const changes = watch.lines.filter((line) => !/\ssnapshot\s/.test(line));
    expect(changes).toHaveLength(4);
    expect(changes[0]).toMatch(/^\s*\d+\s+status\s+billing\/db\s+2 \(was -1\)\s+ready\s+up$/);
    expect(changes[1]).toMatch(/^\s*\d+\s+report\s+billing\/db\s+#1 \S+ two\\nlines$/);
    expect(changes[2]).toMatch(/^\s*\d+\s+registered\s+billing\/cache\s/);
    expect(changes[3]).toMatch(/^\s*\d+\s+unregistered\s+billing\/cache$/);
    expect(watch.stdout).not.toMatch(ANSI);
    watch.signal("SIGINT");
    expect((await watch.waitForExit()).code).toBe(0);
  });

  it("-o json: one object per line with its revision; -o yaml: one document per change", async () => {
    const watch = spawnSr(["--server", server.address, "-o", "json", "watch", "billing", "db"]);
    await watch.waitFor("the snapshot", (p) => p.json.length === 1);
    const { revision } = server.registry.setStatus({ group: "billing", identifier: "db", status: -7, details: "down" });
    await watch.waitFor("the change", (p) => p.json.length === 2);
    expect(watch.json).toEqual([
      { revision: expect.any(Number), type: "snapshot", group: "billing", identifier: "db", status: 2, ready: true, details: "up" },
      { revision, type: "status", group: "billing", identifier: "db", status: -7, oldStatus: 2, ready: false, details: "down" },
    ]);
    watch.signal("SIGTERM");
    expect((await watch.waitForExit()).code).toBe(0);

    const yaml = spawnSr(["--server", server.address, "-o", "yaml", "watch", "billing", "db", "--since", String(revision - 1)]);
    await yaml.waitFor("the change again", (p) => p.lines.includes("status: -7"));
    yaml.signal("SIGINT");
    await yaml.waitForExit();
    const documents = yaml.stdout.split(/^---$/m).filter((d) => d.trim() !== "").map((d) => parseYaml(d));
    expect(documents).toEqual([expect.objectContaining({ revision, type: "status", status: -7 })]);
  });

  it("resumes after a dropped connection: nothing missed, nothing repeated", async () => {
    const proxy = await startProxy(server.address);
    try {
      const watch = spawnSr(["--server", proxy.address, "-o", "json", "watch", "billing", "main"]);
      await watch.waitFor("the snapshot", (p) => p.json.length === 1);
      server.registry.setStatus({ group: "billing", identifier: "main", status: 3 });
      await watch.waitFor("the first change", (p) => p.json.length === 2);
      await proxy.drop();
      // Changes while the watcher cannot connect.
      server.registry.setStatus({ group: "billing", identifier: "main", status: 4 });
      server.registry.setStatus({ group: "billing", identifier: "main", status: 5 });
      await proxy.accept();
      await watch.waitFor("the missed changes", (p) => p.json.length >= 4);
      server.registry.setStatus({ group: "billing", identifier: "main", status: 6 });
      await watch.waitFor("the live change", (p) => p.json.length >= 5);
      expect(watch.json.map((line) => [line.type, line.status])).toEqual([
        ["snapshot", 1],
        ["status", 3],
        ["status", 4],
        ["status", 5],
        ["status", 6],
      ]);
      watch.signal("SIGINT");
      expect((await watch.waitForExit()).code).toBe(0);
    } finally {
      await proxy.close();
    }
  });

  it("a watch the server refuses exits 1 with the reason", async () => {
    const run = await sr("watch", "bad/group");
    expect(run.code).toBe(1);
    expect(run.stderr).toContain("(NAME_INVALID)");
  });
});

describe("health", () => {
  it("0 serving, 4 not serving, 3 unknown service, 2 no connection; json and yaml", async () => {
    const [self, group, db, unknown, none] = await Promise.all([
      sr("health"),
      sr("health", "billing", "-o", "json"),
      sr("health", "billing/db", "-o", "yaml"),
      sr("health", "nope"),
      at("127.0.0.1:1")("health"),
    ]);
    expect(self).toMatchObject({ code: 0, stdout: "(server): SERVING" });
    expect(group.code).toBe(4); // db is below zero
    expect(JSON.parse(group.stdout)).toEqual({ service: "billing", status: "NOT_SERVING" });
    expect(db.code).toBe(4);
    expect(parseYaml(db.stdout)).toEqual({ service: "billing/db", status: "NOT_SERVING" });
    expect(unknown.code).toBe(3);
    expect(unknown.stderr).toContain("GROUP_NOT_FOUND");
    expect(none.code).toBe(2);
    server.registry.setStatus({ group: "billing", identifier: "db", status: 1 });
    expect(await sr("health", "billing")).toMatchObject({ code: 0, stdout: "billing: SERVING" });
  });
});
