import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { parse as parseYaml } from "yaml";
import type { Role, TokenConfig } from "../domain/access.js";
import { type TlsConfig, splitListen } from "../transport/listen.js";
import { DEFAULT_LIMITS, type RegistryLimits } from "../domain/registry/registry.js";
import { DEFAULT_WATCH_OPTIONS, type WatchOptions } from "../domain/watch/hub.js";

export const DEFAULT_LISTEN = "127.0.0.1:50051";

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
  watch: WatchOptions;
  groups: GroupConfig[];
  tokens: TokenConfig[];
  tls?: TlsConfig | undefined;
}

export function defaultConfig(): ServerConfig {
  return {
    listen: DEFAULT_LISTEN,
    limits: { ...DEFAULT_LIMITS, maxReceiveMessageBytes: 4 * 1024 * 1024, gracePeriodMs: 10_000 },
    watch: { ...DEFAULT_WATCH_OPTIONS },
    groups: [],
    tokens: [],
  };
}

export type { TlsConfig } from "../transport/listen.js";

export class ConfigError extends Error {}

type Obj = Record<string, unknown>;

function isObject(value: unknown): value is Obj {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function section(value: unknown, path: string, keys: readonly string[]): Obj {
  if (!isObject(value)) throw new ConfigError(`${path}: must be a mapping`);
  for (const key of Object.keys(value)) {
    if (!keys.includes(key)) throw new ConfigError(`${path}.${key}: unknown key (known: ${keys.join(", ")})`);
  }
  return value;
}

function integer(value: unknown, path: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(`${path}: must be an integer between ${min} and ${max}`);
  }
  return value;
}

function text(value: unknown, path: string): string {
  if (typeof value !== "string") throw new ConfigError(`${path}: must be a string`);
  return value;
}

/** A duration: a number of seconds, or a string such as "30s", "500ms", "2m"; at least 1 ms. */
export function durationMs(value: unknown, path: string): number {
  let ms: number;
  const match = typeof value === "string" ? /^(\d+(?:\.\d+)?)(ms|s|m)$/.exec(value.trim()) : null;
  if (typeof value === "number" && Number.isFinite(value)) {
    ms = Math.round(value * 1000);
  } else if (match) {
    const n = Number(match[1]);
    ms = Math.round(match[2] === "ms" ? n : match[2] === "s" ? n * 1000 : n * 60_000);
  } else {
    throw new ConfigError(`${path}: must be a positive duration such as 30, "30s", "500ms" or "2m"`);
  }
  if (ms < 1) throw new ConfigError(`${path}: must be at least 1ms`);
  return ms;
}

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
    reportCapacity: o.report_capacity === undefined ? undefined : integer(o.report_capacity, `${path}.report_capacity`, 0, 32767),
  };
}

/** One tunable of docs/model.md, Limits: its key, the other names it is known by, and how it applies. */
interface Setting {
  key: string;
  aliases: string[];
  apply(config: ServerConfig, value: unknown, path: string): void;
}

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

const ROLES: readonly Role[] = ["read", "write", "admin"];

/** Applies a parsed YAML document onto `config`. */
export function applyYaml(config: ServerConfig, doc: unknown): ServerConfig {
  if (doc === null || doc === undefined) return config;
  const root = section(doc, "config", ["listen", "http", "limits", "watch", "groups", "auth", "tls"]);
  if (root.listen !== undefined) config.listen = checkListen(text(root.listen, "listen"), "listen");
  if (root.http !== undefined) config.http = checkListen(text(root.http, "http"), "http");
  if (root.limits !== undefined) applySettings(config, root.limits, "limits", LIMIT_SETTINGS);
  if (root.watch !== undefined) applySettings(config, root.watch, "watch", WATCH_SETTINGS);
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
  if (root.auth !== undefined) {
    const a = section(root.auth, "auth", ["tokens"]);
    if (!Array.isArray(a.tokens)) throw new ConfigError("auth.tokens: must be a list");
    config.tokens = a.tokens.map((t, i) => {
      const path = `auth.tokens[${i}]`;
      const o = section(t, path, ["name", "sha256", "role", "groups"]);
      const sha256 = text(o.sha256, `${path}.sha256`);
      if (!/^[0-9a-fA-F]{64}$/.test(sha256)) throw new ConfigError(`${path}.sha256: must be 64 hex digits (sha256sum of the token)`);
      const role = text(o.role, `${path}.role`) as Role;
      if (!ROLES.includes(role)) throw new ConfigError(`${path}.role: must be one of ${ROLES.join(", ")}`);
      if (o.groups !== undefined && !Array.isArray(o.groups)) throw new ConfigError(`${path}.groups: must be a list of group names`);
      return {
        name: text(o.name, `${path}.name`),
        sha256,
        role,
        groups: (o.groups as unknown[] | undefined)?.map((g, j) => text(g, `${path}.groups[${j}]`)),
      };
    });
  }
  if (root.tls !== undefined) {
    const t = section(root.tls, "tls", ["cert", "key", "client_ca"]);
    config.tls = {
      cert: text(t.cert, "tls.cert"),
      key: text(t.key, "tls.key"),
      clientCa: t.client_ca === undefined ? undefined : text(t.client_ca, "tls.client_ca"),
    };
  }
  return config;
}

export const USAGE = `Usage: sr [--listen HOST:PORT] [--http HOST:PORT] [--config FILE]

Runs the Status/Report gRPC server with its embedded in-memory registry.

  --listen HOST:PORT  gRPC address (default ${DEFAULT_LISTEN}; env SR_LISTEN; port 0 picks a free port)
  --http HOST:PORT    also serve the OpenSIPS MI JSON-RPC over HTTP at /mi (env SR_HTTP; off by default)
  --config FILE       YAML configuration (keys: listen, http, limits, watch, groups, auth, tls); flags override it
  --help              show this help
`;

/** Flags override SR_LISTEN, which overrides the config file, which overrides the defaults. */
export function loadConfig(argv: string[], env: NodeJS.ProcessEnv): ServerConfig | "help" {
  let parsed: ReturnType<typeof parseArgs<{ options: { listen: { type: "string" }; http: { type: "string" }; config: { type: "string" }; help: { type: "boolean" } } }>>;
  try {
    parsed = parseArgs({
      args: argv,
      options: { listen: { type: "string" }, http: { type: "string" }, config: { type: "string" }, help: { type: "boolean" } },
      strict: true,
    });
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
  return config;
}
