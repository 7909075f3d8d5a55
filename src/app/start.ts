import { Server } from "@grpc/grpc-js";
import { splitListen } from "../transport/listen.js";
import { ConfigError, type ServerConfig } from "./config.js";
import { checkAuth, httpAccessOf, policyOf, reloadAuth } from "./auth.js";
import { coreInitializing, coreRunning, coreShuttingDown, coreStorageBack, coreStorageLost, createCore } from "../domain/core.js";
import { ReplicatedWrites } from "../domain/replication/writer.js";
import type { EngineEvent } from "../domain/replication/log.js";
import { SrError } from "../domain/errors.js";
import { Registry, type RegistryWrites } from "../domain/registry/registry.js";
import { WatchHub } from "../domain/watch/hub.js";
import { type Clock, systemClock } from "../domain/watch/clock.js";
import type { HealthAdapter } from "../transport/grpc/health.js";
import { createGrpcServer, credentialsOf } from "../transport/grpc/server.js";
import { Admission } from "../transport/grpc/admission.js";
import { type HttpServer, startHttpServer } from "../transport/http/server.js";
import { CertificateSource } from "../transport/tls.js";
import { connectionCounts } from "../transport/grpc/channelz.js";
import { CountingClock, type ServerStats } from "./stats.js";
import { openStorage } from "../storage/open.js";
import { RpcStats } from "../transport/grpc/metrics.js";
import { type Logs, httpEventsOf, logCalls, logChanges, silentLogs } from "./logging.js";
import { Metrics } from "./metrics.js";

export interface RunningServer {
  /** The gRPC address actually bound, HOST:PORT. */
  readonly address: string;
  /** The HTTP (MI JSON-RPC) address, when `http` is configured. */
  readonly httpAddress: string | undefined;
  readonly registry: Registry;
  /** Where writes go: the registry, or in etcd mode the replicated writer (answers once committed and applied here). */
  readonly writes: RegistryWrites;
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

async function declareGroups(writes: RegistryWrites, config: ServerConfig): Promise<void> {
  for (const [i, group] of config.groups.entries()) {
    try {
      await writes.registerGroup({ group: group.name, status: group.status, details: group.details, reportCapacity: group.reportCapacity }, CONFIG);
      for (const identifier of group.identifiers) {
        await writes.registerIdentifier({
          group: group.name,
          identifier: identifier.name,
          status: identifier.status,
          details: identifier.details,
          reportCapacity: identifier.reportCapacity,
        }, CONFIG);
      }
    } catch (error) {
      if (error instanceof SrError && error.reason !== "STORAGE_UNAVAILABLE") throw new ConfigError(`groups[${i}] (${group.name}): ${error.message}`);
      throw error;
    }
  }
}

/** What the server runs on besides its configuration: tests inject a fake monotonic clock (lease deadlines, watch progress). */
export interface StartOptions {
  clock?: Clock;
  /**
   * The structured logs (logging.ts): the process passes its own; without
   * them the server logs nothing (in-process servers of the tests), and its
   * plain lines go to the `log` sink as ever.
   */
  logs?: Logs;
  /**
   * Told when the storage cannot go on (an etcd replica that lost its place in
   * the cluster's log): the server has been stopped; the process exits.
   */
  onFatal?: (cause: string) => void;
}

/** The groups of the configuration are written by the server, named "config" in the logs. */
const CONFIG = { by: "config" };

/** A bind refused because the address is taken (Node's `listen` error). */
const isAddressInUse = (error: unknown) => (error as NodeJS.ErrnoException | undefined)?.code === "EADDRINUSE";

/** Wires the registry, the watch hub and the gRPC adapters, and starts listening. */
export async function startServer(config: ServerConfig, log: (line: string) => void = console.log, options: StartOptions = {}): Promise<RunningServer> {
  // Refused before anything is built: an open server beyond loopback, a certificate that does not validate.
  checkAuth(config);
  const tls = config.tls ? new CertificateSource(config.tls, log) : undefined;
  const clock = options.clock ?? systemClock;
  // The storage first (docs/storage.md): a durable registry is built from what it kept.
  const storage = await openStorage(config.storage, Math.max(config.watch.history, config.watch.budgetMessages)).catch((error: unknown) => {
    tls?.close();
    throw error;
  });
  const replication = storage.replication;
  let registry: Registry;
  try {
    registry = new Registry(config.limits, Date.now, { clock, leases: config.leases, storage, replicated: replication !== undefined });
  } catch (error) {
    storage.close();
    tls?.close();
    throw error;
  }
  const hubClock = new CountingClock(clock);
  const hub = new WatchHub(registry, config.watch, hubClock, replication);
  // etcd mode: writes are decided here, committed by the cluster and applied by every replica (docs/storage.md).
  const writes: RegistryWrites = replication ? new ReplicatedWrites(registry, replication) : registry;
  const { logger } = options.logs ?? silentLogs();
  // The engine's news, from the moment it is followed; until the server runs, only a fatal one is kept (it fails the start).
  let onEngine = (event: EngineEvent) => {
    if (event.kind === "fatal") startFatal ??= event.cause;
  };
  let startFatal: string | undefined;
  replication?.onEngine((event) => onEngine(event));
  // What a start that fails from here on closes: nothing opened stays (the data dir's lock above all).
  const release = () => {
    hub.close();
    registry.close();
    storage.close();
    tls?.close();
  };
  try {
    // Before core's first change: every change is logged, core's transitions too.
    logChanges(registry, logger);
    createCore(registry);
    coreInitializing(registry);
    await replication?.follow(registry);
    await declareGroups(writes, config);
    // The declared groups live in the registry now: the server keeps no copy of them (about 64 bytes an identifier).
    config = { ...config, groups: [] };
    if (startFatal) throw new Error(startFatal);
  } catch (error) {
    // A configured group the kept state or the limits refuse.
    release();
    throw error;
  }

  const gate = new Admission(policyOf(config));
  // Every call counted (grpc_server_* metrics), every refusal and failure logged.
  const rpc = new RpcStats();
  logCalls(rpc, logger);
  const { server, health } = createGrpcServer(registry, hub, gate, {
    maxReceiveMessageBytes: config.limits.maxReceiveMessageBytes,
    listener: config.listener,
    stats: rpc,
    writes,
  });
  const port = await bind(server, config.listen, tls).catch((error: unknown) => {
    release();
    throw error;
  });
  const address = `${splitListen(config.listen)?.host}:${port}`;
  log(`sr: gRPC listening on ${address}`);
  let http: HttpServer | undefined;
  if (config.http) {
    const metrics = new Metrics({ registry, hub, rpc, perIdentifier: config.metrics.perIdentifier });
    try {
      http = await startHttpServer(registry, config.http, {
        maxAnswerBytes: config.mi.maxAnswerBytes,
        tls,
        access: httpAccessOf(config),
        hub,
        metrics: () => metrics.scrape(),
        log: httpEventsOf(logger),
      });
    } catch (error) {
      // The process's own default (not asked for) may be taken: a warning, and the server goes on without HTTP (docs/operations.md).
      if (!(config.httpDefault && isAddressInUse(error))) {
        server.forceShutdown();
        release();
        throw error;
      }
      logger.warn(
        { http: config.http },
        `the default HTTP address ${config.http} is taken: going on without HTTP (no /metrics, /healthz, /readyz or MI); choose one with --http HOST:PORT, or turn it off with --no-http`,
      );
    }
    if (http) log(`sr: HTTP listening on ${http.address}`);
  }
  // Every listener is up; in etcd mode, the cluster too (core names a lost quorum, docs/storage.md).
  const lost = replication?.unavailable;
  if (lost) coreStorageLost(registry, lost);
  else coreRunning(registry);

  let stopping: Promise<void> | undefined;
  const forceStop = () => {
    tls?.close();
    void http?.close();
    gate.stop();
    hub.close();
    registry.close();
    storage.close();
    server.forceShutdown();
  };
  const stop = () => {
    stopping ??= new Promise<void>((resolve) => {
      try {
        coreShuttingDown(registry);
      } catch (error) {
        // A durable registry whose storage failed takes no more writes, core's included: stop all the same.
        if (!(error instanceof SrError && error.reason === "STORAGE_UNAVAILABLE")) throw error;
      }
      // HTTP stays up while gRPC drains: /readyz answers 503 meanwhile, /healthz 200.
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
        void (http?.close() ?? Promise.resolve()).then(() => {
          storage.close(); // after the last write MI over HTTP could make
          resolve();
        });
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
  onEngine = (event) => {
    if (stopping) return;
    if (event.kind === "lost") {
      logger.error({ cause: event.cause }, "the storage is unavailable: writes are refused and core is not ready until it returns");
      coreStorageLost(registry, event.cause);
    } else if (event.kind === "recovered") {
      logger.warn("the storage is available again: writes are taken and core is ready");
      coreStorageBack(registry);
    } else {
      logger.error({ cause: event.cause }, "the storage cannot go on: stopping");
      forceStop();
      options.onFatal?.(event.cause);
    }
  };
  if (startFatal) onEngine({ kind: "fatal", cause: startFatal });
  let running = { config, gate, tls, http };
  const reload = (next: ServerConfig) => {
    running = { ...running, config: reloadAuth(running, next) };
  };
  return { address, httpAddress: http?.address, registry, writes, hub, health, stop, forceStop, stats, reload };
}
