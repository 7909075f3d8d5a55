/**
 * Open mode and reloading, on the real process and in process: an open
 * server beyond loopback is refused unless asked for, SIGHUP swaps tokens
 * and certificates without a restart, a refused reload keeps what runs and
 * says why, and a failed authentication logs no secret.
 */
import { writeFileSync } from "node:fs";
import { status as Code } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SrClient } from "../../clients/ts/index.js";
import { ConfigError, type ServerConfig, defaultConfig } from "../../src/app/config.js";
import { type RunningServer, startServer } from "../../src/app/start.js";
import { Caller, TOKENS, TOKEN_CONFIG, bearer, fetchAs, servedSerial, sha256 } from "../helpers/auth.js";
import { TestPki } from "../helpers/certs.js";
import { LISTENING, Spawned, type Started, killAllSrProcesses, removeTempFiles, runSrProcess, startSrProcess, writeTempFile } from "../helpers/process.js";

const SLOW = 60_000;
const portOf = (address: string) => Number(address.slice(address.lastIndexOf(":") + 1));

afterAll(async () => {
  await killAllSrProcesses();
  removeTempFiles();
});

const tokensYaml = (entries: { name: string; token: string; role: string }[]) =>
  `auth:\n  tokens:\n${entries.map((e) => `    - { name: ${e.name}, sha256: "${sha256(e.token)}", role: ${e.role} }\n`).join("")}`;

/** What a GetStatus with `token` gets: "ok" or the code. */
async function readWith(address: string, token: string): Promise<"ok" | number> {
  const c = new SrClient(`127.0.0.1:${portOf(address)}`, { token });
  try {
    await c.getStatus({ group: "core" });
    return "ok";
  } catch (error) {
    return (error as { code: number }).code;
  } finally {
    c.close();
  }
}

describe("open mode on the real process", () => {
  let refusedGrpc: ReturnType<typeof runSrProcess>;
  let refusedHttp: ReturnType<typeof runSrProcess>;
  let allowed: Promise<Started>;
  beforeAll(() => {
    refusedGrpc = runSrProcess({ listen: "0.0.0.0:0" });
    refusedHttp = runSrProcess({ args: ["--http", "[::]:0"] });
    allowed = startSrProcess({ listen: "0.0.0.0:0", args: ["--allow-open"] });
  });

  it("no token and no client CA on 0.0.0.0 is refused, naming the address and the flag, before anything listens", async () => {
    const { exit, stdout, stderr } = await refusedGrpc;
    expect(exit.code).toBe(2);
    expect(stderr).toMatch(/refusing to serve gRPC on 0\.0\.0\.0:0 with no token and no client CA/);
    expect(stderr).toMatch(/--allow-open/);
    expect(stdout).not.toMatch(/listening/);
  }, SLOW);

  it("the HTTP listener is held to the same rule", async () => {
    const { exit, stderr } = await refusedHttp;
    expect(exit.code).toBe(2);
    expect(stderr).toMatch(/refusing to serve HTTP on \[::\]:0/);
  }, SLOW);

  it("--allow-open serves it open on purpose", async () => {
    const { address } = await allowed;
    expect(address).toMatch(/^0\.0\.0\.0:\d+$/);
    expect(await readWith(address, "anything")).toBe("ok");
  }, SLOW);
});

describe("SIGHUP on the real process", () => {
  let proc: Spawned;
  let address: string;
  let file: string;
  const [first, second] = ["first-secret-token-1", "second-secret-token-2"];
  beforeAll(async () => {
    // Tokens make an address beyond loopback acceptable.
    file = writeTempFile("sr.yaml", tokensYaml([{ name: "first", token: first, role: "admin" }]));
    // Node itself, as `npm start` runs it: the tsx CLI would not relay SIGHUP to the server.
    proc = new Spawned(process.execPath, ["--import", "tsx", "src/main.ts", "--listen", "0.0.0.0:0", "--no-http", "--config", file], {
      env: { SR_LISTEN: undefined, SR_HTTP: undefined },
    });
    address = (await proc.waitForLine(LISTENING))[1] as string;
  }, SLOW);
  afterAll(() => proc?.kill());

  /** Rewrites the file, sends SIGHUP and returns the line the server answers with. */
  async function reload(yaml: string): Promise<string> {
    writeFileSync(file, yaml);
    const seen = proc.lines.length;
    proc.signal("SIGHUP");
    await proc.waitFor("the SIGHUP answer", () => proc.lines.slice(seen).some((l) => l.startsWith("sr: SIGHUP: ")));
    return proc.lines.slice(seen).find((l) => l.startsWith("sr: SIGHUP: ")) as string;
  }

  it("swaps the tokens without a restart; a refused reload keeps them and logs why", async () => {
    expect(await readWith(address, first)).toBe("ok");
    expect(await readWith(address, second)).toBe(Code.UNAUTHENTICATED);

    expect(await reload(tokensYaml([{ name: "second", token: second, role: "read" }]))).toBe("sr: SIGHUP: auth and tls reloaded");
    expect(await readWith(address, second)).toBe("ok");
    expect(await readWith(address, first)).toBe(Code.UNAUTHENTICATED);

    const refusals: [string, RegExp][] = [
      ["auth: [unclosed\n", /keeping the current auth and tls: --config: .* is not valid YAML/],
      ["listen: 127.0.0.1:0\n", /keeping the current auth and tls: refusing to serve gRPC on 0\.0\.0\.0:\d+ .*--allow-open/],
      [`auth:\n  tokens:\n    - { name: w, sha256: "${sha256(first)}", role: write, groups: [] }\n`, /auth\.tokens\[0\]\.groups: line 3: an empty list would allow no group/],
    ];
    for (const [yaml, line] of refusals) {
      expect(await reload(yaml)).toMatch(line);
      expect(await readWith(address, second), yaml).toBe("ok");
      expect(await readWith(address, first), yaml).toBe(Code.UNAUTHENTICATED);
    }
    // Refused tokens, here or above, never reach the log.
    expect(proc.stdout + proc.stderr).not.toMatch(/first-secret|second-secret/);
  }, SLOW);
});

describe("reload in process", () => {
  const pki = new TestPki();
  let srv: RunningServer;
  let config: ServerConfig;
  const [a, b] = [pki.server("a"), pki.server("b")];
  beforeAll(async () => {
    config = defaultConfig();
    config.listen = "127.0.0.1:0";
    config.http = "127.0.0.1:0";
    config.tokens = TOKEN_CONFIG;
    config.tls = { cert: a.cert, key: a.key };
    srv = await startServer(config, () => {});
  });
  afterAll(async () => {
    await srv?.stop();
    pki.remove();
  });

  const next = (tune: (c: ServerConfig) => void) => {
    const c: ServerConfig = { ...config, tokens: [...config.tokens] };
    tune(c);
    return c;
  };

  it("takes other certificate files at once, on both listeners", async () => {
    srv.reload(next((c) => (c.tls = { cert: b.cert, key: b.key })));
    expect(await servedSerial(srv.address, pki.caPem)).toBe(b.serial);
    expect(await servedSerial(srv.httpAddress!, pki.caPem)).toBe(b.serial);
  });

  it("applies new tokens and open paths to the HTTP listener too", async () => {
    const ca = { ca: pki.caPem };
    expect((await fetchAs(srv.httpAddress!, "/mi", { ...ca, authorization: bearer(TOKENS.dash) }, "{}")).status).toBe(200);
    srv.reload(next((c) => {
      c.tls = { cert: b.cert, key: b.key };
      c.tokens = TOKEN_CONFIG.filter((t) => t.name !== "dash");
      c.openHttp = ["/json"];
    }));
    expect((await fetchAs(srv.httpAddress!, "/mi", { ...ca, authorization: bearer(TOKENS.dash) }, "{}")).status).toBe(401);
    expect((await fetchAs(srv.httpAddress!, "/json", ca, "{}")).status).toBe(200);
  });

  it("refuses, changing nothing, a pair that does not validate or TLS turned off", async () => {
    const before = next((c) => (c.tls = { cert: b.cert, key: b.key }));
    srv.reload(before);
    expect(() => srv.reload(next((c) => (c.tls = { cert: a.cert, key: b.key })))).toThrow(/are not a usable pair/);
    expect(() => srv.reload(next((c) => (c.tls = undefined)))).toThrow(/turning TLS on or off needs a restart/);
    expect(() => srv.reload(next((c) => (c.tls = { cert: a.cert, key: a.key, clientCa: pki.ca })))).toThrow(/client CA needs a restart/);
    expect(() => srv.reload(next((c) => ((c.tls = { cert: a.cert, key: a.key }), (c.certificates = [{ subject: "x", role: "read" }]))))).toThrow(ConfigError);
    expect(await servedSerial(srv.address, pki.caPem)).toBe(b.serial);
    const caller = new Caller(srv.address, { ca: pki.caPem, authorization: bearer(TOKENS.dash) });
    await expect(caller.unary("getStatus", { group: "core", identifier: "" })).resolves.toBeTruthy();
    caller.close();
  });
});

describe("open mode in process", () => {
  const start = (tune: (c: ServerConfig) => void) => {
    const config = defaultConfig();
    tune(config);
    return startServer(config, () => {});
  };

  it("is refused beyond loopback, and allowed on loopback, with auth.open, with tokens or with a client CA", async () => {
    await expect(start((c) => (c.listen = "0.0.0.0:0"))).rejects.toThrow(ConfigError);
    await expect(start((c) => ((c.listen = "127.0.0.1:0"), (c.http = "0.0.0.0:0")))).rejects.toThrow(/refusing to serve HTTP on 0\.0\.0\.0:0/);
    for (const tune of [
      (c: ServerConfig) => (c.listen = "127.0.0.2:0"),
      (c: ServerConfig) => ((c.listen = "0.0.0.0:0"), (c.allowOpen = true)),
      (c: ServerConfig) => ((c.listen = "0.0.0.0:0"), (c.tokens = TOKEN_CONFIG)),
    ]) {
      const srv = await start(tune);
      await srv.stop();
    }
  });
});
