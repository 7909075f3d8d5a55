/**
 * /healthz and /readyz over HTTP: text answers to GET and HEAD, open paths
 * even under auth, and /readyz 503 while a graceful stop drains (HTTP stays
 * up until gRPC has drained, so probes see the stop).
 */
import { request } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TOKEN_CONFIG, fetchAs } from "../../helpers/auth.js";
import { connectRaw, grpcFrame, openRaw } from "../../helpers/raw-grpc.js";
import { type TestServer, startServer } from "../../helpers/server.js";
import { waitFor, withTimeout } from "../../helpers/wait.js";

const get = (srv: TestServer, path: string) => fetchAs(srv.httpAddress as string, path, {});

function head(address: string, path: string): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  const port = Number(address.slice(address.lastIndexOf(":") + 1));
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path, method: "HEAD", agent: false }, (res) => {
      let body = "";
      res.on("data", (chunk: Buffer) => (body += chunk.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

function post(address: string, path: string): Promise<{ status: number; allow: unknown }> {
  const port = Number(address.slice(address.lastIndexOf(":") + 1));
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path, method: "POST", agent: false }, (res) => {
      res.resume();
      res.on("end", () => resolve({ status: res.statusCode ?? 0, allow: res.headers.allow }));
    });
    req.on("error", reject);
    req.end("{}");
  });
}

describe("/healthz and /readyz", () => {
  let srv: TestServer;
  beforeAll(async () => {
    srv = await startServer((config) => {
      config.http = "127.0.0.1:0";
      config.tokens = TOKEN_CONFIG; // both stay open under auth
    });
  });
  afterAll(async () => {
    await srv.stop();
  });

  it("answer 200 in text while the server runs, with no token", async () => {
    const health = await get(srv, "/healthz");
    expect(health).toMatchObject({ status: 200, body: "ok\n" });
    expect(health.headers["content-type"]).toBe("text/plain; charset=utf-8");
    expect(await get(srv, "/readyz")).toMatchObject({ status: 200, body: "ready\n" });
    expect(await get(srv, "/readyz?verbose")).toMatchObject({ status: 200 });
  });

  it("answer HEAD with the status and no body, and other methods with 405", async () => {
    const address = srv.httpAddress as string;
    expect(await head(address, "/healthz")).toMatchObject({ status: 200, body: "" });
    expect(await head(address, "/readyz")).toMatchObject({ status: 200, body: "" });
    expect(await post(address, "/healthz")).toEqual({ status: 405, allow: "GET, HEAD" });
    expect(await post(address, "/readyz")).toEqual({ status: 405, allow: "GET, HEAD" });
  });
});

describe("/readyz during a graceful stop", () => {
  it("is 503 naming core's state while the stop drains, /healthz still 200", async () => {
    const srv = await startServer((config) => {
      config.http = "127.0.0.1:0";
      config.limits.gracePeriodMs = 20_000;
    });
    // A call whose request never ends holds the gRPC drain, and with it the stop, open.
    const session = await connectRaw(srv.address);
    const held = openRaw(session, "/sr.v1.StatusReportService/GetStatus", grpcFrame(new Uint8Array()), { end: false });
    let stopped = false;
    try {
      await waitFor(() => srv.stats().calls === 1, 5_000, "the server to start the held call");
      const stopping = srv.stop().then(() => (stopped = true));
      const ready = await get(srv, "/readyz");
      expect(ready.status).toBe(503);
      expect(ready.body).toBe("not ready: core is -2 (shutting down)\n");
      expect(await get(srv, "/healthz")).toMatchObject({ status: 200, body: "ok\n" });
      expect(stopped).toBe(false);
      held.stream.close();
      await withTimeout(stopping, 10_000, "the stop once the held call ended");
    } finally {
      session.destroy();
      srv.forceStop();
    }
  });
});
