/**
 * Tokens and client certificates end to end, beyond the README's table
 * (auth-table.test.ts): which one decides, what a certificate from another CA
 * or none at all gets on each listener, a client CA without mappings, paths
 * left open on purpose, and the defects found with hostile input.
 */
import { status as Code } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ServerConfig } from "../../../src/app/config.js";
import { Caller, type Identity, TOKENS, TOKEN_CONFIG, bearer, fetchAs } from "../../helpers/auth.js";
import { TestPki } from "../../helpers/certs.js";
import { type TestServer, startServer } from "../../helpers/server.js";

const pki = new TestPki();
const other = new TestPki("another CA");
afterAll(() => {
  pki.remove();
  other.remove();
});

const MI = JSON.stringify({ jsonrpc: "2.0", method: "sr_get_status", params: { group: "core" }, id: 1 });

async function serve(tune: (config: ServerConfig) => void): Promise<TestServer> {
  const server = pki.server();
  return startServer((config) => {
    config.http = "127.0.0.1:0";
    config.tls = { cert: server.cert, key: server.key, clientCa: pki.ca };
    tune(config);
  });
}

/** What a write gets, and whether it changed the registry. */
async function write(srv: TestServer, identity: Identity, group = "billing"): Promise<{ code: number; details: string } | "ok"> {
  const caller = new Caller(srv.address, identity);
  const before = srv.registry.revision;
  try {
    await caller.unary("registerGroup", { group });
    return "ok";
  } catch (error) {
    expect(srv.registry.revision, "a refused call changes nothing").toBe(before);
    const { code, details } = error as { code: number; details: string };
    return { code, details };
  } finally {
    caller.close();
  }
}

describe("tokens and mapped certificates together", () => {
  let srv: TestServer;
  const reader = pki.client({ cn: "dashboard" });
  const admin = pki.client({ cn: "ops-box", sans: ["DNS:ops.example"] });
  beforeAll(async () => {
    srv = await serve((config) => {
      config.tokens = TOKEN_CONFIG;
      config.certificates = [
        { subject: "dashboard", role: "read" },
        { san: "ops.example", role: "admin" },
      ];
    });
  });
  afterAll(() => srv?.stop());

  it("a valid token decides the role, whatever the certificate says", async () => {
    expect(await write(srv, { ca: pki.caPem, client: reader, authorization: bearer(TOKENS.ops) }, "by-token")).toBe("ok");
    expect(await write(srv, { ca: pki.caPem, client: admin, authorization: bearer(TOKENS.dash) })).toMatchObject({
      code: Code.PERMISSION_DENIED,
      details: "token 'dash' has role 'read' and may not write",
    });
  });

  it("without a token the mapped certificate decides", async () => {
    expect(await write(srv, { ca: pki.caPem, client: admin }, "by-cert")).toBe("ok");
    expect(await write(srv, { ca: pki.caPem, client: reader })).toMatchObject({ code: Code.PERMISSION_DENIED, details: expect.stringMatching(/^certificate 'dashboard'/) });
  });

  it("an unknown token is refused beside a good certificate, and the answer does not repeat it", async () => {
    const refused = await write(srv, { ca: pki.caPem, client: admin, authorization: bearer("not-a-real-token-42") });
    expect(refused).toMatchObject({ code: Code.UNAUTHENTICATED, details: "authorization: the bearer token is not known to this server" });
    expect(JSON.stringify(refused)).not.toContain("not-a-real-token-42");
  });

  it("gRPC refuses a connection without a certificate its CA signed", async () => {
    for (const client of [undefined, other.client({ cn: "dashboard" })]) {
      expect(await write(srv, { ca: pki.caPem, client, authorization: bearer(TOKENS.ops) })).toMatchObject({ code: Code.UNAVAILABLE });
    }
  });

  it("HTTPS asks for a certificate without requiring one: a probe path answers, MI needs a reader", async () => {
    const https = (identity: Omit<Identity, "ca">, path = "/mi") => fetchAs(srv.httpAddress!, path, { ca: pki.caPem, ...identity }, path === "/mi" ? MI : undefined);
    expect((await https({}, "/healthz")).status).not.toBe(401);
    const refused = await https({});
    expect(refused.status).toBe(401);
    expect(refused.headers["www-authenticate"]).toBe("Bearer");
    expect(refused.body).toMatch(/header 'Authorization: Bearer <token>'/);
    expect((await https({ client: reader })).status).toBe(200);
    expect((await https({ authorization: bearer(TOKENS.dash) })).status).toBe(200);
    // A certificate from another CA counts as none; an unknown token is named invalid.
    expect((await https({ client: other.client({ cn: "dashboard" }) })).status).toBe(401);
    expect((await https({ authorization: bearer("guess") })).headers["www-authenticate"]).toBe('Bearer error="invalid_token"');
  });
});

describe("a client CA without tokens or mappings", () => {
  let srv: TestServer;
  beforeAll(async () => {
    srv = await serve(() => {});
  });
  afterAll(() => srv?.stop());

  it("admits every certificate the CA signed as admin, and HTTP callers without one get 401", async () => {
    expect(await write(srv, { ca: pki.caPem, client: pki.client({ cn: "anyone" }) })).toBe("ok");
    expect((await fetchAs(srv.httpAddress!, "/mi", { ca: pki.caPem }, MI)).status).toBe(401);
    expect((await fetchAs(srv.httpAddress!, "/mi", { ca: pki.caPem, client: pki.client({ cn: "anyone" }) }, MI)).status).toBe(200);
  });
});

describe("hostile input", () => {
  let srv: TestServer;
  beforeAll(async () => {
    srv = await startServer((config) => {
      config.tokens = TOKEN_CONFIG;
      config.http = "127.0.0.1:0";
      config.openHttp = ["/mi"];
    });
  });
  afterAll(() => srv?.stop());

  it("a token sent without the `Bearer ` prefix is no token, on gRPC and HTTP", async () => {
    for (const authorization of [TOKENS.ops, `Basic ${TOKENS.ops}`, `Bearer${TOKENS.ops}`, `Token ${TOKENS.ops}`]) {
      expect(await write(srv, { authorization }), authorization).toMatchObject({
        code: Code.UNAUTHENTICATED,
        details: "authorization: a bearer token is required (metadata 'authorization: Bearer <token>')",
      });
      expect((await fetchAs(srv.httpAddress!, "/json", { authorization }, MI)).status, authorization).toBe(401);
    }
    expect(await write(srv, { authorization: `bEaReR ${TOKENS.ops}` })).toBe("ok");
  });

  it("auth.open_http leaves exactly the listed path open: /mi answers without a token, /json does not", async () => {
    expect((await fetchAs(srv.httpAddress!, "/mi", {}, MI)).status).toBe(200);
    expect((await fetchAs(srv.httpAddress!, "/mi/", {}, MI)).status).toBe(200);
    expect((await fetchAs(srv.httpAddress!, "/json", {}, MI)).status).toBe(401);
  });
});
