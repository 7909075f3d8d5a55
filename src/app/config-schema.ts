/**
 * The configuration file's one schema (zod): every key, its aliases, its rule,
 * its default and its description (README, Configuration, is generated from
 * here by scripts/config-docs.ts), and how a valid document lands in a
 * ServerConfig. Errors name the key, then the line, then the rule:
 * `limits.max_groups: line 3: must be a positive integer`.
 *
 * zod and yaml are loaded on first use, not when this module is imported, so a
 * server started with flags alone does not pay for them (BENCHMARKS.md, Spawn to
 * core running); the compiled server loads them from one bundled file (`load`).
 */
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import vm from "node:vm";
import type * as Y from "yaml";
import type * as Z from "zod";
import type { CertificateConfig, Grant, Role, TokenConfig } from "../domain/access.js";
import { DEFAULT_REPORT_CAPACITY, DEFAULT_STATUS, MAX_REPORT_CAPACITY } from "../domain/registry/rules.js";
import { MAX_TEXT_BYTES } from "../domain/names.js";
import { pathOf } from "../transport/http/access.js";
import { DEFAULT_RELOAD_INTERVAL_MS } from "../transport/tls.js";
import {
  type EtcdConfig,
  type GroupConfig,
  type IdentifierConfig,
  type ServerConfig,
  DEFAULT_ETCD_PREFIX,
  DEFAULT_HTTP,
  defaultConfig,
} from "./config.js";
import {
  ConfigError,
  LISTEN_RULE,
  LOG_FORMATS,
  LOG_LEVELS,
  RuleError,
  details,
  etcdEndpoints,
  integerRule,
  listenAddress,
  logFormat,
  logLevel,
  name,
  nonEmptyText,
  parseDuration,
  parseOptionalDuration,
  status,
} from "./config-values.js";

/**
 * zod or yaml. From node_modules they are about 100 small CommonJS modules, and
 * Node's module loader, not their code, is the cost: zod about 75 ms, yaml about
 * 30 ms. So the build (scripts/build-server.mjs, CONFIG_LIBS) bundles both, from
 * the same node_modules, into one file beside the compiled code, which loads in
 * about 50 ms (about 30 ms saved on a whole start, where a major GC then falls in
 * the schema's build); its getters evaluate each library on first use, as here.
 * The sources (vitest, tsx) have no bundle and load the packages.
 */
const requireHere = createRequire(import.meta.url);
/** From dist/src/app/: dist/vendor/. */
const BUNDLE = fileURLToPath(new URL("../../vendor/config-libs.cjs", import.meta.url));
let bundle: { z: unknown; YAML: unknown } | null | undefined;

/**
 * The bundle, compiled with V8's code cache the build made of it (BUNDLE.v8cache): about 20 ms
 * instead of 60. Another Node (or V8 flags) rejects the cache, and V8 compiles the source.
 */
function loadBundle(): { z: unknown; YAML: unknown } {
  const cachedData = existsSync(`${BUNDLE}.v8cache`) ? readFileSync(`${BUNDLE}.v8cache`) : undefined;
  // The same wrapper as scripts/build-server.mjs's writeConfigLibsCache: V8 checks the source.
  const script = new vm.Script(`(function (exports, require, module) {${readFileSync(BUNDLE, "utf8")}\n})`, { filename: BUNDLE, cachedData });
  const module = { exports: {} as { z: unknown; YAML: unknown } };
  (script.runInThisContext() as (e: unknown, r: NodeJS.Require, m: unknown) => void)(module.exports, requireHere, module);
  return module.exports;
}

function load(name: "zod" | "yaml"): unknown {
  bundle ??= existsSync(BUNDLE) ? loadBundle() : null;
  if (bundle === null) return requireHere(name);
  return name === "zod" ? bundle.z : bundle.YAML;
}

/** What the README says of one key (the table between the config-keys markers). */
export interface KeyDoc {
  description: string;
  /** The values it takes, in words. */
  value: string;
  /** The default as the README shows it (markdown: a value in backticks, or words); "required" for a key that must be given. */
  default?: string;
  /** Other names the key is known by (accepted, documented beside it). */
  aliases?: readonly string[];
  /** On an alias's own field: the key it stands for (documented there, not on a line of its own). */
  aliasOf?: string;
}

type Path = readonly PropertyKey[];

/** One refusal: where (the key's path), and the rule broken. */
interface Problem {
  path: Path;
  message: string;
}

/** `groups[0].identifiers[1].name`; the document itself is `config`. */
export function keyOf(path: Path): string {
  let out = "";
  for (const segment of path) out += typeof segment === "number" ? `[${segment}]` : out === "" ? String(segment) : `.${String(segment)}`;
  return out === "" ? "config" : out;
}

// ---------------------------------------------------------------------------
// The settings of the flat sections (limits, watch, leases, log, metrics): a
// key, its aliases, its rule and where it lands.

type Kind =
  | { kind: "int"; min: number; max?: number }
  | { kind: "duration" }
  | { kind: "optionalDuration" }
  | { kind: "bool" }
  | { kind: "rule"; check: (value: unknown) => unknown; value: string };

interface Setting {
  key: string;
  aliases?: readonly string[];
  type: Kind;
  description: string;
  /** The default, read from the defaults themselves (so the README cannot drift from them). */
  default(d: ServerConfig): unknown;
  /** The default in words, when it is no value (the README shows these instead). */
  defaultInWords?: string;
  // biome-ignore lint/suspicious/noExplicitAny: each setting's value is what its own rule returns
  set(c: ServerConfig, value: any): void;
}

const int = (min: number, max?: number): Kind => (max === undefined ? { kind: "int", min } : { kind: "int", min, max });
const duration: Kind = { kind: "duration" };
const optionalDuration: Kind = { kind: "optionalDuration" };

const WATCH_SETTINGS: Setting[] = [
  {
    key: "history",
    aliases: ["history_size"],
    type: int(0),
    description: "Changes kept for resuming a watch with `start_revision`.",
    default: (d) => d.watch.history,
    set: (c, v) => (c.watch.history = v),
  },
  {
    key: "progress_interval",
    aliases: ["progress"],
    type: duration,
    description: "A quiet watcher gets a progress message (with the current revision) after this.",
    default: (d) => d.watch.progressIntervalMs,
    set: (c, v) => (c.watch.progressIntervalMs = v),
  },
  {
    key: "budget_messages",
    aliases: ["watcher_budget_messages"],
    type: int(1),
    description: "A slow watcher's pending changes, in messages; past it (or `budget_bytes`) it gets a resync snapshot.",
    default: (d) => d.watch.budgetMessages,
    set: (c, v) => (c.watch.budgetMessages = v),
  },
  {
    key: "budget_bytes",
    aliases: ["watcher_budget_bytes"],
    type: int(1024),
    description: "A slow watcher's pending changes, in bytes.",
    default: (d) => d.watch.budgetBytes,
    set: (c, v) => (c.watch.budgetBytes = v),
  },
];

const LIMIT_SETTINGS: Setting[] = [
  {
    key: "max_groups",
    aliases: ["groups"],
    type: int(1),
    description: "Groups in all, internal ones (`core`) included.",
    default: (d) => d.limits.maxGroups,
    set: (c, v) => (c.limits.maxGroups = v),
  },
  {
    key: "max_identifiers_per_group",
    aliases: ["identifiers_per_group"],
    type: int(1),
    description: "Identifiers in one group.",
    default: (d) => d.limits.maxIdentifiersPerGroup,
    set: (c, v) => (c.limits.maxIdentifiersPerGroup = v),
  },
  {
    key: "max_identifiers",
    aliases: ["identifiers"],
    type: int(1),
    description: "Identifiers in all groups together.",
    default: (d) => d.limits.maxIdentifiers,
    set: (c, v) => (c.limits.maxIdentifiers = v),
  },
  {
    key: "max_watchers_per_connection",
    aliases: ["watchers_per_connection", "max_watch_streams_per_connection", "watch_streams_per_connection"],
    type: int(1),
    description: "WatchStatus and health Watch streams on one connection; below `max_concurrent_streams`.",
    default: (d) => d.watch.maxWatchersPerConnection,
    set: (c, v) => (c.watch.maxWatchersPerConnection = v),
  },
  {
    key: "max_watchers",
    aliases: ["watchers", "max_watch_streams", "watch_streams"],
    type: int(1),
    description: "Watch streams in all.",
    default: (d) => d.watch.maxWatchers,
    set: (c, v) => (c.watch.maxWatchers = v),
  },
  {
    key: "max_receive_message_bytes",
    aliases: ["max_message_bytes", "max_receive_message_size", "message_bytes"],
    type: int(1024),
    description: "The largest gRPC message received.",
    default: (d) => d.limits.maxReceiveMessageBytes,
    set: (c, v) => (c.limits.maxReceiveMessageBytes = v),
  },
  {
    key: "grace_period",
    aliases: ["graceful_stop", "shutdown_grace_period"],
    type: duration,
    description: "How long a graceful stop (SIGTERM, SIGINT) waits for streams before it cuts them.",
    default: (d) => d.limits.gracePeriodMs,
    set: (c, v) => (c.limits.gracePeriodMs = v),
  },
  {
    key: "max_concurrent_streams",
    aliases: ["concurrent_streams", "max_streams_per_connection"],
    type: int(1, 2 ** 31 - 1),
    description: "HTTP/2 streams per gRPC connection; above `max_watchers_per_connection`, so the watcher limit answers first.",
    default: (d) => d.listener.maxConcurrentStreams,
    set: (c, v) => (c.listener.maxConcurrentStreams = v),
  },
  {
    key: "keepalive_time",
    aliases: ["keepalive_interval"],
    type: duration,
    description: "A quiet connection is pinged after this ...",
    default: (d) => d.listener.keepaliveTimeMs,
    set: (c, v) => (c.listener.keepaliveTimeMs = v),
  },
  {
    key: "keepalive_timeout",
    type: duration,
    description: "... and dropped when the ping goes unanswered this long.",
    default: (d) => d.listener.keepaliveTimeoutMs,
    set: (c, v) => (c.listener.keepaliveTimeoutMs = v),
  },
  {
    key: "max_connection_idle",
    aliases: ["connection_idle"],
    type: optionalDuration,
    description: "A connection without any call or watch is closed after this.",
    default: (d) => d.listener.maxConnectionIdleMs,
    set: (c, v) => (c.listener.maxConnectionIdleMs = v),
  },
  {
    key: "max_connection_age",
    aliases: ["connection_age"],
    type: optionalDuration,
    description: "Connections are told to go away after this (±10%) ...",
    default: (d) => d.listener.maxConnectionAgeMs,
    set: (c, v) => (c.listener.maxConnectionAgeMs = v),
  },
  {
    key: "max_connection_age_grace",
    aliases: ["connection_age_grace"],
    type: duration,
    description: "... and their watches cut after this; clients resume.",
    default: (d) => d.listener.maxConnectionAgeGraceMs,
    set: (c, v) => (c.listener.maxConnectionAgeGraceMs = v),
  },
  {
    key: "max_answer_bytes",
    aliases: ["answer_bytes"],
    type: int(1024),
    description: "One HTTP request's answer (an MI batch as a whole), docs/mi.md.",
    default: (d) => d.mi.maxAnswerBytes,
    set: (c, v) => (c.mi.maxAnswerBytes = v),
  },
];

const LEASE_SETTINGS: Setting[] = [
  {
    key: "expired_status",
    type: { kind: "rule", check: status, value: "a signed 32-bit integer, not 0" },
    description: "The status a lease running out sets ...",
    default: (d) => d.leases.expiredStatus,
    set: (c, v) => (c.leases.expiredStatus = v),
  },
  {
    key: "expired_details",
    type: { kind: "rule", check: details, value: `text of at most ${MAX_TEXT_BYTES} bytes` },
    description: "... with these details, and a report saying so.",
    default: (d) => d.leases.expiredDetails,
    set: (c, v) => (c.leases.expiredDetails = v),
  },
];

const LOG_SETTINGS: Setting[] = [
  {
    key: "level",
    type: { kind: "rule", check: logLevel, value: LOG_LEVELS.join(", ") },
    description: "The log level (pino's); or `--log-level`.",
    default: (d) => d.log.level,
    set: (c, v) => (c.log.level = v),
  },
  {
    key: "format",
    type: { kind: "rule", check: logFormat, value: LOG_FORMATS.join(", ") },
    description: "The log format; or `--log-format`. The listening lines stay plain text in every format.",
    default: (d) => d.log.format,
    defaultInWords: "pretty on a terminal, json when piped",
    set: (c, v) => (c.log.format = v),
  },
];

const METRICS_SETTINGS: Setting[] = [
  {
    key: "per_identifier",
    type: { kind: "bool" },
    description: "Build `sr_status`, `sr_ready` and `sr_reports_total` per identifier when `/metrics` is scraped (turn off for very large registries).",
    default: (d) => d.metrics.perIdentifier,
    set: (c, v) => (c.metrics.perIdentifier = v),
  },
];

/** A value as the README shows it (markdown code). */
const lit = (value: unknown) => `\`${String(value)}\``;

/** How the README shows a default: durations as written in the file, off for none. */
function shown(kind: Kind, value: unknown): string {
  if (value === undefined) return kind.kind === "optionalDuration" ? lit("off") : "none";
  if ((kind.kind === "duration" || kind.kind === "optionalDuration") && typeof value === "number") return lit(formatMs(value));
  return lit(value);
}

export function formatMs(ms: number): string {
  if (ms % 60_000 === 0 && ms >= 120_000) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}

// ---------------------------------------------------------------------------
// The schema itself, built with zod on first use.

type Schema = Z.ZodType;

interface Built {
  z: typeof Z;
  root: Schema;
  docs: Z.core.$ZodRegistry<KeyDoc>;
}

let built: Built | undefined;

/** The schema (zod is loaded here, the first time). */
export function configSchema(): Built {
  if (!built) built = build(load("zod") as typeof Z);
  return built;
}

function build(z: typeof Z): Built {
  const docs = z.registry<KeyDoc>();
  const defaults = defaultConfig();

  /** A value checked by one of config-values.ts's rules; absent stays absent. */
  const rule = <T>(check: (value: unknown) => T, required = false) => {
    const type = z.unknown().transform((value, ctx): T | undefined => {
      if (value === undefined && !required) return undefined;
      if (value === undefined) {
        ctx.addIssue({ code: "custom", message: "is required", input: value });
        return z.NEVER;
      }
      try {
        return check(value);
      } catch (error) {
        if (!(error instanceof RuleError)) throw error;
        ctx.addIssue({ code: "custom", message: error.message, input: value });
        return z.NEVER;
      }
    });
    return required ? type : type.optional();
  };
  const integer = (min: number, max?: number) => {
    const error = integerRule(min, max);
    const type = z.int({ error }).min(min, { error });
    return (max === undefined ? type : type.max(max, { error })).optional();
  };
  const bool = () => z.boolean({ error: "must be true or false" }).optional();
  const text = (required = false) =>
    rule((v) => {
      if (typeof v !== "string") throw new RuleError("must be a string");
      return v;
    }, required);
  const list = <T extends Schema>(element: T) => z.array(element, { error: "must be a list" }).optional();
  /** A mapping of these keys only: an unknown key is refused, listing the known ones (not their aliases). */
  const strict = <S extends Record<string, Schema>>(shape: S) => {
    const known = Object.keys(shape).filter((k) => !docs.get(shape[k] as Schema)?.aliasOf);
    return z.strictObject(shape, { error: (issue) => (issue.code === "unrecognized_keys" ? `unknown key (known: ${known.join(", ")})` : "must be a mapping") });
  };
  const mapping = <S extends Record<string, Schema>>(shape: S) => strict(shape).optional();
  const doc = <T extends Schema>(type: T, meta: KeyDoc): T => {
    docs.add(type, meta);
    return type;
  };

  const typeOf = (kind: Kind): Schema => {
    switch (kind.kind) {
      case "int":
        return integer(kind.min, kind.max);
      case "duration":
        return rule(parseDuration);
      case "optionalDuration":
        return rule(parseOptionalDuration);
      case "bool":
        return bool();
      case "rule":
        return rule(kind.check);
    }
  };
  const valueOf = (kind: Kind): string => {
    switch (kind.kind) {
      case "int":
        return kind.max === undefined ? `integer ≥ ${kind.min}` : `integer ${kind.min}..${kind.max}`;
      case "duration":
        return 'duration: seconds, or "500ms", "10s", "2m"';
      case "optionalDuration":
        return "duration, or off";
      case "bool":
        return "true or false";
      case "rule":
        return kind.value;
    }
  };
  const settings = (list: readonly Setting[]): Record<string, Schema> => {
    const shape: Record<string, Schema> = {};
    for (const s of list) {
      shape[s.key] = doc(typeOf(s.type), {
        description: s.description,
        value: valueOf(s.type),
        default: s.defaultInWords ?? shown(s.type, s.default(defaults)),
        ...(s.aliases?.length ? { aliases: s.aliases } : {}),
      });
      for (const alias of s.aliases ?? []) shape[alias] = doc(typeOf(s.type), { description: "", value: "", aliasOf: s.key });
    }
    return shape;
  };

  const identifierShape = (kind: "group" | "identifier") => ({
    name: doc(rule(name(kind), true), {
      description: kind === "group" ? "The group's name (docs/model.md, Names; no `/`)." : "The identifier's name (not `all`).",
      value: kind === "group" ? "a group name" : "an identifier name",
      default: "required",
    }),
    status: doc(rule(status), {
      description: "Its status when it is created (> 0 ready, < 0 not ready).",
      value: "a signed 32-bit integer, not 0",
      default: lit(DEFAULT_STATUS),
    }),
    details: doc(rule(details), { description: "Its details when it is created.", value: `text of at most ${MAX_TEXT_BYTES} bytes`, default: "none" }),
    report_capacity: doc(integer(0, MAX_REPORT_CAPACITY), { description: "Reports it keeps (0 accepts none).", value: `integer 0..${MAX_REPORT_CAPACITY}`, default: lit(DEFAULT_REPORT_CAPACITY) }),
  });
  const grantShape = {
    role: doc(rule((v) => role(v), true), { description: "What it may do: read, write (publish), admin.", value: ROLES.join(", "), default: "required" }),
    groups: doc(list(rule(name("group"))), {
      description: "For role write only: the public groups it may write (omit for every public group; `[]` is refused).",
      value: "list of group names",
      default: "every public group",
    }),
  };

  const root = strict(
    {
      listen: doc(rule(listenAddress), {
        description: "The gRPC address; or `--listen`, env `SR_LISTEN`. Port 0 picks a free port.",
        value: "HOST:PORT",
        default: lit(defaults.listen),
      }),
      http: doc(
        rule((v) => {
          if (v === false) return false;
          if (typeof v !== "string") throw new RuleError(`${LISTEN_RULE}, or false to turn HTTP off`);
          return listenAddress(v);
        }),
        {
          description:
            "The HTTP listener (MI at `/mi`, `/metrics`, `/healthz`, `/readyz`, the page); or `--http`, env `SR_HTTP`. `false` (or `--no-http`) turns it off. A taken default port is a warning, a taken explicit one an error.",
          value: "HOST:PORT, or false",
          default: lit(DEFAULT_HTTP),
        },
      ),
      limits: doc(mapping({ ...settings(LIMIT_SETTINGS), ...settings(WATCH_SETTINGS) }), {
        description: "Count and size limits (docs/model.md, Limits); the `watch` tunables are accepted here too.",
        value: "mapping",
      }),
      watch: doc(mapping(settings(WATCH_SETTINGS)), { description: "Watch history, progress and slow-watcher budgets (over the same keys under `limits`).", value: "mapping" }),
      leases: doc(mapping(settings(LEASE_SETTINGS)), { description: "What a lease running out writes.", value: "mapping" }),
      groups: doc(
        list(
          strict(
            {
              ...identifierShape("group"),
              identifiers: doc(
                list(strict(identifierShape("identifier"))),
                { description: "Its identifiers, created with it (`main` is always there).", value: "list", default: "none" },
              ),
            },
          ),
        ),
        { description: "Public groups created at start when absent.", value: "list", default: "none" },
      ),
      auth: doc(
        mapping({
          open: doc(bool(), {
            description: "With no token and no client CA, listen beyond loopback anyway (or `--allow-open`).",
            value: "true or false",
            default: lit(defaults.allowOpen),
          }),
          tokens: doc(
            list(
              strict(
                {
                  name: doc(text(true), { description: "The token's name, in logs.", value: "text", default: "required" }),
                  sha256: doc(
                    rule((v) => {
                      if (typeof v !== "string" || !/^[0-9a-fA-F]{64}$/.test(v)) throw new RuleError("must be 64 hex digits (sha256sum of the token)");
                      return v;
                    }, true),
                    { description: "The SHA-256 of the bearer token (`sr token` prints it).", value: "64 hex digits", default: "required" },
                  ),
                  ...grantShape,
                },
              ),
            ),
            { description: "Bearer tokens and their roles.", value: "list", default: "none" },
          ),
          certificates: doc(
            list(
              strict(
                {
                  subject: doc(text(), { description: "A client certificate's subject CN (or `san`).", value: "text", default: "none" }),
                  san: doc(text(), { description: "... or one of its DNS or URI SANs.", value: "text", default: "none" }),
                  ...grantShape,
                },
              ),
            ),
            { description: "Client certificates mapped to roles (needs `tls.client_ca`); matched exactly, first match wins.", value: "list", default: "none" },
          ),
          open_http: doc(
            list(
              rule((v) => {
                // A path as the listener matches it: one that pathOf keeps as it is (bar one trailing slash), so
                // nothing like `//metrics` (a host to a URL parser) or `/a/../mi` opens another path than it says.
                const refused = new RuleError(`must be a path such as /metrics (got '${String(v)}')`);
                if (typeof v !== "string" || !/^\/(?!\/)[\w\-.~!$&'()*+,;=:@%/]*$/.test(v)) throw refused;
                let path: string;
                try {
                  path = pathOf(v);
                } catch {
                  throw refused;
                }
                if (path !== v && `${path}/` !== v) throw refused;
                return path;
              }),
            ),
            { description: "HTTP paths left open on purpose while tokens are configured.", value: "list of paths", default: "none" },
          ),
        }),
        { description: "Who may call (README, Auth); without it every caller may read and write, on loopback only.", value: "mapping" },
      ),
      tls: doc(
        mapping({
          cert: doc(text(true), { description: "PEM certificate chain, gRPC and HTTP alike (or `--tls-cert`).", value: "file", default: "required" }),
          key: doc(text(true), { description: "Its private key (or `--tls-key`).", value: "file", default: "required" }),
          client_ca: doc(text(), { description: "Require client certificates signed by this CA (or `--tls-client-ca`).", value: "file", default: "none" }),
          reload_interval: doc(rule(parseDuration), {
            description: "How often the files are re-read for a rotated certificate.",
            value: "duration",
            default: lit(formatMs(DEFAULT_RELOAD_INTERVAL_MS)),
          }),
        }),
        { description: "Serve TLS.", value: "mapping" },
      ),
      log: doc(mapping(settings(LOG_SETTINGS)), { description: "Logging.", value: "mapping" }),
      metrics: doc(mapping(settings(METRICS_SETTINGS)), { description: "`/metrics` on the HTTP listener.", value: "mapping" }),
      storage: doc(
        mapping({
          data_dir: doc(rule(nonEmptyText), {
            description: "Keep the registry in SQLite in this directory (or `--data-dir`); not with `etcd`.",
            value: "directory",
            default: "none (in memory)",
          }),
          etcd: doc(
            mapping({
              endpoints: doc(rule(etcdEndpoints, true), {
                description: "The etcd cluster (or `--etcd URL[,URL...]`).",
                value: "list of URLs, or one comma-separated string",
                default: "required",
              }),
              prefix: doc(rule(nonEmptyText), { description: "The prefix of every key the registry writes.", value: "text", default: lit(DEFAULT_ETCD_PREFIX) }),
              tls: doc(
                mapping({
                  ca: doc(text(), { description: "CA that signed etcd's certificate.", value: "file", default: "none" }),
                  cert: doc(text(), { description: "Client certificate for etcd (with `key`).", value: "file", default: "none" }),
                  key: doc(text(), { description: "Its private key.", value: "file", default: "none" }),
                }),
                { description: "TLS to etcd.", value: "mapping" },
              ),
              username: doc(text(), { description: "etcd user (with `password`).", value: "text", default: "none" }),
              password: doc(text(), { description: "Its password.", value: "text", default: "none" }),
            }),
            { description: "Share the registry with other replicas through an etcd cluster; not with `data_dir`.", value: "mapping" },
          ),
        }),
        { description: "Where the registry is kept: in memory when empty.", value: "mapping" },
      ),
    },
  );
  return { z, root, docs };
}

const ROLES: readonly Role[] = ["read", "write", "admin"];

function role(value: unknown): Role {
  if (!ROLES.includes(value as Role)) throw new RuleError(`must be one of ${ROLES.join(", ")}`);
  return value as Role;
}

// ---------------------------------------------------------------------------
// A document: parsed (with lines), validated, applied.

/** The line of the node at `path` (of the key, for a mapping's entry), or of the nearest enclosing node that exists. */
type LineOf = (path: Path) => number | undefined;

/** What applying a document tells the caller besides the config: whether it set `http`, and where its keys are. */
export interface Applied {
  /** `http` of the document: an address, `false` (off), or not given. */
  http: "set" | "off" | undefined;
  lineOf: LineOf;
}

function fail(problems: Problem[], lineOf: LineOf): never {
  const lines = problems
    .map((p) => ({ ...p, line: lineOf(p.path) }))
    .sort((a, b) => (a.line ?? Number.MAX_SAFE_INTEGER) - (b.line ?? Number.MAX_SAFE_INTEGER))
    .map((p) => `${keyOf(p.path)}: ${p.line === undefined ? "" : `line ${p.line}: `}${p.message}`);
  throw new ConfigError([...new Set(lines)].join("\n"));
}

/** The zod issues as problems: an unknown key names the key itself. */
function problemsOf(issues: readonly Z.core.$ZodIssue[]): Problem[] {
  return issues.flatMap((issue) =>
    issue.code === "unrecognized_keys" ? issue.keys.map((key) => ({ path: [...issue.path, key], message: issue.message })) : [{ path: issue.path, message: issue.message }],
  );
}

/** Parses YAML text and applies it onto `config`; `file` names it in a parse error. */
export function applyYamlText(config: ServerConfig, source: string, file: string): Applied {
  const yaml = load("yaml") as typeof Y;
  const lineCounter = new yaml.LineCounter();
  const document = yaml.parseDocument(source, { lineCounter, prettyErrors: false });
  if (document.errors.length > 0) {
    const where = (e: Y.YAMLError) => {
      const { line, col } = lineCounter.linePos(e.pos[0]);
      return `line ${line}, column ${col}: ${e.message}`;
    };
    throw new ConfigError(`--config: ${file} is not valid YAML: ${document.errors.map(where).join("; ")}`);
  }
  const lineOf: LineOf = (path) => {
    const at = (node: unknown) => {
      const range = (node as { range?: [number, number, number] } | null)?.range;
      return range ? lineCounter.linePos(range[0]).line : undefined;
    };
    let node: unknown = document.contents;
    let line = at(node);
    for (const segment of path) {
      if (yaml.isMap(node)) {
        const pair = node.items.find((p) => String(yaml.isScalar(p.key) ? p.key.value : p.key) === String(segment));
        if (!pair) break;
        line = at(pair.key) ?? line;
        node = pair.value;
      } else if (yaml.isSeq(node) && typeof segment === "number" && node.items[segment] !== undefined) {
        node = node.items[segment];
        line = at(node) ?? line;
      } else {
        break;
      }
    }
    return line;
  };
  return applyValue(config, document.toJS({ maxAliasCount: 100 }), lineOf);
}

/** Applies a document's value (parsed YAML, or the same as plain data) onto `config`; `lineOf` finds its keys' lines. */
export function applyValue(config: ServerConfig, value: unknown, lineOf: LineOf = () => undefined): Applied {
  const applied: Applied = { http: undefined, lineOf };
  if (value === null || value === undefined) return applied;
  const { root } = configSchema();
  const result = root.safeParse(value);
  if (!result.success) fail(problemsOf(result.error.issues), lineOf);
  const problems: Problem[] = [];
  applyData(config, result.data as Data, value as Data, problems, applied);
  if (problems.length > 0) fail(problems, lineOf);
  return applied;
}

// biome-ignore lint/suspicious/noExplicitAny: the schema's output, already validated
type Data = Record<string, any>;

const given = (o: Data | undefined, key: string) => o !== undefined && Object.hasOwn(o, key);

/** Applies one flat section's settings: a key or one of its aliases, never both. */
function applySettings(config: ServerConfig, data: Data | undefined, path: string, list: readonly Setting[], problems: Problem[]): void {
  if (!data) return;
  for (const s of list) {
    const names = [s.key, ...(s.aliases ?? [])].filter((n) => given(data, n));
    if (names.length > 1) {
      problems.push({
        path: [path, names[1] as string],
        message: `is another name for ${path}.${s.key}, given too (as ${names[0]}); keep one`,
      });
      continue;
    }
    if (names.length === 1) s.set(config, data[names[0] as string]);
  }
}

/** The first of a setting's names the section holds, or its key. */
function nameIn(data: Data | undefined, s: Setting): string {
  return [s.key, ...(s.aliases ?? [])].find((n) => given(data, n)) ?? s.key;
}

function applyData(config: ServerConfig, data: Data, raw: Data, problems: Problem[], applied: Applied): void {
  if (data.listen !== undefined) config.listen = data.listen;
  if (given(raw, "http")) {
    applied.http = data.http === false ? "off" : "set";
    config.http = data.http === false ? undefined : data.http;
  }
  applySettings(config, data.limits, "limits", [...LIMIT_SETTINGS, ...WATCH_SETTINGS], problems);
  checkStreamsAboveWatchers(config, data.limits, problems);
  applySettings(config, data.watch, "watch", WATCH_SETTINGS, problems);
  applySettings(config, data.leases, "leases", LEASE_SETTINGS, problems);
  applySettings(config, data.log, "log", LOG_SETTINGS, problems);
  applySettings(config, data.metrics, "metrics", METRICS_SETTINGS, problems);
  if (data.groups !== undefined) config.groups = (data.groups as Data[]).map(groupOf);
  if (data.auth !== undefined) applyAuth(config, data.auth, problems);
  if (data.tls !== undefined) {
    config.tls = {
      cert: data.tls.cert,
      key: data.tls.key,
      clientCa: data.tls.client_ca,
      ...(data.tls.reload_interval === undefined ? {} : { reloadIntervalMs: data.tls.reload_interval }),
    };
  }
  if (data.storage !== undefined) applyStorage(config, data.storage, problems);
}

function identifierOf(o: Data): IdentifierConfig {
  return { name: o.name, status: o.status, details: o.details, reportCapacity: o.report_capacity };
}

function groupOf(o: Data): GroupConfig {
  return { ...identifierOf(o), identifiers: ((o.identifiers ?? []) as Data[]).map(identifierOf) };
}

/** A connection's stream limit at or below its watcher limit would queue watches instead of refusing them. */
function checkStreamsAboveWatchers(config: ServerConfig, limits: Data | undefined, problems: Problem[]): void {
  const streams = config.listener.maxConcurrentStreams;
  const watchers = config.watch.maxWatchersPerConnection;
  if (streams > watchers) return;
  const streamSetting = LIMIT_SETTINGS.find((s) => s.key === "max_concurrent_streams") as Setting;
  const watcherSetting = LIMIT_SETTINGS.find((s) => s.key === "max_watchers_per_connection") as Setting;
  const streamsGiven = [streamSetting.key, ...(streamSetting.aliases ?? [])].some((n) => given(limits, n));
  if (streamsGiven) {
    problems.push({
      path: ["limits", nameIn(limits, streamSetting)],
      message: `must be above limits.max_watchers_per_connection (${watchers}), so the watcher limit answers first (got ${streams})`,
    });
  } else {
    problems.push({
      path: ["limits", nameIn(limits, watcherSetting)],
      message: `must be below limits.max_concurrent_streams (${streams}), so the watcher limit answers first (got ${watchers}); raise max_concurrent_streams too`,
    });
  }
}

/** A role and its groups: a write grant's groups are never `[]` (that would allow nothing; omit them for every public group). */
function grantOf(o: Data, path: Path, problems: Problem[]): Grant {
  if (o.groups === undefined) return { role: o.role, groups: undefined };
  if (o.role !== "write") {
    problems.push({ path: [...path, "groups"], message: `only role write is limited to groups (role ${o.role} applies everywhere)` });
  } else if (o.groups.length === 0) {
    problems.push({ path: [...path, "groups"], message: "an empty list would allow no group; omit groups for every public group" });
  }
  return { role: o.role, groups: o.groups };
}

function applyAuth(config: ServerConfig, a: Data, problems: Problem[]): void {
  if (a.tokens === undefined && a.certificates === undefined && a.open === undefined) {
    problems.push({ path: ["auth"], message: "must hold tokens, certificates or open (omit auth to leave the server open on loopback only)" });
  }
  config.allowOpen = a.open === true;
  config.tokens = ((a.tokens ?? []) as Data[]).map(
    (t, i): TokenConfig => ({ name: t.name, sha256: t.sha256, ...grantOf(t, ["auth", "tokens", i], problems) }),
  );
  config.certificates = ((a.certificates ?? []) as Data[]).map((c, i): CertificateConfig => {
    const path = ["auth", "certificates", i];
    if ((c.subject === undefined) === (c.san === undefined)) {
      problems.push({ path, message: "must have either subject (a CN) or san (a DNS or URI name)" });
    }
    const names = c.subject === undefined ? { san: c.san as string } : { subject: c.subject as string };
    return { ...names, ...grantOf(c, path, problems) };
  });
  config.openHttp = a.open_http ?? [];
}

export const STORAGE_EXCLUSIVE =
  "data_dir (SQLite on this machine) and etcd (a registry shared by replicas) exclude each other; choose one";

function applyStorage(config: ServerConfig, s: Data, problems: Problem[]): void {
  if (s.data_dir !== undefined && s.etcd !== undefined) {
    problems.push({ path: ["storage", "etcd"], message: `cannot be used with storage.data_dir: ${STORAGE_EXCLUSIVE}` });
  }
  let etcd: EtcdConfig | undefined;
  if (s.etcd !== undefined) {
    const e = s.etcd as Data;
    if (e.tls !== undefined && (e.tls.cert === undefined) !== (e.tls.key === undefined)) {
      problems.push({ path: ["storage", "etcd", "tls"], message: "cert and key go together (a client certificate needs its key)" });
    }
    if ((e.username === undefined) !== (e.password === undefined)) {
      problems.push({ path: ["storage", "etcd", e.username === undefined ? "password" : "username"], message: "username and password go together" });
    }
    etcd = {
      endpoints: e.endpoints,
      prefix: e.prefix ?? DEFAULT_ETCD_PREFIX,
      ...(e.tls === undefined ? {} : { tls: { ca: e.tls.ca, cert: e.tls.cert, key: e.tls.key } }),
      ...(e.username === undefined ? {} : { username: e.username, password: e.password }),
    };
  }
  config.storage = { ...(s.data_dir === undefined ? {} : { dataDir: s.data_dir }), ...(etcd ? { etcd } : {}) };
}

// ---------------------------------------------------------------------------
// The README's table of every key.

export interface KeyRow extends KeyDoc {
  key: string;
}

/** Every documented key, in schema order, with its aliases and default. */
export function keyRows(): KeyRow[] {
  const { root, docs } = configSchema();
  const rows: KeyRow[] = [];
  const walk = (schema: Schema, prefix: string) => {
    const inner = unwrap(schema);
    const def = inner._zod.def as { type: string; shape?: Record<string, Schema>; element?: Schema };
    if (def.type === "array" && def.element) return walk(def.element, `${prefix}[]`);
    if (def.type !== "object" || !def.shape) return;
    for (const [key, field] of Object.entries(def.shape)) {
      const meta = docs.get(field);
      if (!meta || meta.aliasOf) continue;
      const path = prefix === "" ? key : `${prefix}.${key}`;
      const nested = unwrap(field)._zod.def.type;
      if (nested === "object") {
        walk(field, path);
        continue;
      }
      rows.push({ key: path, ...meta });
      if (nested === "array") walk(field, path);
    }
  };
  walk(root, "");
  return rows;
}

function unwrap(schema: Schema): Schema {
  let s = schema;
  for (;;) {
    const def = s._zod.def as { type: string; innerType?: Schema; in?: Schema };
    if (def.type === "optional" && def.innerType) s = def.innerType;
    else if (def.type === "pipe" && def.in) s = def.in;
    else return s;
  }
}


