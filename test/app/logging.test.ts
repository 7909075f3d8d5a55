/**
 * The structured logs of an in-process server, captured as JSON lines: one
 * line per change naming its writer, refusals at debug with their code and
 * reason (gRPC and MI), failures of ours at error with their cause, and no
 * secret in any line, even at trace.
 */
import { afterAll, afterEach, describe, expect, it, vi } from "vitest";
import { GrpcStatus, SrClient } from "../../clients/ts/index.js";
import { type LogSettings, type Logs, createLogs } from "../../src/app/logging.js";
import { Caller, TOKENS, TOKEN_CONFIG, bearer, fetchAs } from "../helpers/auth.js";
import { TestPki } from "../helpers/certs.js";
import { type TestServer, startServer } from "../helpers/server.js";
import { waitFor } from "../helpers/wait.js";

type Entry = Record<string, unknown>;

/** Logs into memory; `text` is everything written so far (to parse, and to look for secrets in). */
async function captured(settings: Partial<LogSettings> = {}): Promise<{ logs: Logs; text: () => string }> {
  const chunks: string[] = [];
  const logs = await createLogs({ level: "info", format: "json", ...settings }, { write: (text) => chunks.push(text) }, false);
  return { logs, text: () => chunks.join("") };
}

function parsed(text: string): Entry[] {
  return text
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as Entry);
}

const servers: TestServer[] = [];
const clients: SrClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await Promise.all(servers.splice(0).map((s) => s.stop()));
});

async function serve(logs: Logs, tune: Parameters<typeof startServer>[0] = () => {}): Promise<TestServer> {
  const srv = await startServer(tune, { logs });
  servers.push(srv);
  return srv;
}

function client(srv: TestServer, token?: string): SrClient {
  const c = new SrClient(srv.address, token === undefined ? {} : { token });
  clients.push(c);
  return c;
}

describe("a log line per change", () => {
  it("names the writer: the server for core, config for declared groups, anonymous without auth", async () => {
    const log = await captured();
    const srv = await serve(log.logs, (config) => {
      config.groups = [{ name: "media", identifiers: [] }];
    });
    await client(srv).setStatus({ group: "media", identifier: "main", status: -2, details: "cache cold" });
    const entries = parsed(log.text());
    expect(entries).toContainEqual(
      expect.objectContaining({ level: "info", msg: "status changed", group: "core", identifier: "main", status: 1, oldStatus: -1, by: "server" }),
    );
    expect(entries).toContainEqual(expect.objectContaining({ level: "info", msg: "group registered", group: "media", by: "config" }));
    const change = entries.find((e) => e.msg === "status changed" && e.group === "media");
    expect(change).toMatchObject({ identifier: "main", status: -2, oldStatus: 1, details: "cache cold", by: "anonymous", revision: srv.registry.revision });
    expect(typeof change?.time).toBe("number");
  });

  it("names the token that wrote it under auth, and logs no token anywhere, even at trace", async () => {
    const log = await captured({ level: "trace" });
    const srv = await serve(log.logs, (config) => {
      config.tokens = TOKEN_CONFIG;
      config.http = "127.0.0.1:0";
    });
    const ci = client(srv, TOKENS.ci);
    await ci.registerGroup({ group: "billing" });
    await ci.setStatus({ group: "billing", identifier: "main", status: -1 });
    await ci.addReport({ group: "billing", identifier: "main", text: "failover" });
    // Refused: a token for another group, an unknown token, none at all; over HTTP too.
    await expect(ci.registerGroup({ group: "media" })).rejects.toMatchObject({ code: GrpcStatus.PERMISSION_DENIED });
    await expect(client(srv, "not-a-known-token-secret").getStatus({ group: "core" })).rejects.toMatchObject({ code: GrpcStatus.UNAUTHENTICATED });
    await expect(client(srv).getStatus({ group: "core" })).rejects.toMatchObject({ code: GrpcStatus.UNAUTHENTICATED });
    expect((await fetchAs(srv.httpAddress as string, "/metrics", { authorization: bearer("http-secret-token") })).status).toBe(401);
    expect((await fetchAs(srv.httpAddress as string, "/metrics", { authorization: bearer(TOKENS.dash) })).status).toBe(200);
    await waitFor(() => parsed(log.text()).filter((e) => e.msg === "call refused").length >= 3, 5_000, "the refusals logged");

    const entries = parsed(log.text());
    expect(entries.find((e) => e.msg === "status changed" && e.group === "billing")).toMatchObject({ by: "ci", status: -1, oldStatus: 1 });
    expect(entries.find((e) => e.msg === "group registered" && e.group === "billing")).toMatchObject({ by: "ci" });
    expect(entries.find((e) => e.msg === "report added" && e.group === "billing")).toMatchObject({ level: "debug", by: "ci", text: "failover" });
    const text = log.text();
    // The messages name how a token is sent ("authorization: Bearer <token>"), never one.
    for (const secret of [...Object.values(TOKENS), "not-a-known-token-secret", "http-secret-token"]) expect(text).not.toContain(secret);
  });
});

describe("a change written with a client certificate", () => {
  const pki = new TestPki();
  afterAll(() => pki.remove());

  it("names the certificate's mapped name", async () => {
    const log = await captured();
    const server = pki.server();
    const srv = await serve(log.logs, (config) => {
      config.tls = { cert: server.cert, key: server.key, clientCa: pki.ca };
      config.certificates = [{ san: "ops.example", role: "admin" }];
    });
    const caller = new Caller(srv.address, { ca: pki.caPem, client: pki.client({ cn: "ops-box", sans: ["DNS:ops.example"] }) });
    try {
      await caller.unary("registerGroup", { group: "billing" });
    } finally {
      caller.close();
    }
    expect(parsed(log.text()).find((e) => e.msg === "group registered" && e.group === "billing")).toMatchObject({ by: "ops.example" });
  });
});

describe("refused calls", () => {
  it("are logged at debug with their code and reason, over gRPC and MI", async () => {
    const log = await captured({ level: "debug" });
    const srv = await serve(log.logs, (config) => {
      config.http = "127.0.0.1:0";
    });
    await expect(client(srv).getStatus({ group: "nowhere" })).rejects.toMatchObject({ code: GrpcStatus.NOT_FOUND });
    await expect(client(srv).setStatus({ group: "core", identifier: "main", status: 3 })).rejects.toMatchObject({ code: GrpcStatus.PERMISSION_DENIED });
    const mi = await fetchAs(srv.httpAddress as string, "/mi", {}, JSON.stringify({ jsonrpc: "2.0", method: "sr_get_status", params: ["nowhere"], id: 1 }));
    expect(JSON.parse(mi.body)).toMatchObject({ error: { code: 404 } });
    await waitFor(() => parsed(log.text()).filter((e) => e.msg === "call refused").length >= 2, 5_000, "the refusals logged");

    const entries = parsed(log.text());
    expect(entries).toContainEqual(
      expect.objectContaining({ level: "debug", msg: "call refused", service: "sr.v1.StatusReportService", method: "GetStatus", code: "NOT_FOUND", reason: "GROUP_NOT_FOUND", message: "group 'nowhere' not found" }),
    );
    expect(entries).toContainEqual(expect.objectContaining({ level: "debug", msg: "call refused", method: "SetStatus", code: "PERMISSION_DENIED", reason: "INTERNAL_GROUP" }));
    expect(entries).toContainEqual(
      expect.objectContaining({ level: "debug", msg: "HTTP request refused", path: "/mi", mi: { method: "sr_get_status", code: 404, reason: "GROUP_NOT_FOUND" } }),
    );
  });

  it("are not logged at info", async () => {
    const log = await captured({ level: "info" });
    const srv = await serve(log.logs);
    await expect(client(srv).getStatus({ group: "nowhere" })).rejects.toMatchObject({ code: GrpcStatus.NOT_FOUND });
    await client(srv).getStatus({ group: "core" }); // after the refusal, so its end was seen
    expect(parsed(log.text()).filter((e) => e.level === "debug")).toEqual([]);
  });
});

describe("a failure of ours", () => {
  it("is logged at error with its cause, while the caller sees only INTERNAL", async () => {
    const log = await captured();
    const srv = await serve(log.logs);
    vi.spyOn(srv.registry, "checkStatus").mockImplementation(() => {
      throw new TypeError("a bug in checkStatus");
    });
    await expect(client(srv).checkStatus({ group: "core" })).rejects.toMatchObject({ code: GrpcStatus.INTERNAL, details: "internal error" });
    await waitFor(() => parsed(log.text()).find((e) => e.msg === "internal error"), 5_000, "the failure logged");
    const entry = parsed(log.text()).find((e) => e.msg === "internal error");
    expect(entry).toMatchObject({ level: "error", method: "CheckStatus", code: "INTERNAL", err: { type: "TypeError", message: "a bug in checkStatus" } });
    expect(String((entry?.err as Entry).stack)).toContain("a bug in checkStatus");
  });
});

describe("a failure of ours over HTTP", () => {
  it("answers 500 and is logged at error with its path, without the query", async () => {
    const log = await captured();
    const srv = await serve(log.logs, (config) => {
      config.http = "127.0.0.1:0";
    });
    vi.spyOn(srv.registry, "groupsInOrder").mockImplementation(() => {
      throw new TypeError("a bug in the page");
    });
    const answer = await fetchAs(srv.httpAddress as string, "/?q=hidden", {});
    expect(answer.status).toBe(500);
    const entry = parsed(log.text()).find((e) => e.msg === "HTTP request failed");
    expect(entry).toMatchObject({ level: "error", method: "GET", path: "/", err: { type: "TypeError", message: "a bug in the page" } });
    expect(log.text()).not.toContain("hidden");
  });
});

describe("the formats", () => {
  it("keep the plain lines as they are in JSON and pretty", async () => {
    for (const format of ["json", "pretty"] as const) {
      const chunks: string[] = [];
      const logs = await createLogs({ level: "info", format }, { write: (text) => chunks.push(text) }, false);
      logs.line("sr: gRPC listening on 127.0.0.1:1234");
      logs.logger.info({ group: "g" }, "status changed");
      logs.line("sr: HTTP listening on 127.0.0.1:5678");
      const lines = chunks.join("").split("\n");
      expect(lines[0]).toBe("sr: gRPC listening on 127.0.0.1:1234");
      expect(lines[2]).toBe("sr: HTTP listening on 127.0.0.1:5678");
      if (format === "json") expect(JSON.parse(lines[1] as string)).toMatchObject({ level: "info", msg: "status changed", group: "g" });
      else {
        expect(lines[1]).toMatch(/INFO.*status changed/);
        expect(() => JSON.parse(lines[1] as string)).toThrow();
      }
    }
  });

  it("redact a secret that would reach a log entry by mistake", async () => {
    const log = await captured();
    log.logs.logger.info({ authorization: "Bearer x-secret", token: "y-secret", headers: { authorization: "z-secret" } }, "oops");
    expect(log.text()).not.toMatch(/x-secret|y-secret|z-secret/);
    expect(parsed(log.text())[0]).toMatchObject({ authorization: "[redacted]", token: "[redacted]", headers: { authorization: "[redacted]" } });
  });
});
