/**
 * The role table of README.md (Configuration, Auth), run cell by cell: every
 * call of the table as every kind of caller, on gRPC and HTTP, over plaintext,
 * TLS and mTLS (tokens deciding, then mapped certificates), so the README
 * cannot drift from what the server does.
 */
import { readFileSync } from "node:fs";
import { status as Code, type ServiceError } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as sr from "../../../gen/ts/sr/v1/sr.js";
import { StatusReportServiceService } from "../../../gen/ts/sr/v1/sr.js";
import type { ServerConfig } from "../../../src/app/config.js";
import { Caller, type Identity, type Method, TOKENS, TOKEN_CONFIG, bearer, fetchAs } from "../../helpers/auth.js";
import { type KeyPair, TestPki } from "../../helpers/certs.js";
import { ReflectionClient } from "../../helpers/grpcurl/index.js";
import { type TestServer, startServer } from "../../helpers/server.js";

const COLUMNS = ["none", "read", "write, own group", "write, other group", "admin"] as const;
type Column = (typeof COLUMNS)[number];

/** The table: each call named in backticks, with what each column gets. */
function readmeTable(): Map<string, Record<Column, string>> {
  const lines = readFileSync(new URL("../../../README.md", import.meta.url), "utf8").split("\n").map((l) => l.trim());
  const start = lines.findIndex((l) => l.startsWith(`| call | ${COLUMNS.join(" | ")} |`));
  expect(start, "README.md has the role table").toBeGreaterThan(0);
  const table = new Map<string, Record<Column, string>>();
  for (const line of lines.slice(start + 2)) {
    if (!line.startsWith("|")) break;
    const [calls = "", ...cells] = line.slice(1, -1).split("|");
    const row = Object.fromEntries(COLUMNS.map((c, i) => [c, cells[i]?.trim().replaceAll("`", "")])) as Record<Column, string>;
    for (const [, name] of calls.matchAll(/`([^`]+)`/g)) table.set(name as string, row);
  }
  return table;
}

const pascal = (method: string) => method[0]!.toUpperCase() + method.slice(1);

const ORDER: Method[] = [
  "getStatus",
  "listStatus",
  "listReports",
  "listIdentifiers",
  "checkStatus",
  "watchStatus",
  "registerGroup",
  "registerIdentifier",
  "setStatus",
  "refreshLease",
  "addReport",
  "unregisterIdentifier",
  "unregisterGroup",
];

/** Each RPC of the table as one call on `group`, in an order where each write finds what the previous made. */
function request(method: Method, group: string): object {
  const id = { group, identifier: "x" };
  const requests: Record<Method, object> = {
    getStatus: { group: "core" },
    listStatus: {},
    listReports: { group: "core" },
    listIdentifiers: {},
    checkStatus: { group: "core" },
    watchStatus: { group: "core" },
    registerGroup: { group },
    registerIdentifier: id,
    setStatus: { ...id, status: 2, ttl: { seconds: 60n, nanos: 0 } },
    refreshLease: id,
    addReport: { ...id, text: "hello" },
    unregisterIdentifier: id,
    unregisterGroup: { group },
  };
  const type = (sr as unknown as Record<string, { fromPartial(partial: object): object }>)[`${pascal(method)}Request`];
  return type!.fromPartial(requests[method]);
}

/** The README's word for what a call got. */
async function outcome(call: () => Promise<unknown>): Promise<string> {
  try {
    await call();
    return "yes";
  } catch (error) {
    const { code, details } = error as ServiceError;
    if (code === Code.UNAUTHENTICATED) return "UNAUTHENTICATED";
    if (code === Code.PERMISSION_DENIED) return "PERMISSION_DENIED";
    return `code ${code}: ${details}`;
  }
}


/** Every cell of `column` as this caller gets it, keyed by the table's names. */
async function probe(srv: TestServer, identity: Identity, group: string): Promise<Record<string, string>> {
  const caller = new Caller(srv.address, identity);
  const seen: Record<string, string> = {};
  try {
    for (const method of ORDER) {
      const req = request(method, group);
      seen[pascal(method)] = await outcome(() => (method === "watchStatus" ? caller.watchFirst(req) : caller.unary(method, req)));
    }
    seen["grpc.health.v1.Health"] = await outcome(() => caller.healthCheck());
    seen["grpc.reflection"] = await outcome(async () => {
      const reflection = new ReflectionClient(caller.client);
      try {
        expect(await reflection.listServices()).toContain("sr.v1.StatusReportService");
      } finally {
        await reflection.close();
      }
    });
  } finally {
    caller.close();
  }
  const mi = JSON.stringify({ jsonrpc: "2.0", method: "sr_list_status", id: 1 });
  for (const path of ["/mi", "/", "/json", "/metrics", "/events", "/healthz", "/readyz", "/left-open"]) {
    const answer = await fetchAs(srv.httpAddress!, path, identity, ["/mi", "/", "/json"].includes(path) ? mi : undefined);
    if (answer.status === 401) expect(answer.headers["www-authenticate"], path).toMatch(/^Bearer\b/);
    if (["/mi", "/json"].includes(path) && answer.status !== 401) expect(answer.status, `${path}: ${answer.body}`).toBe(200);
    seen[path === "/left-open" ? "auth.open_http" : path] = answer.status === 401 ? "401" : "yes";
  }
  return seen;
}

interface Setup {
  name: string;
  tune(config: ServerConfig, pki: TestPki, server: KeyPair): void;
  /** The caller of each column. */
  identities(pki: TestPki): Record<Column, Identity & { group: string }>;
}

/** The callers of the table by token, each reaching the server as `transport` says. */
const byTokens = (transport: Identity) => ({
  none: { ...transport, group: "billing" },
  read: { ...transport, authorization: bearer(TOKENS.dash), group: "billing" },
  "write, own group": { ...transport, authorization: bearer(TOKENS.ci), group: "billing" },
  "write, other group": { ...transport, authorization: bearer(TOKENS.ci), group: "shipping" },
  admin: { ...transport, authorization: bearer(TOKENS.ops), group: "billing" },
});

const SETUPS: Setup[] = [
  { name: "plaintext, tokens", tune: () => {}, identities: () => byTokens({}) },
  {
    name: "TLS, tokens",
    tune: (config, _pki, server) => (config.tls = { cert: server.cert, key: server.key }),
    identities: (pki) => byTokens({ ca: pki.caPem }),
  },
  {
    name: "mTLS, tokens (an unmapped client certificate)",
    tune: (config, pki, server) => (config.tls = { cert: server.cert, key: server.key, clientCa: pki.ca }),
    identities: (pki) => byTokens({ ca: pki.caPem, client: pki.client({ cn: "stranger" }) }),
  },
  {
    name: "mTLS, mapped certificates",
    tune: (config, pki, server) => {
      config.tls = { cert: server.cert, key: server.key, clientCa: pki.ca };
      config.tokens = [];
      config.certificates = [
        { subject: "dashboard", role: "read" },
        { san: "spiffe://test/ns/billing/sa/worker", role: "write", groups: ["billing"] },
        { san: "ops.example", role: "admin" },
      ];
    },
    identities: (pki) => {
      const as = (client: KeyPair, group = "billing") => ({ ca: pki.caPem, client, group });
      const worker = pki.client({ cn: "worker", sans: ["URI:spiffe://test/ns/billing/sa/worker"] });
      return {
        none: as(pki.client({ cn: "stranger", sans: ["DNS:stranger.example"] })),
        read: as(pki.client({ cn: "dashboard" })),
        "write, own group": as(worker),
        "write, other group": as(worker, "shipping"),
        admin: as(pki.client({ cn: "someone", sans: ["DNS:ops.example"] })),
      };
    },
  },
];

const pki = new TestPki();
afterAll(() => pki.remove());

it("the README's table names every RPC of StatusReportService once", () => {
  const table = readmeTable();
  for (const method of Object.keys(StatusReportServiceService)) expect(table.has(pascal(method)), pascal(method)).toBe(true);
  expect(ORDER.map(pascal).sort()).toEqual(Object.keys(StatusReportServiceService).map(pascal).sort());
});

describe.each(SETUPS)("$name", (setup) => {
  let srv: TestServer;
  const identities = setup.identities(pki);
  beforeAll(async () => {
    const server = pki.server();
    srv = await startServer((config) => {
      config.tokens = TOKEN_CONFIG;
      config.http = "127.0.0.1:0";
      config.openHttp = ["/left-open"];
      setup.tune(config, pki, server);
    });
  });
  afterAll(() => srv?.stop());

  it.each(COLUMNS)("%s gets what the table says, on gRPC and HTTP", async (column) => {
    const { group, ...identity } = identities[column];
    const seen = await probe(srv, identity, group);
    const table = readmeTable();
    const expected = Object.fromEntries(Object.keys(seen).map((name) => [name, table.get(name)?.[column] ?? "(not in the README)"]));
    expect(seen).toEqual(expected);
  });
});
