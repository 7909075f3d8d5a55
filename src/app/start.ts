import { Server } from "@grpc/grpc-js";
import { splitListen } from "../transport/listen.js";
import { ConfigError, type ServerConfig } from "./config.js";
import { AccessPolicy } from "../domain/access.js";
import { coreInitializing, coreRunning, coreShuttingDown, createCore } from "../domain/core.js";
import { SrError } from "../domain/errors.js";
import { Registry } from "../domain/registry/registry.js";
import { WatchHub } from "../domain/watch/hub.js";
import type { HealthAdapter } from "../transport/grpc/health.js";
import { createGrpcServer, credentialsOf } from "../transport/grpc/server.js";
import { Admission } from "../transport/grpc/admission.js";
import { type HttpServer, startHttpServer } from "../transport/http/server.js";

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
}

function bind(server: Server, address: string, config: ServerConfig): Promise<number> {
  return new Promise((resolve, reject) => {
    server.bindAsync(address, credentialsOf(config.tls), (error, port) => (error ? reject(error) : resolve(port)));
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

/** Wires the registry, the watch hub and the gRPC adapters, and starts listening. */
export async function startServer(config: ServerConfig, log: (line: string) => void = console.log): Promise<RunningServer> {
  const registry = new Registry(config.limits);
  const hub = new WatchHub(registry, config.watch);
  createCore(registry);
  coreInitializing(registry);
  declareGroups(registry, config);

  const gate = new Admission(new AccessPolicy(config.tokens));
  const { server, health } = createGrpcServer(registry, hub, gate, {
    maxReceiveMessageBytes: config.limits.maxReceiveMessageBytes,
    tls: config.tls,
  });
  const port = await bind(server, config.listen, config);
  const address = `${splitListen(config.listen)?.host}:${port}`;
  log(`sr: gRPC listening on ${address}${config.tls ? " (TLS)" : ""}`);
  let http: HttpServer | undefined;
  if (config.http) {
    try {
      http = await startHttpServer(registry, config.http);
    } catch (error) {
      server.forceShutdown();
      throw error;
    }
    log(`sr: HTTP listening on ${http.address} (OpenSIPS MI JSON-RPC at /mi)`);
  }
  // Every listener is up.
  coreRunning(registry);

  let stopping: Promise<void> | undefined;
  const forceStop = () => {
    void http?.close();
    gate.stop();
    hub.close();
    server.forceShutdown();
  };
  const stop = () => {
    stopping ??= new Promise<void>((resolve) => {
      coreShuttingDown(registry);
      const httpClosed = http?.close() ?? Promise.resolve();
      gate.stop();
      hub.drainAll();
      health.endAll();
      const timer = setTimeout(() => {
        log("sr: grace period over, closing the remaining streams");
        forceStop();
        resolve();
      }, config.limits.gracePeriodMs);
      server.tryShutdown(() => {
        clearTimeout(timer);
        hub.close();
        void httpClosed.then(() => resolve());
      });
    });
    return stopping;
  };
  return { address, httpAddress: http?.address, registry, hub, health, stop, forceStop };
}
