import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import type { CertificateConfig, TokenConfig } from "../domain/access.js";
import { DEFAULT_LISTEN, type TlsConfig } from "../transport/listen.js";
import { DEFAULT_LIMITS, type RegistryLimits } from "../domain/registry/registry.js";
import { DEFAULT_WATCH_OPTIONS, type WatchOptions } from "../domain/watch/hub.js";
import { DEFAULT_LEASE_SETTINGS, type LeaseSettings } from "../domain/leases/rules.js";
import { DEFAULT_LISTENER_LIMITS, type ListenerLimits } from "../transport/grpc/listener.js";
import { DEFAULT_MAX_ANSWER_BYTES } from "../transport/http/answer-budget.js";
import { type Applied, STORAGE_EXCLUSIVE, applyValue, applyYamlText } from "./config-schema.js";
import { ConfigError, etcdEndpoints, listenAddress, logFormat, logLevel, named, nonEmptyText } from "./config-values.js";

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
  /**
   * HOST:PORT of the HTTP listener (MI, metrics, the page, probes); none when unset. The process
   * (`loadConfig`) sets DEFAULT_HTTP unless told otherwise; `defaultConfig()` leaves it unset.
   */
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

/** The HTTP listener's address when the process is not told otherwise (README, Configuration). */
export const DEFAULT_HTTP = "127.0.0.1:8080";

/** `storage.etcd.prefix` when none is given: every key the registry writes starts with it. */
export const DEFAULT_ETCD_PREFIX = "/sr/";

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

/** `listen` (or `http`) checked where it came from: `--listen: must be HOST:PORT ...`. */
export function checkListen(value: string, source: string): string {
  return named(source, () => listenAddress(value));
}

/** Applies a parsed YAML document (or the same as plain data) onto `config`; errors name the key, without a line. */
export function applyYaml(config: ServerConfig, doc: unknown): ServerConfig {
  applyValue(config, doc);
  return config;
}

/** Applies YAML text onto `config`; errors name the key and its line (`limits.max_groups: line 3: ...`). */
export function applyYamlSource(config: ServerConfig, source: string, file = "the configuration"): ServerConfig {
  applyYamlText(config, source, file);
  return config;
}

export const USAGE = `Usage: sr [--listen HOST:PORT] [--http HOST:PORT | --no-http] [--config FILE] [--tls-cert FILE --tls-key FILE [--tls-client-ca FILE]]
          [--allow-open] [--log-level LEVEL] [--log-format json|pretty] [--data-dir DIR | --etcd URL[,URL...]]

Runs the Status/Report gRPC server, its registry in memory unless --data-dir or --etcd says otherwise.

  --listen HOST:PORT  gRPC address (default ${DEFAULT_LISTEN}; env SR_LISTEN; port 0 picks a free port)
  --http HOST:PORT    the HTTP listener: MI at /mi, /metrics, /healthz, /readyz, the page (default ${DEFAULT_HTTP}; env SR_HTTP;
                      port 0 picks a free port; a taken default port is only a warning)
  --no-http           no HTTP listener (YAML http: false)
  --config FILE       YAML configuration (keys: listen, http, limits, watch, leases, groups, auth, tls, log, metrics, storage);
                      flags override it; \`sr config check FILE\` validates it
  --tls-cert FILE     serve TLS (gRPC and HTTP) with this PEM certificate chain (YAML tls.cert; re-read when it changes)
  --tls-key FILE      its private key (YAML tls.key)
  --tls-client-ca FILE  require client certificates signed by this CA (YAML tls.client_ca)
  --allow-open        with no token and no client CA, listen beyond loopback anyway (YAML auth.open: true)
  --log-level LEVEL   fatal, error, warn, info, debug, trace or silent (default info; YAML log.level)
  --log-format FORMAT json or pretty (default pretty on a terminal, json when piped; YAML log.format)
  --data-dir DIR      keep the registry in SQLite in DIR (YAML storage.data_dir); not with --etcd
  --etcd URL[,URL...] share the registry with other replicas through etcd (YAML storage.etcd.endpoints)
  --etcd-prefix P     the prefix of the registry's keys in etcd (YAML storage.etcd.prefix; default /sr/)
  --help              show this help
`;

/** Flags override SR_LISTEN / SR_HTTP, which override the config file, which overrides the defaults. */
const OPTIONS = {
  listen: { type: "string" },
  http: { type: "string" },
  "no-http": { type: "boolean" },
  config: { type: "string" },
  "tls-cert": { type: "string" },
  "tls-key": { type: "string" },
  "tls-client-ca": { type: "string" },
  "allow-open": { type: "boolean" },
  "log-level": { type: "string" },
  "log-format": { type: "string" },
  "data-dir": { type: "string" },
  etcd: { type: "string" },
  "etcd-prefix": { type: "string" },
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

/** Where a file's key is, for a flag that conflicts with it: `storage.etcd (line 4 of sr.yaml)`. */
function fileKey(file: Applied | undefined, path: string[], name: string | undefined): string {
  const line = file?.lineOf(path);
  return `${path.join(".")} (${line === undefined ? "" : `line ${line} of `}${name})`;
}

/** --data-dir and --etcd over the file's `storage`: one storage mode, wherever each comes from. */
function storageOf(
  config: ServerConfig,
  flags: { "data-dir"?: string; etcd?: string; "etcd-prefix"?: string },
  file: Applied | undefined,
  name: string | undefined,
): void {
  const dataDir = flags["data-dir"];
  const etcd = flags.etcd;
  if (dataDir !== undefined && etcd !== undefined) throw new ConfigError(`--data-dir and --etcd: ${STORAGE_EXCLUSIVE}`);
  if (dataDir !== undefined) {
    if (config.storage.etcd) throw new ConfigError(`--data-dir: cannot be used with ${fileKey(file, ["storage", "etcd"], name)}: ${STORAGE_EXCLUSIVE}`);
    config.storage = { dataDir: named("--data-dir", () => nonEmptyText(dataDir)) };
  }
  if (etcd !== undefined) {
    if (config.storage.dataDir !== undefined) {
      throw new ConfigError(`--etcd: cannot be used with ${fileKey(file, ["storage", "data_dir"], name)}: ${STORAGE_EXCLUSIVE}`);
    }
    const endpoints = named("--etcd", () => etcdEndpoints(etcd));
    config.storage = { etcd: { prefix: DEFAULT_ETCD_PREFIX, ...config.storage.etcd, endpoints } };
  }
  const prefix = flags["etcd-prefix"];
  if (prefix !== undefined) {
    if (!config.storage.etcd) throw new ConfigError("--etcd-prefix: needs --etcd (or storage.etcd): it is the prefix of the registry's keys in etcd");
    config.storage.etcd.prefix = named("--etcd-prefix", () => nonEmptyText(prefix));
  }
}

/**
 * The server process's configuration: the defaults, the --config file, SR_LISTEN and SR_HTTP, then the
 * flags. Unlike `defaultConfig()`, HTTP is on (DEFAULT_HTTP, `httpDefault` true) unless the file, SR_HTTP
 * or --http name an address, or `http: false` / --no-http turn it off.
 */
export function loadConfig(argv: string[], env: NodeJS.ProcessEnv): ServerConfig | "help" {
  let parsed: ReturnType<typeof parseArgs<{ options: typeof OPTIONS }>>;
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, strict: true });
  } catch (error) {
    throw new ConfigError((error as Error).message);
  }
  const flags = parsed.values;
  if (flags.help) return "help";
  const config = defaultConfig();
  let file: Applied | undefined;
  if (flags.config !== undefined) {
    let source: string;
    try {
      source = readFileSync(flags.config, "utf8");
    } catch (error) {
      throw new ConfigError(`--config: cannot read ${flags.config}: ${(error as Error).message}`);
    }
    file = applyYamlText(config, source, flags.config);
  }
  // SR_LISTEN stands for --listen: it overrides the file, and the flag overrides both. SR_HTTP likewise.
  if (env.SR_LISTEN) config.listen = checkListen(env.SR_LISTEN, "SR_LISTEN");
  if (flags.listen !== undefined) config.listen = checkListen(flags.listen, "--listen");
  let http = file?.http;
  if (env.SR_HTTP) {
    config.http = checkListen(env.SR_HTTP, "SR_HTTP");
    http = "set";
  }
  if (flags.http !== undefined && flags["no-http"]) throw new ConfigError("--http and --no-http: give one (--no-http turns the HTTP listener off)");
  if (flags.http !== undefined) {
    config.http = checkListen(flags.http, "--http");
    http = "set";
  }
  if (flags["no-http"]) http = "off";
  if (http === "off") config.http = undefined;
  if (http === undefined) config.http = DEFAULT_HTTP;
  config.httpDefault = http === undefined;
  config.tls = tlsOf(config, flags);
  if (flags["allow-open"]) config.allowOpen = true;
  const level = flags["log-level"];
  if (level !== undefined) config.log.level = named("--log-level", () => logLevel(level));
  const format = flags["log-format"];
  if (format !== undefined) config.log.format = named("--log-format", () => logFormat(format));
  storageOf(config, flags, file, flags.config);
  return config;
}
