import { Server } from "@grpc/grpc-js";
import { splitListen } from "../transport/listen.js";
import { ConfigError, type ServerConfig } from "./config.js";
import { checkAuth, httpAccessOf, policyOf, reloadAuth } from "./auth.js";
import { coreInitializing, coreRunning, coreShuttingDown, createCore } from "../domain/core.js";
import { SrError } from "../domain/errors.js";
import { Registry } from "../domain/registry/registry.js";
import { WatchHub } from "../domain/watch/hub.js";
import { type Clock, systemClock } from "../domain/watch/clock.js";
import type { HealthAdapter } from "../transport/grpc/health.js";
import { createGrpcServer, credentialsOf } from "../transport/grpc/server.js";
import { Admission } from "../transport/grpc/admission.js";
import { type HttpServer, startHttpServer } from "../transport/http/server.js";
import { CertificateSource } from "../transport/tls.js";
import { connectionCounts } from "../transport/grpc/channelz.js";
import { CountingClock, type ServerStats } from "./stats.js";

export interface RunningServer {
  /** The gRPC address actually bound, HOST:PORT. */
  readonly address: string;
  /** The HTTP (MI JSON-RPC) address, when `http` is configured. */
  readonly httpAddress: string | undefined;
  readonly registry: Registry;
  readonly hub: WatchHub;
  readonly health: HealthAdapter;
  /**
   * Graceful stop: core goes to -2, watchers receive it, new calls get
   * UNAVAILABLE, streams end; forced after the grace period.
   */
  stop(): Promise<void>;
  /** Ends everything at once. */
  forceStop(): void;
  /**
   * Applies `next`'s `auth` and `tls` and re-reads the certificate files now
   * (SIGHUP). Throws, keeping the current settings, when they are refused.
   */
  reload(next: ServerConfig): void;
  /**
   * What the server holds open now, by its own counts: gRPC connections,
   * streams and calls (grpc-js channelz), watchers, hub timers, registry
   * listeners. Read-only; all connection counts are 0 once stopped.
   */
  stats(): ServerStats;
}

function bind(server: Server, address: string, tls: CertificateSource | undefined): Promise<number> {
  return new Promise((resolve, reject) => {
    server.bindAsync(address, credentialsOf(tls), (error, port) => (error ? reject(error) : resolve(port)));
  });
}

function declareGroups(registry: Registry, config: ServerConfig): void {
  config.groups.forEach((group, i) => {
    try {
      registry.registerGroup({ group: group.name, status: group.status, details: group.details, reportCapacity: group.reportCapacity });
      group.identifiers.forEach((identifier) => {
        registry.registerIdentifier({
          group: group.name,
          identifier: identifier.name,
          status: identifier.status,
          details: identifier.details,
          reportCapacity: identifier.reportCapacity,
        });
      });
    } catch (error) {
      if (error instanceof SrError) throw new ConfigError(`groups[${i}] (${group.name}): ${error.message}`);
      throw error;
    }
  });
}

/** What the server runs on besides its configuration: tests inject a fake monotonic clock (lease deadlines, watch progress). */
export interface StartOptions {
  clock?: Clock;
}

/** Wires the registry, the watch hub and the gRPC adapters, and starts listening. */
export async function startServer(config: ServerConfig, log: (line: string) => void = console.log, options: StartOptions = {}): Promise<RunningServer> {
  // Refused before anything is built: an open server beyond loopback, a certificate that does not validate.
  checkAuth(config);
  const tls = config.tls ? new CertificateSource(config.tls, log) : undefined;
  const clock = options.clock ?? systemClock;
  const registry = new Registry(config.limits, Date.now, { clock, leases: config.leases });
  const hubClock = new CountingClock(clock);
  const hub = new WatchHub(registry, config.watch, hubClock);
  createCore(registry);
  coreInitializing(registry);
  declareGroups(registry, config);

  const gate = new Admission(policyOf(config));
  const { server, health } = createGrpcServer(registry, hub, gate, {
    maxReceiveMessageBytes: config.limits.maxReceiveMessageBytes,
    listener: config.listener,
  });
  const port = await bind(server, config.listen, tls).catch((error: unknown) => {
    tls?.close();
    throw error;
  });
  const address = `${splitListen(config.listen)?.host}:${port}`;
  log(`sr: gRPC listening on ${address}`);
  let http: HttpServer | undefined;
  if (config.http) {
    try {
      http = await startHttpServer(registry, config.http, { maxAnswerBytes: config.mi.maxAnswerBytes, tls, access: httpAccessOf(config) });
    } catch (error) {
      tls?.close();
      server.forceShutdown();
      throw error;
    }
    log(`sr: HTTP listening on ${http.address}`);
  }
  // Every listener is up.
  coreRunning(registry);

  let stopping: Promise<void> | undefined;
  const forceStop = () => {
    tls?.close();
    void http?.close();
    gate.stop();
    hub.close();
    registry.close();
    server.forceShutdown();
  };
  const stop = () => {
    stopping ??= new Promise<void>((resolve) => {
      coreShuttingDown(registry);
      const httpClosed = http?.close() ?? Promise.resolve();
      gate.stop();
      hub.drainAll(); // health watches too: each gets its final value, then ends
      const timer = setTimeout(() => {
        log("sr: grace period over, closing the remaining streams");
        forceStop();
        resolve();
      }, config.limits.gracePeriodMs);
      server.tryShutdown(() => {
        clearTimeout(timer);
        hub.close();
        registry.close();
        tls?.close();
        void httpClosed.then(() => resolve());
      });
    });
    return stopping;
  };
  const stats = (): ServerStats => ({
    ...connectionCounts(server),
    watchers: hub.watcherCount,
    hubTimers: hubClock.timers,
    registryListeners: registry.listenerCount,
  });
  let running = { config, gate, tls, http };
  const reload = (next: ServerConfig) => {
    running = { ...running, config: reloadAuth(running, next) };
  };
  return { address, httpAddress: http?.address, registry, hub, health, stop, forceStop, stats, reload };
}
