import { readFileSync } from "node:fs";
import {
  Server,
  ServerCredentials,
  type ServerWritableStream,
  type UntypedServiceImplementation,
} from "@grpc/grpc-js";
import type { TlsConfig } from "../listen.js";
import type { Registry } from "../../domain/registry/registry.js";
import type { WatchHub } from "../../domain/watch/hub.js";
import { HealthAdapter, healthDefinition } from "./health.js";
import { addReflection } from "./reflection.js";
import type { Admission } from "./admission.js";
import { statusReportDefinition, statusReportService } from "./service.js";
import { toGrpcError } from "./errors.js";

export interface GrpcServerOptions {
  maxReceiveMessageBytes: number;
  tls?: TlsConfig | undefined;
}

/** Passes every call of a wrapped service through the gate, open (no token) like health. */
function gated(gate: Admission, impl: UntypedServiceImplementation): UntypedServiceImplementation {
  const out: UntypedServiceImplementation = {};
  for (const [name, handler] of Object.entries(impl)) {
    out[name] = ((call: ServerWritableStream<unknown, unknown>, callback?: (e: unknown) => void) => {
      try {
        gate.admit(call.metadata, { open: true });
      } catch (error) {
        if (callback) callback(toGrpcError(error));
        else call.emit("error", toGrpcError(error));
        return;
      }
      (handler as (...args: unknown[]) => void)(call, callback);
    }) as never;
  }
  return out;
}

export function credentialsOf(tls: TlsConfig | undefined): ServerCredentials {
  if (!tls) return ServerCredentials.createInsecure();
  return ServerCredentials.createSsl(
    tls.clientCa ? readFileSync(tls.clientCa) : null,
    [{ private_key: readFileSync(tls.key), cert_chain: readFileSync(tls.cert) }],
    tls.clientCa !== undefined,
  );
}

/** The grpc-js server with StatusReportService, grpc.health.v1 and reflection. */
export function createGrpcServer(registry: Registry, hub: WatchHub, gate: Admission, options: GrpcServerOptions) {
  const server = new Server({
    "grpc.max_receive_message_length": options.maxReceiveMessageBytes,
    // Ping idle connections so a vanished watcher (no FIN, no RST) is noticed
    // and its watch freed within a minute and a half.
    "grpc.keepalive_time_ms": 60_000,
    "grpc.keepalive_timeout_ms": 20_000,
  });
  server.addService(statusReportDefinition, statusReportService(registry, hub, gate));
  const health = new HealthAdapter(registry, hub, gate);
  server.addService(healthDefinition, health.implementation());
  addReflection(server, (impl) => gated(gate, impl));
  return { server, health };
}
