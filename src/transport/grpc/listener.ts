/**
 * The gRPC listener's connection limits (README, Configuration: `limits`) and
 * the grpc-js options they become. Idle and age limits are what grpc-node
 * recommends against connections a probe loop leaves behind (grpc-node#2975).
 */
import type { ServerOptions } from "@grpc/grpc-js";

export interface ListenerLimits {
  /** HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS: streams one connection may hold open. */
  maxConcurrentStreams: number;
  /** How long a connection may be silent before the server pings it. */
  keepaliveTimeMs: number;
  /** How long the server waits for a ping's answer before dropping the connection. */
  keepaliveTimeoutMs: number;
  /** A connection without an open stream (call or watch) this long is closed; undefined: never. */
  maxConnectionIdleMs: number | undefined;
  /** A connection this old (±10%) is told to go away; undefined: never. */
  maxConnectionAgeMs: number | undefined;
  /** After that, how long its open streams (watches) may go on before they are cut. */
  maxConnectionAgeGraceMs: number;
}

export const DEFAULT_LISTENER_LIMITS: ListenerLimits = {
  // Above the 1,000 watchers per connection, so the watcher limit answers (RESOURCE_EXHAUSTED) first.
  maxConcurrentStreams: 4_096,
  // A vanished peer (no FIN, no RST) is noticed within 80 s and its watches freed.
  keepaliveTimeMs: 60_000,
  keepaliveTimeoutMs: 20_000,
  maxConnectionIdleMs: 5 * 60_000,
  maxConnectionAgeMs: undefined,
  maxConnectionAgeGraceMs: 10_000,
};

/** The grpc-js server options carrying `limits`; a limit left undefined keeps grpc-js's "never". */
export function listenerOptions(limits: ListenerLimits): ServerOptions {
  return {
    "grpc.max_concurrent_streams": limits.maxConcurrentStreams,
    "grpc.keepalive_time_ms": limits.keepaliveTimeMs,
    "grpc.keepalive_timeout_ms": limits.keepaliveTimeoutMs,
    ...(limits.maxConnectionIdleMs === undefined ? {} : { "grpc.max_connection_idle_ms": limits.maxConnectionIdleMs }),
    ...(limits.maxConnectionAgeMs === undefined
      ? {}
      : { "grpc.max_connection_age_ms": limits.maxConnectionAgeMs, "grpc.max_connection_age_grace_ms": limits.maxConnectionAgeGraceMs }),
  };
}
