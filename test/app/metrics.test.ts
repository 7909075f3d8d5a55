/**
 * /metrics of an in-process server, scraped over HTTP and read with a strict
 * parser of the text format: the registry's gauges follow its changes, the
 * RPC counters count every code, per_identifier false leaves the
 * per-identifier series out, and the path is a reader's once auth is on.
 */
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GrpcStatus, SrClient } from "../../clients/ts/index.js";
import { TOKENS, TOKEN_CONFIG, bearer, fetchAs } from "../helpers/auth.js";
import { type Family, parsePrometheus, sampleValue } from "../helpers/prometheus.js";
import { type TestServer, startServer } from "../helpers/server.js";
import { FakeClock } from "../domain/watch/fake-clock.js";

async function scrape(srv: TestServer, authorization?: string): Promise<Map<string, Family>> {
  const answer = await fetchAs(srv.httpAddress as string, "/metrics", { authorization });
  expect(answer.status, answer.body).toBe(200);
  expect(answer.headers["content-type"]).toBe("text/plain; version=0.0.4; charset=utf-8");
  return parsePrometheus(answer.body);
}

const handled = (families: Map<string, Family>, method: string, code: string) =>
  sampleValue(families, "grpc_server_handled_total", { grpc_service: "sr.v1.StatusReportService", grpc_method: method, grpc_code: code }) ?? 0;

describe("/metrics", () => {
  let srv: TestServer;
  let c: SrClient;
  const clock = new FakeClock();

  beforeAll(async () => {
    srv = await startServer(
      (config) => {
        config.http = "127.0.0.1:0";
        config.groups = [{ name: "media", identifiers: [{ name: "cache", status: -3, reportCapacity: 2 }] }];
      },
      { clock },
    );
    c = new SrClient(srv.address);
  });
  afterAll(async () => {
    c.close();
    await srv.stop();
  });

  it("is valid text format with every series named in the README, prom-client's process metrics included", async () => {
    const families = await scrape(srv);
    const types = Object.fromEntries([...families.values()].map((f) => [f.name, f.type]));
    expect(types).toMatchObject({
      sr_status: "gauge",
      sr_ready: "gauge",
      sr_reports_total: "counter",
      sr_identifiers: "gauge",
      sr_groups: "gauge",
      sr_watchers: "gauge",
      sr_revision: "gauge",
      sr_lease_expirations_total: "counter",
      sr_build_info: "gauge",
      grpc_server_handled_total: "counter",
      grpc_server_handling_seconds: "histogram",
      process_cpu_seconds_total: "counter",
      process_resident_memory_bytes: "gauge",
      nodejs_heap_size_used_bytes: "gauge",
    });
    for (const f of families.values()) expect(f.help, f.name).toBeTruthy();
    const version = (JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string }).version;
    expect(sampleValue(families, "sr_build_info", { version })).toBe(1);
    // core is a group like any other here: running.
    expect(sampleValue(families, "sr_status", { group: "core", identifier: "main" })).toBe(1);
    expect(sampleValue(families, "sr_ready", { group: "core", identifier: "main" })).toBe(1);
    expect(sampleValue(families, "sr_status", { group: "media", identifier: "cache" })).toBe(-3);
    expect(sampleValue(families, "sr_ready", { group: "media", identifier: "cache" })).toBe(0);
  });

  it("follows a status change, a registration, reports and the revision", async () => {
    await c.registerGroup({ group: "billing" });
    const before = await scrape(srv);
    expect(sampleValue(before, "sr_status", { group: "billing", identifier: "main" })).toBe(1);
    expect(sampleValue(before, "sr_ready", { group: "billing", identifier: "main" })).toBe(1);
    const groups = sampleValue(before, "sr_groups") as number;
    const identifiers = sampleValue(before, "sr_identifiers") as number;

    await c.setStatus({ group: "billing", identifier: "main", status: -7, details: "db down" });
    await c.registerIdentifier({ group: "billing", identifier: "db" });
    // Capacity 2: the third report drops the first, and the counter still counts three.
    for (const text of ["one", "two", "three"]) await c.addReport({ group: "media", identifier: "cache", text });
    const after = await scrape(srv);
    expect(sampleValue(after, "sr_status", { group: "billing", identifier: "main" })).toBe(-7);
    expect(sampleValue(after, "sr_ready", { group: "billing", identifier: "main" })).toBe(0);
    expect(sampleValue(after, "sr_status", { group: "billing", identifier: "db" })).toBe(1);
    expect(sampleValue(after, "sr_reports_total", { group: "media", identifier: "cache" })).toBe(3);
    expect(sampleValue(after, "sr_reports_total", { group: "billing", identifier: "main" })).toBe(0);
    expect(sampleValue(after, "sr_groups")).toBe(groups);
    expect(sampleValue(after, "sr_identifiers")).toBe(identifiers + 1);
    expect(sampleValue(after, "sr_revision")).toBe(srv.registry.revision);

    await c.unregisterGroup({ group: "billing" });
    const removed = await scrape(srv);
    expect(sampleValue(removed, "sr_status", { group: "billing", identifier: "main" })).toBeUndefined();
    expect(sampleValue(removed, "sr_groups")).toBe(groups - 1);
  });

  it("counts every RPC by method and code, NOT_FOUND included, with a histogram of its duration", async () => {
    const before = await scrape(srv);
    await expect(c.getStatus({ group: "nowhere" })).rejects.toMatchObject({ code: GrpcStatus.NOT_FOUND });
    await c.getStatus({ group: "core" });
    const after = await scrape(srv);
    expect(handled(after, "GetStatus", "NotFound") - handled(before, "GetStatus", "NotFound")).toBe(1);
    expect(handled(after, "GetStatus", "OK") - handled(before, "GetStatus", "OK")).toBe(1);
    const labels = { grpc_type: "unary", grpc_service: "sr.v1.StatusReportService", grpc_method: "GetStatus" };
    const count = sampleValue(after, "grpc_server_handling_seconds_count", labels) as number;
    expect(count).toBe(handled(after, "GetStatus", "NotFound") + handled(after, "GetStatus", "OK"));
    expect(sampleValue(after, "grpc_server_handling_seconds_bucket", { ...labels, le: "+Inf" })).toBe(count);
    // go-grpc-prometheus's default buckets.
    const bounds = after
      .get("grpc_server_handling_seconds")
      ?.samples.filter((s) => s.name.endsWith("_bucket") && s.labels.grpc_method === "GetStatus")
      .map((s) => s.labels.le);
    expect(bounds).toEqual(["0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10", "+Inf"]);
  });

  it("counts the open watchers", async () => {
    const abort = new AbortController();
    const stream = c.watch({ group: "media" }, { signal: abort.signal });
    await stream.next(); // the snapshot: the watcher is open
    expect(sampleValue(await scrape(srv), "sr_watchers")).toBe(1);
    abort.abort();
    await stream.return(undefined);
  });

  it("counts the leases that ran out", async () => {
    const before = sampleValue(await scrape(srv), "sr_lease_expirations_total") as number;
    await c.registerIdentifier({ group: "media", identifier: "leased", ttl: { seconds: 5n, nanos: 0 } });
    clock.advance(5_000);
    const after = await scrape(srv);
    expect((sampleValue(after, "sr_lease_expirations_total") as number) - before).toBe(1);
    expect(sampleValue(after, "sr_status", { group: "media", identifier: "leased" })).toBe(-1);
  });
});

describe("/metrics with metrics.per_identifier false", () => {
  it("leaves out sr_status, sr_ready and sr_reports_total and keeps the rest", async () => {
    const srv = await startServer((config) => {
      config.http = "127.0.0.1:0";
      config.metrics.perIdentifier = false;
      config.groups = [{ name: "media", identifiers: [] }];
    });
    try {
      const families = await scrape(srv);
      for (const name of ["sr_status", "sr_ready", "sr_reports_total"]) expect(families.has(name), name).toBe(false);
      expect(sampleValue(families, "sr_groups")).toBe(2);
      expect(sampleValue(families, "sr_identifiers")).toBe(2);
      expect(families.has("grpc_server_handled_total")).toBe(true);
    } finally {
      await srv.stop();
    }
  });
});

describe("/metrics under auth", () => {
  it("needs a reader's token", async () => {
    const srv = await startServer((config) => {
      config.http = "127.0.0.1:0";
      config.tokens = TOKEN_CONFIG;
    });
    try {
      const refused = await fetchAs(srv.httpAddress as string, "/metrics", {});
      expect(refused.status).toBe(401);
      expect(refused.headers["www-authenticate"]).toBe("Bearer");
      const families = await scrape(srv, bearer(TOKENS.dash));
      expect(sampleValue(families, "sr_status", { group: "core", identifier: "main" })).toBe(1);
    } finally {
      await srv.stop();
    }
  });
});
