/**
 * The MI endpoint over real HTTP on loopback: what the listener itself
 * decides (paths, methods, body limits, bytes that are not JSON or not UTF-8,
 * 204 for notifications, closing) and one server end to end. The commands
 * and the envelope are tested on the handler directly in mi-handler.test.ts.
 */
import { request as httpRequest } from "node:http";
import { connect } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Registry } from "../../../src/domain/registry/registry.js";
import { type HttpServer, startHttpServer } from "../../../src/transport/http/server.js";
import { type TestServer, startServer } from "../../helpers/server.js";

let registry: Registry;
let http: HttpServer;
let base: string;

beforeAll(async () => {
  registry = new Registry();
  registry.registerGroup({ group: "Media" });
  registry.registerGroup({ group: "alpha", status: 3, details: "ok" });
  http = await startHttpServer(registry, "127.0.0.1:0");
  base = `http://${http.address}`;
});

afterAll(async () => {
  await http?.close();
});

async function post(body: string, path = "/mi", init: RequestInit = {}): Promise<Response> {
  return fetch(`${base}${path}`, { method: "POST", headers: { "Content-Type": "application/json" }, body, ...init });
}

/** The result of a successful call over HTTP (HTTP 200, application/json, no error). */
async function result(method: string, params: unknown, url = base): Promise<any> {
  const body = JSON.stringify({ jsonrpc: "2.0", method, params, id: 1 });
  const res = await fetch(`${url}/mi`, { method: "POST", headers: { "Content-Type": "application/json" }, body });
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toMatch(/^application\/json/);
  const json: any = await res.json();
  expect(json.error).toBeUndefined();
  expect(json).toMatchObject({ jsonrpc: "2.0", id: 1 });
  return json.result;
}

describe("bodies the handler never sees", () => {
  it("answers -32700 Parse error with HTTP 200 for a body that is not JSON", async () => {
    for (const body of ["{not json", "", '{"jsonrpc":"2.0",', Buffer.from([0x7b, 0xff, 0xfe, 0x7d])]) {
      const res = await post(body as string);
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toMatch(/^application\/json/);
      const json: any = await res.json();
      expect(json).toMatchObject({ jsonrpc: "2.0", error: { code: -32700, message: "Parse error" }, id: null });
      expect(json.result).toBeUndefined();
    }
  });

  it("sends nothing back for a notification or a batch of notifications only", async () => {
    for (const body of [
      { jsonrpc: "2.0", method: "sr_get_status", params: ["Media"] },
      { jsonrpc: "2.0", method: "sr_nope" },
      [
        { jsonrpc: "2.0", method: "sr_list_status" },
        { jsonrpc: "2.0", method: "sr_get_status", params: [] },
      ],
    ]) {
      const res = await post(JSON.stringify(body));
      expect(res.status).toBe(204);
      expect(await res.text()).toBe("");
    }
  });
});

describe("HTTP", () => {
  it("answers POST on /mi, / and /json alike", async () => {
    const body = JSON.stringify({ jsonrpc: "2.0", method: "sr_get_status", params: ["alpha"], id: 9 });
    const answers = await Promise.all(["/mi", "/", "/json", "/mi?x=1"].map(async (path) => (await post(body, path)).json()));
    for (const a of answers) expect(a).toEqual({ jsonrpc: "2.0", result: { Readiness: true, Status: 3, Details: "ok" }, id: 9 });
  });

  it("answers other methods with 405 and Allow: POST, and other paths with 404", async () => {
    for (const path of ["/mi", "/json"]) {
      for (const method of ["GET", "PUT", "DELETE"]) {
        const res = await fetch(`${base}${path}`, { method });
        expect(res.status).toBe(405);
        expect(res.headers.get("allow")).toBe("POST");
        await res.text();
      }
    }
    // GET / is the status page now (issue 11), on purpose; POST / stays MI.
    const page = await fetch(`${base}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toMatch(/^text\/html/);
    await page.text();
    for (const method of ["PUT", "DELETE"]) {
      const res = await fetch(`${base}/`, { method });
      expect(res.status).toBe(405);
      expect(res.headers.get("allow")).toBe("GET, HEAD, POST");
      await res.text();
    }
    const res = await post("{}", "/other");
    expect(res.status).toBe(404);
    await res.text();
    const get = await fetch(`${base}/mi/status`);
    expect(get.status).toBe(404);
    await get.text();
  });

  it("accepts a body of exactly 1 MiB and refuses one byte more with 413", async () => {
    const request = JSON.stringify({ jsonrpc: "2.0", method: "sr_get_status", params: ["alpha"], id: 1 });
    const exact = request + " ".repeat(1024 * 1024 - request.length);
    const ok = await post(exact);
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as any).result).toEqual({ Readiness: true, Status: 3, Details: "ok" });
    const over = await post(`${exact} `);
    expect(over.status).toBe(413);
    await over.text();
  });

  it("refuses a chunked body that grows past 1 MiB with 413", async () => {
    const status = await new Promise<number>((resolve, reject) => {
      const req = httpRequest(`${base}/mi`, { method: "POST", headers: { "Content-Type": "application/json" } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on("error", reject);
      const chunk = Buffer.alloc(64 * 1024, 0x20);
      let sent = 0;
      // Sends up to 4 MiB, stopping once the answer is in.
      const pump = () => {
        while (sent < 64) {
          sent++;
          if (!req.write(chunk)) {
            req.once("drain", pump);
            return;
          }
        }
        req.end();
      };
      req.write("[");
      pump();
    });
    expect(status).toBe(413);
  });

  it("close() ends idle keep-alive connections and stops listening", async () => {
    const own = await startHttpServer(registry, "127.0.0.1:0");
    const url = `http://${own.address}`;
    expect(own.address).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(own.address).not.toBe("127.0.0.1:0");
    // fetch keeps the connection open afterwards.
    expect(await result("sr_get_status", ["alpha"], url)).toEqual({ Readiness: true, Status: 3, Details: "ok" });
    await own.close();
    await expect(fetch(`${url}/mi`, { method: "POST", body: "{}" })).rejects.toThrow();
  });

  it("close() does not wait for a client stuck in the middle of its body", async () => {
    const own = await startHttpServer(registry, "127.0.0.1:0");
    const req = httpRequest(`http://${own.address}/mi`, {
      method: "POST",
      headers: { "Content-Type": "application/json", "Content-Length": "100", Expect: "100-continue" },
    });
    const ended = new Promise<string>((resolve) => {
      req.on("error", (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
      req.on("response", (res) => resolve(`HTTP ${res.statusCode}`));
    });
    // "100 Continue" means the server holds the request; the body never comes.
    await new Promise<void>((resolve) => req.on("continue", () => resolve()));
    req.write("{");
    await own.close();
    expect(await ended).toBe("ECONNRESET");
  });
});

describe("a request target no URL parser takes", () => {
  /** One request as sent on a socket of its own, its target as given; the raw answer. */
  function raw(address: string, target: string): Promise<string> {
    const [host, port] = [address.slice(0, address.lastIndexOf(":")), Number(address.slice(address.lastIndexOf(":") + 1))];
    return new Promise((resolve, reject) => {
      let text = "";
      const socket = connect({ host, port }, () => socket.write(`GET ${target} HTTP/1.1\r\nHost: ${address}\r\nConnection: close\r\n\r\n`));
      socket.setEncoding("utf8");
      socket.on("data", (chunk: string) => (text += chunk));
      socket.on("end", () => resolve(text));
      socket.on("error", reject);
    });
  }

  it("answers 400 bad request target, told as a refusal without the target, never as a failure", async () => {
    const refused: unknown[] = [];
    const failed: unknown[] = [];
    const own = await startHttpServer(registry, "127.0.0.1:0", { log: { refused: (event) => refused.push(event), failed: (event, error) => failed.push({ event, error }) } });
    try {
      for (const target of ["//[", "http://[", "http://user:secret@[/mi"]) {
        const answer = await raw(own.address, target);
        expect(answer, target).toMatch(/^HTTP\/1\.1 400 /);
        expect(answer, target).toMatch(/\r\n\r\nbad request target\n$/);
      }
      expect(failed).toEqual([]);
      expect(refused).toEqual(Array(3).fill({ method: "GET", path: "", status: 400, message: "bad request target" }));
      expect(JSON.stringify(refused)).not.toContain("secret");
      // The listener still answers.
      expect(await result("sr_get_status", ["alpha"], `http://${own.address}`)).toMatchObject({ Status: 3 });
    } finally {
      await own.close();
    }
  });
});

describe("end to end", () => {
  let srv: TestServer;

  beforeAll(async () => {
    srv = await startServer((config) => {
      config.http = "127.0.0.1:0";
    });
    srv.registry.registerGroup({ group: "Media" });
    srv.registry.registerIdentifier({ group: "Media", identifier: "cache", status: 2, details: "" });
    srv.registry.addReport({ group: "Media", identifier: "cache", text: "warm" });
  });

  afterAll(async () => {
    await srv?.stop();
  });

  it("the server's own listener answers from the server's registry, bytes as OpenSIPS prints them", async () => {
    const url = `http://${srv.httpAddress}`;
    expect(srv.httpAddress).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(await result("sr_get_status", ["core"], url)).toEqual({ Readiness: true, Status: 1, Details: "running" });
    const res = await fetch(`${url}/mi`, {
      method: "POST",
      body: JSON.stringify({ jsonrpc: "2.0", method: "status_report:get", params: { group: "MEDIA", identifier: "Cache" }, id: "x" }),
    });
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('{"jsonrpc":"2.0","result":{"Readiness":true,"Status":2,"Details":""},"id":"x"}');
    const reports: any[] = await result("sr_list_reports", ["media", "cache"], url);
    expect(reports.map((r) => r.Log)).toEqual(["warm"]);
    const missing = await fetch(`${url}/mi`, { method: "POST", body: JSON.stringify({ jsonrpc: "2.0", method: "sr_list_status", params: ["nosuch"], id: 2 }) });
    expect(await missing.json()).toEqual({ jsonrpc: "2.0", error: { code: 404, message: "Group not found" }, id: 2 });
  });
});
