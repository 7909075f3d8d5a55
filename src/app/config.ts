import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { parse as parseYaml } from "yaml";
import type { CertificateConfig, Grant, Role, TokenConfig } from "../domain/access.js";
import { pathOf } from "../transport/http/access.js";
import { DEFAULT_LISTEN, type TlsConfig, splitListen } from "../transport/listen.js";
import { DEFAULT_LIMITS, type RegistryLimits } from "../domain/registry/registry.js";
import { MAX_REPORT_CAPACITY } from "../domain/registry/rules.js";
import { DEFAULT_WATCH_OPTIONS, type WatchOptions } from "../domain/watch/hub.js";
import { DEFAULT_LEASE_SETTINGS, type LeaseSettings } from "../domain/leases/rules.js";
import { MAX_TEXT_BYTES, utf8Length } from "../domain/names.js";
import { DEFAULT_LISTENER_LIMITS, type ListenerLimits } from "../transport/grpc/listener.js";
import { DEFAULT_MAX_ANSWER_BYTES } from "../transport/http/answer-budget.js";
import {
  ConfigError,
  type Obj,
  durationMs,
  integer,
  isObject,
  listOf,
  optionalDurationMs,
  section,
  text,
} from "./config-values.js";

export { DEFAULT_LISTEN } from "../transport/listen.js";

export interface IdentifierConfig {
  name: string;
  status?: number | undefined;
  details?: string | undefined;
  reportCapacity?: number | undefined;
}

export interface GroupConfig extends IdentifierConfig {
  identifiers: IdentifierConfig[];
}

/** Everything the server process is configured with (the README, Configuration). */
export interface ServerConfig {
  listen: string;
  /** HOST:PORT of the HTTP listener (OpenSIPS MI JSON-RPC); none when unset. */
  http?: string | undefined;
  limits: RegistryLimits & { maxReceiveMessageBytes: number; gracePeriodMs: number };
  /** The gRPC listener's connection limits (YAML: under `limits`, like the watcher limits). */
  listener: ListenerLimits;
  /** The bound on one MI answer over HTTP (YAML: `limits.max_answer_bytes`, docs/mi.md). */
  mi: { maxAnswerBytes: number };
  watch: WatchOptions;
  /** What a lease running out writes (`leases`). */
  leases: LeaseSettings;
  groups: GroupConfig[];
  tokens: TokenConfig[];
  /** Client certificates mapped to roles (`auth.certificates`); verified against `tls.clientCa`. */
  certificates: CertificateConfig[];
  /** HTTP paths left open on purpose while tokens are configured (`auth.open_http`). */
  openHttp: string[];
  /** With no token and no client CA, listen beyond loopback anyway (`--allow-open`, `auth.open`). */
  allowOpen: boolean;
  tls?: TlsConfig | undefined;
  /**
   * True when `http` is the process's own default (127.0.0.1:8080), not asked for:
   * a taken port is then a warning and the server goes on without HTTP.
   */
  httpDefault: boolean;
  /** `log`: pino's level, and the format (undefined: pretty on a terminal, JSON when piped). */
  log: { level: LogLevel; format: LogFormat | undefined };
  /** `metrics.per_identifier`: build sr_status/sr_ready/sr_reports_total per identifier at scrape. */
  metrics: { perIdentifier: boolean };
  /** `storage`: in memory when both are unset; `dataDir` (SQLite) and `etcd` exclude each other. */
  storage: StorageConfig;
}

export type LogLevel = "fatal" | "error" | "warn" | "info" | "debug" | "trace" | "silent";
export type LogFormat = "json" | "pretty";

/** `storage.etcd` (or `--etcd URL[,URL...]`): the cluster, the key prefix, TLS and credentials. */
export interface EtcdConfig {
  endpoints: string[];
  prefix: string;
  tls?: { ca?: string | undefined; cert?: string | undefined; key?: string | undefined } | undefined;
  username?: string | undefined;
  password?: string | undefined;
}

export interface StorageConfig {
  dataDir?: string | undefined;
  etcd?: EtcdConfig | undefined;
}

/** The HTTP listener's address when the process is not told otherwise (SPEC section 6). */
export const DEFAULT_HTTP = "127.0.0.1:8080";

export function defaultConfig(): ServerConfig {
  return {
    listen: DEFAULT_LISTEN,
    limits: { ...DEFAULT_LIMITS, maxReceiveMessageBytes: 4 * 1024 * 1024, gracePeriodMs: 10_000 },
    listener: { ...DEFAULT_LISTENER_LIMITS },
    mi: { maxAnswerBytes: DEFAULT_MAX_ANSWER_BYTES },
    watch: { ...DEFAULT_WATCH_OPTIONS },
    leases: { ...DEFAULT_LEASE_SETTINGS },
    groups: [],
    tokens: [],
    certificates: [],
    openHttp: [],
    allowOpen: false,
    httpDefault: false,
    log: { level: "info", format: undefined },
    metrics: { perIdentifier: true },
    storage: {},
  };
}



export { ConfigError, durationMs } from "./config-values.js";

export function checkListen(value: string, source: string): string {
  if (!splitListen(value)) {
    throw new ConfigError(`${source}: must be HOST:PORT with a port from 0 to 65535, e.g. 127.0.0.1:50051 (got '${value}')`);
  }
  return value;
}

function identifierOf(value: unknown, path: string, extra: readonly string[] = []): IdentifierConfig {
  const o = section(value, path, ["name", "status", "details", "report_capacity", ...extra]);
  return {
    name: text(o.name, `${path}.name`),
    status: o.status === undefined ? undefined : integer(o.status, `${path}.status`, -2147483648, 2147483647),
    details: o.details === undefined ? undefined : text(o.details, `${path}.details`),
    reportCapacity: o.report_capacity === undefined ? undefined : integer(o.report_capacity, `${path}.report_capacity`, 0, MAX_REPORT_CAPACITY),
  };
}

/** One tunable of docs/model.md, Limits: its key, the other names it is known by, and how it applies. */
interface Setting {
  key: string;
  aliases: string[];
  apply(config: ServerConfig, value: unknown, path: string): void;
}

/** What an expired lease writes: a status like any other (never 0) and details of at most 2048 bytes. */
const LEASE_SETTINGS: Setting[] = [
  {
    key: "expired_status",
    aliases: [],
    apply: (c, v, p) => {
      c.leases.expiredStatus = integer(v, p, -2147483648, 2147483647);
      if (v === 0) throw new ConfigError(`${p}: must not be 0 (> 0 is ready, < 0 is not ready)`);
    },
  },
  {
    key: "expired_details",
    aliases: [],
    apply: (c, v, p) => {
      c.leases.expiredDetails = text(v, p);
      if (utf8Length(c.leases.expiredDetails) > MAX_TEXT_BYTES) throw new ConfigError(`${p}: must be at most ${MAX_TEXT_BYTES} bytes of UTF-8`);
    },
  },
];

const WATCH_SETTINGS: Setting[] = [
  { key: "history", aliases: ["history_size"], apply: (c, v, p) => (c.watch.history = integer(v, p, 0)) },
  { key: "progress_interval", aliases: ["progress"], apply: (c, v, p) => (c.watch.progressIntervalMs = durationMs(v, p)) },
  { key: "budget_messages", aliases: ["watcher_budget_messages"], apply: (c, v, p) => (c.watch.budgetMessages = integer(v, p, 1)) },
  { key: "budget_bytes", aliases: ["watcher_budget_bytes"], apply: (c, v, p) => (c.watch.budgetBytes = integer(v, p, 1024)) },
];

/**
 * `limits` takes the names of docs/model.md (Limits). The watch tunables are listed
 * there too, so they are accepted here as well as under `watch`.
 */
const LIMIT_SETTINGS: Setting[] = [
  { key: "max_groups", aliases: ["groups"], apply: (c, v, p) => (c.limits.maxGroups = integer(v, p, 1)) },
  {
    key: "max_identifiers_per_group",
    aliases: ["identifiers_per_group"],
    apply: (c, v, p) => (c.limits.maxIdentifiersPerGroup = integer(v, p, 1)),
  },
  { key: "max_identifiers", aliases: ["identifiers"], apply: (c, v, p) => (c.limits.maxIdentifiers = integer(v, p, 1)) },
  {
    key: "max_watchers_per_connection",
    aliases: ["watchers_per_connection", "max_watch_streams_per_connection", "watch_streams_per_connection"],
    apply: (c, v, p) => (c.watch.maxWatchersPerConnection = integer(v, p, 1)),
  },
  {
    key: "max_watchers",
    aliases: ["watchers", "max_watch_streams", "watch_streams"],
    apply: (c, v, p) => (c.watch.maxWatchers = integer(v, p, 1)),
  },
  {
    key: "max_receive_message_bytes",
    aliases: ["max_message_bytes", "max_receive_message_size", "message_bytes"],
    apply: (c, v, p) => (c.limits.maxReceiveMessageBytes = integer(v, p, 1024)),
  },
  { key: "grace_period", aliases: ["graceful_stop", "shutdown_grace_period"], apply: (c, v, p) => (c.limits.gracePeriodMs = durationMs(v, p)) },
  {
    key: "max_concurrent_streams",
    aliases: ["concurrent_streams", "max_streams_per_connection"],
    apply: (c, v, p) => (c.listener.maxConcurrentStreams = integer(v, p, 1, 2 ** 31 - 1)),
  },
  { key: "keepalive_time", aliases: ["keepalive_interval"], apply: (c, v, p) => (c.listener.keepaliveTimeMs = durationMs(v, p)) },
  { key: "keepalive_timeout", aliases: [], apply: (c, v, p) => (c.listener.keepaliveTimeoutMs = durationMs(v, p)) },
  { key: "max_connection_idle", aliases: ["connection_idle"], apply: (c, v, p) => (c.listener.maxConnectionIdleMs = optionalDurationMs(v, p)) },
  { key: "max_connection_age", aliases: ["connection_age"], apply: (c, v, p) => (c.listener.maxConnectionAgeMs = optionalDurationMs(v, p)) },
  {
    key: "max_connection_age_grace",
    aliases: ["connection_age_grace"],
    apply: (c, v, p) => (c.listener.maxConnectionAgeGraceMs = durationMs(v, p)),
  },
  { key: "max_answer_bytes", aliases: ["answer_bytes"], apply: (c, v, p) => (c.mi.maxAnswerBytes = integer(v, p, 1024)) },
  ...WATCH_SETTINGS,
];

function applySettings(config: ServerConfig, value: unknown, path: string, settings: Setting[]): void {
  if (!isObject(value)) throw new ConfigError(`${path}: must be a mapping`);
  for (const [key, v] of Object.entries(value)) {
    const setting = settings.find((s) => s.key === key || s.aliases.includes(key));
    if (!setting) throw new ConfigError(`${path}.${key}: unknown key (known: ${settings.map((s) => s.key).join(", ")})`);
    setting.apply(config, v, `${path}.${key}`);
  }
}

/** A connection's stream limit at or below its watcher limit would queue watches instead of refusing them. */
function checkStreamsAboveWatchers(config: ServerConfig): void {
  const { maxConcurrentStreams } = config.listener;
  const watchers = config.watch.maxWatchersPerConnection;
  if (maxConcurrentStreams <= watchers) {
    throw new ConfigError(
      `limits.max_concurrent_streams: ${maxConcurrentStreams} must be above limits.max_watchers_per_connection (${watchers}), so the watcher limit answers first`,
    );
  }
}

const ROLES: readonly Role[] = ["read", "write", "admin"];

/** Applies a parsed YAML document onto `config`. */
export function applyYaml(config: ServerConfig, doc: unknown): ServerConfig {
  if (doc === null || doc === undefined) return config;
  const root = section(doc, "config", ["listen", "http", "limits", "watch", "leases", "groups", "auth", "tls"]);
  if (root.listen !== undefined) config.listen = checkListen(text(root.listen, "listen"), "listen");
  if (root.http !== undefined) config.http = checkListen(text(root.http, "http"), "http");
  if (root.limits !== undefined) applySettings(config, root.limits, "limits", LIMIT_SETTINGS);
  checkStreamsAboveWatchers(config);
  if (root.watch !== undefined) applySettings(config, root.watch, "watch", WATCH_SETTINGS);
  if (root.leases !== undefined) applySettings(config, root.leases, "leases", LEASE_SETTINGS);
  if (root.groups !== undefined) {
    if (!Array.isArray(root.groups)) throw new ConfigError("groups: must be a list");
    config.groups = root.groups.map((g, i) => {
      const path = `groups[${i}]`;
      const group = identifierOf(g, path, ["identifiers"]);
      const ids = (g as Obj).identifiers;
      if (ids !== undefined && !Array.isArray(ids)) throw new ConfigError(`${path}.identifiers: must be a list`);
      return { ...group, identifiers: (ids ?? []).map((id: unknown, j: number) => identifierOf(id, `${path}.identifiers[${j}]`)) };
    });
  }
  if (root.auth !== undefined) applyAuth(config, root.auth);
  if (root.tls !== undefined) {
    const t = section(root.tls, "tls", ["cert", "key", "client_ca", "reload_interval"]);
    config.tls = {
      cert: text(t.cert, "tls.cert"),
      key: text(t.key, "tls.key"),
      clientCa: t.client_ca === undefined ? undefined : text(t.client_ca, "tls.client_ca"),
      reloadIntervalMs: t.reload_interval === undefined ? undefined : durationMs(t.reload_interval, "tls.reload_interval"),
    };
  }
  return config;
}

/** A role and its groups: a write grant's groups are never `[]` (that would allow nothing; omit them for every public group). */
function grantOf(o: Obj, path: string): Grant {
  const role = text(o.role, `${path}.role`) as Role;
  if (!ROLES.includes(role)) throw new ConfigError(`${path}.role: must be one of ${ROLES.join(", ")}`);
  if (o.groups === undefined) return { role, groups: undefined };
  if (!Array.isArray(o.groups)) throw new ConfigError(`${path}.groups: must be a list of group names`);
  if (role !== "write") throw new ConfigError(`${path}.groups: only role write is limited to groups (role ${role} applies everywhere)`);
  if (o.groups.length === 0) throw new ConfigError(`${path}.groups: an empty list would allow no group; omit groups for every public group`);
  return { role, groups: o.groups.map((g, j) => text(g, `${path}.groups[${j}]`)) };
}

function applyAuth(config: ServerConfig, value: unknown): void {
  const a = section(value, "auth", ["open", "tokens", "certificates", "open_http"]);
  if (a.tokens === undefined && a.certificates === undefined && a.open === undefined) {
    throw new ConfigError("auth: must hold tokens, certificates or open (omit auth to leave the server open on loopback only)");
  }
  if (a.open !== undefined && typeof a.open !== "boolean") throw new ConfigError("auth.open: must be true or false");
  config.allowOpen = a.open === true;
  config.tokens = listOf(a.tokens ?? [], "auth.tokens").map((t, i) => {
    const path = `auth.tokens[${i}]`;
    const o = section(t, path, ["name", "sha256", "role", "groups"]);
    const sha256 = text(o.sha256, `${path}.sha256`);
    if (!/^[0-9a-fA-F]{64}$/.test(sha256)) throw new ConfigError(`${path}.sha256: must be 64 hex digits (sha256sum of the token)`);
    return { name: text(o.name, `${path}.name`), sha256, ...grantOf(o, path) };
  });
  config.certificates = listOf(a.certificates ?? [], "auth.certificates").map((c, i) => {
    const path = `auth.certificates[${i}]`;
    const o = section(c, path, ["subject", "san", "role", "groups"]);
    if ((o.subject === undefined) === (o.san === undefined)) throw new ConfigError(`${path}: must have either subject (a CN) or san (a DNS or URI name)`);
    const name = o.subject === undefined ? { san: text(o.san, `${path}.san`) } : { subject: text(o.subject, `${path}.subject`) };
    return { ...name, ...grantOf(o, path) };
  });
  config.openHttp = listOf(a.open_http ?? [], "auth.open_http").map((p, i) => {
    const path = text(p, `auth.open_http[${i}]`);
    if (!path.startsWith("/") || path.includes("?")) throw new ConfigError(`auth.open_http[${i}]: must be a path such as /metrics (got '${path}')`);
    return pathOf(path);
  });
}

export const USAGE = `Usage: sr [--listen HOST:PORT] [--http HOST:PORT] [--config FILE] [--tls-cert FILE --tls-key FILE [--tls-client-ca FILE]] [--allow-open]

Runs the Status/Report gRPC server with its embedded in-memory registry.

  --listen HOST:PORT  gRPC address (default ${DEFAULT_LISTEN}; env SR_LISTEN; port 0 picks a free port)
  --http HOST:PORT    also serve the OpenSIPS MI JSON-RPC over HTTP at /mi (env SR_HTTP; off by default)
  --config FILE       YAML configuration (keys: listen, http, limits, watch, leases, groups, auth, tls); flags override it
  --tls-cert FILE     serve TLS (gRPC and HTTP) with this PEM certificate chain (YAML tls.cert; re-read when it changes)
  --tls-key FILE      its private key (YAML tls.key)
  --tls-client-ca FILE  require client certificates signed by this CA (YAML tls.client_ca)
  --allow-open        with no token and no client CA, listen beyond loopback anyway (YAML auth.open: true)
  --help              show this help
`;

/** Flags override SR_LISTEN, which overrides the config file, which overrides the defaults. */
const OPTIONS = {
  listen: { type: "string" },
  http: { type: "string" },
  config: { type: "string" },
  "tls-cert": { type: "string" },
  "tls-key": { type: "string" },
  "tls-client-ca": { type: "string" },
  "allow-open": { type: "boolean" },
  help: { type: "boolean" },
} as const;

/** The --tls-* flags over the file's `tls`: each flag replaces its key. */
function tlsOf(config: ServerConfig, flags: { "tls-cert"?: string; "tls-key"?: string; "tls-client-ca"?: string }): TlsConfig | undefined {
  const cert = flags["tls-cert"] ?? config.tls?.cert;
  const key = flags["tls-key"] ?? config.tls?.key;
  const clientCa = flags["tls-client-ca"] ?? config.tls?.clientCa;
  if (cert === undefined && key === undefined && clientCa === undefined) return undefined;
  if (cert === undefined || key === undefined) throw new ConfigError("--tls-cert and --tls-key: TLS needs both a certificate and its key");
  return { ...config.tls, cert, key, clientCa };
}

export function loadConfig(argv: string[], env: NodeJS.ProcessEnv): ServerConfig | "help" {
  let parsed: ReturnType<typeof parseArgs<{ options: typeof OPTIONS }>>;
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, strict: true });
  } catch (error) {
    throw new ConfigError((error as Error).message);
  }
  if (parsed.values.help) return "help";
  const config = defaultConfig();
  if (parsed.values.config !== undefined) {
    let source: string;
    try {
      source = readFileSync(parsed.values.config, "utf8");
    } catch (error) {
      throw new ConfigError(`--config: cannot read ${parsed.values.config}: ${(error as Error).message}`);
    }
    let doc: unknown;
    try {
      doc = parseYaml(source);
    } catch (error) {
      throw new ConfigError(`--config: ${parsed.values.config} is not valid YAML: ${(error as Error).message}`);
    }
    applyYaml(config, doc);
  }
  // SR_LISTEN stands for --listen: it overrides the file, and the flag overrides both.
  if (env.SR_LISTEN) config.listen = checkListen(env.SR_LISTEN, "SR_LISTEN");
  if (parsed.values.listen !== undefined) config.listen = checkListen(parsed.values.listen, "--listen");
  if (env.SR_HTTP) config.http = checkListen(env.SR_HTTP, "SR_HTTP");
  if (parsed.values.http !== undefined) config.http = checkListen(parsed.values.http, "--http");
  config.tls = tlsOf(config, parsed.values);
  if (parsed.values["allow-open"]) config.allowOpen = true;
  return config;
}
