/** sr's help, usage errors, token, config check, serve, and the connection options (token, TLS) as a child process. */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { TestPki } from "../helpers/certs.js";
import { LISTENING, killAllProcesses, removeTempFiles, repoRoot, runToEnd, writeTempFile } from "../helpers/process.js";
import { startServer } from "../helpers/server.js";
import { at, ensureBuilt, spawnSr, sr } from "./support.js";

/** Every command as the help names it, with arguments enough to pass their own checks. */
const COMMANDS: [string[], string[]][] = [
  [["status"], []],
  [["get"], ["g"]],
  [["check"], ["g"]],
  [["reports"], []],
  [["identifiers"], []],
  [["register"], ["g"]],
  [["unregister"], ["g"]],
  [["set"], ["g", "main", "-1"]],
  [["report"], ["g", "main", "text"]],
  [["watch"], []],
  [["health"], []],
  [["token"], []],
  [["config"], []],
  [["config", "check"], ["sr.yaml"]],
  [["serve"], []],
];

const pki = new TestPki();

beforeAll(() => ensureBuilt());

afterAll(async () => {
  await killAllProcesses();
  removeTempFiles();
  pki.remove();
});

describe("help and usage", () => {
  it("--help: exit 0 with examples, for sr and every command", async () => {
    const runs = await Promise.all([["--help"], ["help"], ...COMMANDS.map(([name]) => [...name, "--help"])].map((args) => sr(args)));
    for (const [i, run] of runs.entries()) {
      expect(run.code, `run ${i}: ${run.stderr}`).toBe(0);
      expect(run.stdout).toContain("Examples:\n  sr ");
    }
    expect(runs[0]?.stdout).toContain("--server <HOST:PORT>");
    // A command's help also lists the client options (for serve, its --tls-* flags).
    expect(runs[2]?.stdout).toContain("--token <TOKEN>");
    expect(runs.at(-1)?.stdout).toContain("--tls-cert <FILE>");
  });

  it("--version prints the package's version", async () => {
    const { version } = JSON.parse(readFileSync(path.join(repoRoot, "package.json"), "utf8")) as { version: string };
    expect(await sr(["--version"])).toMatchObject({ code: 0, stdout: version });
  });

  it("is the package's bin: `npx sr` runs it in a clone", async () => {
    const run = await runToEnd("npx", ["--no-install", "sr", "--version"], { env: { NO_COLOR: undefined } });
    const { version } = JSON.parse(readFileSync(path.join(repoRoot, "package.json"), "utf8")) as { version: string };
    expect(run.stdout).toBe(version);
  });

  it("a usage error exits 64, for every command", async () => {
    const runs = await Promise.all([
      ...COMMANDS.map(([name, args]) => sr([...name, ...args, "--no-such-option"])),
      sr([]),
      sr(["no-such-command"]),
      sr(["get"]),
      sr(["set", "g", "main"]),
      sr(["report", "g", "main", "a", "b"]),
      sr(["-o", "xml", "status"]),
      sr(["--timeout", "later", "status"]),
      sr(["config"]),
      sr(["config", "check"]),
    ]);
    for (const [i, run] of runs.entries()) {
      expect(run.code, `run ${i}: ${run.stdout}${run.stderr}`).toBe(64);
      expect(run.stderr).not.toBe("");
    }
  });
});

describe("token and config check", () => {
  it("token: a new random token and the sha256 line, which the configuration takes", async () => {
    const [a, b, json] = await Promise.all([sr(["token"]), sr(["token"]), sr(["token", "-o", "json"])]);
    const [token, line] = a.stdout.split("\n") as [string, string];
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(line).toBe(`sha256: "${createHash("sha256").update(token).digest("hex")}"`);
    expect(b.stdout.split("\n")[0]).not.toBe(token);
    const made = JSON.parse(json.stdout) as { token: string; sha256: string };
    expect(made.sha256).toBe(createHash("sha256").update(made.token).digest("hex"));

    const file = writeTempFile("sr.yaml", `auth:\n  tokens:\n    - name: ops\n      role: admin\n      ${line}\n`);
    expect(await sr(["config", "check", file])).toMatchObject({ code: 0, stdout: "ok" });
    expect(parseYaml((await sr(["config", "check", file, "-o", "yaml"])).stdout)).toEqual({ file, ok: true });

    // The token works against a server configured with that line.
    const server = await startServer((config) => {
      config.tokens = [{ name: "ops", sha256: parseYaml(line).sha256, role: "admin", groups: undefined }];
    });
    try {
      const missing = await at(server.address)("status");
      expect(missing.code).toBe(1);
      expect(missing.stderr).toContain("(TOKEN_MISSING)");
      expect((await at(server.address, { SR_TOKEN: token })("status")).code).toBe(0);
      expect((await at(server.address)("--token", token, "register", "billing")).code).toBe(0);
      expect((await at(server.address)("--token", "wrong", "status")).stderr).toContain("(TOKEN_UNKNOWN)");
    } finally {
      await server.stop();
    }
  });

  it("config check: an invalid file is a usage error (64) with the reason", async () => {
    const cases = [
      ["unknown key", "limits:\n  max_grups: 3\n", /limits\.max_grups: line 2: unknown key/],
      ["not YAML", "groups: [\n", /not valid YAML/],
      ["open beyond loopback", "listen: 0.0.0.0:50051\n", /refusing to serve gRPC on 0\.0\.0\.0:50051/],
    ] as const;
    for (const [what, content, message] of cases) {
      const file = writeTempFile("sr.yaml", content);
      const run = await sr(["config", "check", file]);
      expect(run.code, what).toBe(64);
      expect(run.stdout).toBe("");
      expect(run.stderr).toMatch(message);
    }
    const missing = await sr(["config", "check", "/nonexistent/sr.yaml"]);
    expect(missing.code).toBe(64);
    expect(missing.stderr).toContain("cannot read");
  });

  it("config check: each error names the key, then its line, then the rule (unknown key, bad value, bad group, bad duration)", async () => {
    const file = writeTempFile(
      "sr.yaml",
      [
        "listen: 127.0.0.1:50051",
        "limits:",
        "  max_groups: 0",
        "watch:",
        "  progress_interval: soon",
        "  histroy: 5",
        "groups:",
        "  - name: billing",
        "  - name: ship/ping",
        "storage:",
        "  data_dir: /var/lib/sr",
        "  etcd: { endpoints: [http://127.0.0.1:2379] }",
        "",
      ].join("\n"),
    );
    const run = await sr(["config", "check", file]);
    expect(run.code).toBe(64);
    expect(run.stdout).toBe("");
    const errors = run.stderr.split("\n").filter((line) => /: line \d+: /.test(line));
    expect(errors.map((line) => line.replace(/^sr: /, ""))).toEqual([
      "limits.max_groups: line 3: must be a positive integer",
      'watch.progress_interval: line 5: must be a positive duration such as 30, "30s", "500ms" or "2m"',
      "watch.histroy: line 6: unknown key (known: history, progress_interval, budget_messages, budget_bytes)",
      "groups[1].name: line 9: a group name must not contain '/'",
    ]);
    // Once those are fixed, the rules between keys: data_dir and etcd exclude each other.
    const storage = writeTempFile("sr.yaml", "storage:\n  data_dir: /var/lib/sr\n  etcd: { endpoints: [http://127.0.0.1:2379] }\n");
    expect((await sr(["config", "check", storage])).stderr).toMatch(/storage\.etcd: line 3: cannot be used with storage\.data_dir/);
    // The new keys pass.
    const ok = writeTempFile("sr.yaml", "http: false\nlog: { level: debug, format: json }\nmetrics: { per_identifier: false }\nstorage: { data_dir: /var/lib/sr }\n");
    expect(await sr(["config", "check", ok])).toMatchObject({ code: 0, stdout: "ok" });
  });
});

describe("serve", () => {
  it("runs the server with npm start's flags, answers the other commands, and stops on SIGTERM with 0", async () => {
    const config = writeTempFile("sr.yaml", "groups:\n  - name: billing\n    status: -1\n");
    const serve = spawnSr(["serve", "--listen", "127.0.0.1:0", "--no-http", "--config", config]);
    const address = (await serve.waitForLine(LISTENING))[1] as string;
    const client = at(address);
    expect((await client("check", "billing")).code).toBe(1);
    expect((await sr(["set", "billing", "main", "1"], { env: { SR_SERVER: address } })).code).toBe(0);
    expect((await client("health", "billing")).code).toBe(0);
    // spawnSr gave it --no-http: no test server takes the default HTTP port.
    expect(serve.lines.some((line) => /HTTP listening/.test(line))).toBe(false);
    serve.signal("SIGTERM");
    expect((await serve.waitForExit()).code).toBe(0);
    expect(serve.lines).toContain("sr: stopped");
  });

  it("refuses a bad flag value or an invalid configuration with 64", async () => {
    const [badListen, badConfig] = await Promise.all([
      sr(["serve", "--listen", "nowhere"]),
      sr(["serve", "--listen", "127.0.0.1:0", "--no-http", "--config", writeTempFile("bad.yaml", "nope: 1\n")]),
    ]);
    expect(badListen.code).toBe(64);
    expect(badListen.stderr).toContain("--listen");
    expect(badConfig.code).toBe(64);
    expect(badConfig.stderr).toContain("nope");
  });
});

describe("TLS", () => {
  it("--ca trusts the server's CA; --cert and --key present a client certificate", async () => {
    const serverPair = pki.server();
    const clientPair = pki.client({ cn: "operator" });
    const server = await startServer((config) => {
      config.tls = { cert: serverPair.cert, key: serverPair.key, clientCa: pki.ca };
      config.certificates = [{ subject: "operator", role: "admin", groups: undefined }];
    });
    try {
      const client = at(server.address);
      const [ok, noCert, plaintext, halfPair] = await Promise.all([
        client("--ca", pki.ca, "--cert", clientPair.cert, "--key", clientPair.key, "status", "-o", "json"),
        client("--ca", pki.ca, "status"),
        client("status"),
        client("--ca", pki.ca, "--cert", clientPair.cert, "status"),
      ]);
      expect(ok.code, ok.stderr).toBe(0);
      expect(JSON.parse(ok.stdout).groups.map((g: { group: string }) => g.group)).toContain("core");
      expect(noCert.code).toBe(1);
      expect(plaintext.code).toBe(1);
      expect(halfPair.code).toBe(64);
      const unreadable = await client("--ca", "/nonexistent/ca.pem", "status");
      expect(unreadable.code).toBe(64);
    } finally {
      await server.stop();
    }
  });
});
