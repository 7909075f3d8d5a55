/**
 * `/metrics`: the registry and the gRPC listener as Prometheus series, with
 * prom-client's exposition and its default process metrics. Nothing here runs
 * on the write path: every series below is read from the registry, the hub
 * and the RPC counts (transport/grpc/metrics.ts) when scraped. prom-client
 * itself (about 100 ms to import) is loaded at the first scrape, so it costs
 * the start nothing. docs/operations.md lists the series.
 *
 * Internal groups are series like any other: `core` shows up as
 * `sr_status{group="core",identifier="main"}` (1 running, -1 initializing,
 * -2 shutting down), and `sr_groups` / `sr_identifiers` count it.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { Registry as PromRegistry } from "prom-client";
import type { Registry } from "../domain/registry/registry.js";
import type { WatchHub } from "../domain/watch/hub.js";
import { GRPC_CODE_LABELS, HANDLING_BUCKETS, type RpcStats } from "../transport/grpc/metrics.js";

export interface MetricsSources {
  registry: Registry;
  hub: WatchHub;
  rpc: RpcStats;
  /** `metrics.per_identifier`: false leaves out sr_status, sr_ready and sr_reports_total (very large registries). */
  perIdentifier: boolean;
}

/** What prom-client's registry formats: one metric, its values read now. */
interface Sample {
  labels?: Record<string, string | number>;
  value: number;
  metricName?: string;
}

interface Collected {
  name: string;
  help: string;
  type: "gauge" | "counter" | "histogram";
  get(): { name: string; help: string; type: string; values: Sample[]; aggregator: "sum" };
  reset(): void;
}

/** A metric whose values are read when scraped. */
function collected(name: string, help: string, type: Collected["type"], values: () => Sample[]): Collected {
  return { name, help, type, get: () => ({ name, help, type, values: values(), aggregator: "sum" }), reset() {} };
}

/** The package's version: the nearest package.json above this file (src/app/ or dist/src/app/). */
export function packageVersion(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    try {
      const pkg = JSON.parse(readFileSync(path.join(dir, "package.json"), "utf8")) as { name?: string; version?: string };
      if (pkg.name === "status-report-service" && pkg.version) return pkg.version;
    } catch {
      // not here: one level up
    }
    const up = path.dirname(dir);
    if (up === dir) return "unknown";
    dir = up;
  }
}

/** The per-identifier series, read in one walk of the registry. */
function perIdentifier(registry: Registry): { status: Sample[]; ready: Sample[]; reports: Sample[] } {
  const status: Sample[] = [];
  const ready: Sample[] = [];
  const reports: Sample[] = [];
  for (const group of registry.groupsInOrder()) {
    for (const identifier of group.identifiers.values()) {
      const labels = { group: group.name, identifier: identifier.name };
      status.push({ labels, value: identifier.status });
      ready.push({ labels, value: identifier.status > 0 ? 1 : 0 });
      reports.push({ labels, value: identifier.reports.added });
    }
  }
  return { status, ready, reports };
}

function rpcHandled(rpc: RpcStats): Sample[] {
  const out: Sample[] = [];
  for (const m of rpc.methods()) {
    m.handled.forEach((count, code) => {
      if (count > 0) {
        out.push({ labels: { grpc_type: m.type, grpc_service: m.service, grpc_method: m.method, grpc_code: GRPC_CODE_LABELS[code] ?? String(code) }, value: count });
      }
    });
  }
  return out;
}

function rpcHandling(rpc: RpcStats, name: string): Sample[] {
  const out: Sample[] = [];
  for (const m of rpc.methods()) {
    const labels = { grpc_type: m.type, grpc_service: m.service, grpc_method: m.method };
    let cumulative = 0;
    m.buckets.forEach((count, i) => {
      cumulative += count;
      const le = i < HANDLING_BUCKETS.length ? String(HANDLING_BUCKETS[i]) : "+Inf";
      out.push({ metricName: `${name}_bucket`, labels: { ...labels, le }, value: cumulative });
    });
    out.push({ metricName: `${name}_sum`, labels, value: m.sumSeconds });
    out.push({ metricName: `${name}_count`, labels, value: m.count });
  }
  return out;
}

/** What a scrape reads: the per-identifier walk is made once per scrape, for the three metrics it feeds. */
interface ScrapeState {
  walk: ReturnType<typeof perIdentifier> | undefined;
}

async function build(sources: MetricsSources, state: ScrapeState): Promise<PromRegistry> {
  const prom = await import("prom-client");
  const promRegistry = new prom.Registry();
  prom.collectDefaultMetrics({ register: promRegistry });
  const { registry, hub, rpc } = sources;
  const version = packageVersion();
  const walked = () => (state.walk ??= perIdentifier(registry));
  const metrics: Collected[] = [
    collected("sr_build_info", "The server's version (package.json); always 1.", "gauge", () => [{ labels: { version }, value: 1 }]),
    collected("sr_revision", "The registry's revision: every change adds one.", "gauge", () => [{ value: registry.revision }]),
    collected("sr_groups", "Groups registered, internal ones (core) included.", "gauge", () => [{ value: registry.groupsInOrder().length }]),
    collected("sr_identifiers", "Identifiers registered over every group, internal ones included.", "gauge", () => [{ value: registry.totalIdentifiers }]),
    collected("sr_watchers", "Open watch streams: WatchStatus and health Watch (what limits.max_watchers counts).", "gauge", () => [{ value: hub.watcherCount }]),
    collected("sr_lease_expirations_total", "Leases that ran out since the server started.", "counter", () => [{ value: registry.leaseExpirations }]),
    collected("grpc_server_handled_total", "RPCs completed on the server, by code (go-grpc-prometheus).", "counter", () => rpcHandled(rpc)),
    collected("grpc_server_handling_seconds", "Time from the start of an RPC to its end, in seconds (go-grpc-prometheus).", "histogram", () =>
      rpcHandling(rpc, "grpc_server_handling_seconds"),
    ),
  ];
  if (sources.perIdentifier) {
    metrics.push(
      collected("sr_status", "Each identifier's status value (> 0 ready, < 0 not ready).", "gauge", () => walked().status),
      collected("sr_ready", "Each identifier's readiness: 1 when its status is above 0, else 0.", "gauge", () => walked().ready),
      collected(
        "sr_reports_total",
        "Reports added to each identifier since it was registered (its last report sequence), those its ring has dropped included.",
        "counter",
        () => walked().reports,
      ),
    );
  }
  for (const metric of metrics) promRegistry.registerMetric(metric as never);
  return promRegistry;
}

/** The `/metrics` endpoint's answers; prom-client is imported at the first. */
export class Metrics {
  private promRegistry: Promise<PromRegistry> | undefined;
  private readonly state: ScrapeState = { walk: undefined };

  constructor(private readonly sources: MetricsSources) {}

  /** The exposition text (Prometheus 0.0.4) and its content type. */
  async scrape(): Promise<{ contentType: string; body: string }> {
    this.promRegistry ??= build(this.sources, this.state);
    const promRegistry = await this.promRegistry;
    this.state.walk = undefined;
    try {
      return { contentType: promRegistry.contentType, body: await promRegistry.metrics() };
    } finally {
      this.state.walk = undefined;
    }
  }
}
