import {
  Server,
  ServerCredentials,
  experimental,
  type ServerWritableStream,
  type UntypedServiceImplementation,
} from "@grpc/grpc-js";
import type { Registry, RegistryWrites } from "../../domain/registry/registry.js";
import type { WatchHub } from "../../domain/watch/hub.js";
import { HealthAdapter, healthDefinition } from "./health.js";
import { addReflection } from "./reflection.js";
import { type Admission, peerCertificates } from "./admission.js";
import type { CertificateSource } from "../tls.js";
import { statusReportDefinition, statusReportService } from "./service.js";
import { toGrpcError } from "./errors.js";
import { DEFAULT_LISTENER_LIMITS, type ListenerLimits, listenerOptions } from "./listener.js";
import { RpcStats } from "./metrics.js";

export interface GrpcServerOptions {
  maxReceiveMessageBytes: number;
  /** Connection limits; grpc-js's defaults are no production settings, so ours apply when none are given. */
  listener?: ListenerLimits | undefined;
  /**
   * Counts every call (grpc_server_* metrics) and tells the calls that end
   * with an error; without one the server keeps its own, which writes the
   * causes of INTERNAL answers to console.error.
   */
  stats?: RpcStats | undefined;
  /** Where writes go: the registry (default), or a replica's replicated writer (etcd mode). */
  writes?: RegistryWrites | undefined;
}

function consoleStats(): RpcStats {
  const stats = new RpcStats();
  stats.onEnd((end) => {
    if (end.cause !== undefined) console.error(`sr: internal error in ${end.path}:`, end.cause);
  });
  return stats;
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

/**
 * Plaintext, or TLS from `source`, which grpc-js asks again whenever the
 * certificate is rotated. With a client CA a client certificate signed by it
 * is required, and each call's is noted for the access policy.
 */
export function credentialsOf(source: CertificateSource | undefined): ServerCredentials {
  if (!source) return ServerCredentials.createInsecure();
  const mtls = source.requestsClientCertificates;
  // grpc-js names the first argument the CA provider, but it is the identity one (server-credentials.js).
  const credentials = experimental.createCertificateProviderServerCredentials(source, mtls ? source : null, mtls);
  return mtls ? experimental.createServerCredentialsWithInterceptors(credentials, [peerCertificates]) : credentials;
}

/** The grpc-js server with StatusReportService, grpc.health.v1 and reflection. */
export function createGrpcServer(registry: Registry, hub: WatchHub, gate: Admission, options: GrpcServerOptions) {
  const stats = options.stats ?? consoleStats();
  const server = new Server({
    "grpc.max_receive_message_length": options.maxReceiveMessageBytes,
    ...listenerOptions(options.listener ?? DEFAULT_LISTENER_LIMITS),
    interceptors: [stats.interceptor],
  });
  server.addService(statusReportDefinition, statusReportService(registry, hub, gate, options.writes));
  const health = new HealthAdapter(registry, hub, gate);
  server.addService(healthDefinition, health.implementation());
  addReflection(server, (impl) => gated(gate, impl));
  return { server, health, stats };
}
