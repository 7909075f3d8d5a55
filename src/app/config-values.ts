/**
 * The rules of single configuration values, as plain functions: the YAML schema
 * (config-schema.ts) wraps them, and the flags use them directly, so a value
 * given either way is checked by the same rule and refused with the same words.
 * A rule throws `RuleError` with the rule alone; the caller adds the key (and
 * the line, for the file): `limits.max_groups: line 3: must be a positive integer`.
 * Nothing here loads the YAML parser or the schema library.
 */
import { SrError } from "../domain/errors.js";
import { checkName, checkText } from "../domain/names.js";
import { checkStatusValue } from "../domain/registry/rules.js";
import { splitListen } from "../transport/listen.js";
import type { LogFormat, LogLevel } from "./config.js";

/** A configuration the server refuses: the message starts with the key (or the flag). */
export class ConfigError extends Error {}

/** A value that breaks its rule; the message is the rule, without the key. */
export class RuleError extends Error {}

export const LOG_LEVELS: readonly LogLevel[] = ["fatal", "error", "warn", "info", "debug", "trace", "silent"];
export const LOG_FORMATS: readonly LogFormat[] = ["json", "pretty"];

/** The rule of an integer range, in the words the errors use. */
export function integerRule(min: number, max = Number.MAX_SAFE_INTEGER): string {
  if (max !== Number.MAX_SAFE_INTEGER) return `must be an integer between ${min} and ${max}`;
  if (min === 1) return "must be a positive integer";
  if (min === 0) return "must be an integer of 0 or more";
  return `must be an integer of at least ${min}`;
}

export const DURATION_RULE = 'must be a positive duration such as 30, "30s", "500ms" or "2m"';
export const LISTEN_RULE = "must be HOST:PORT with a port from 0 to 65535, e.g. 127.0.0.1:50051";

/** A duration: a number of seconds, or a string such as "30s", "500ms", "2m"; at least 1 ms. */
export function parseDuration(value: unknown): number {
  let ms: number;
  const match = typeof value === "string" ? /^(\d+(?:\.\d+)?)(ms|s|m)$/.exec(value.trim()) : null;
  if (typeof value === "number" && Number.isFinite(value) && value > 0) {
    ms = Math.round(value * 1000);
  } else if (match) {
    const n = Number(match[1]);
    ms = Math.round(match[2] === "ms" ? n : match[2] === "s" ? n * 1000 : n * 60_000);
  } else {
    throw new RuleError(DURATION_RULE);
  }
  if (ms < 1) throw new RuleError("must be at least 1ms");
  return ms;
}

/** A duration that may be turned off: `off`, `false` or 0 is undefined (never). */
export function parseOptionalDuration(value: unknown): number | undefined {
  if (value === "off" || value === false || value === 0) return undefined;
  try {
    return parseDuration(value);
  } catch (error) {
    if (error instanceof RuleError && error.message === DURATION_RULE) throw new RuleError(`${DURATION_RULE}, or off`);
    throw error;
  }
}

/** `durationMs(value, key)`: a duration, refused naming the key. */
export function durationMs(value: unknown, key: string): number {
  return named(key, () => parseDuration(value));
}

/** Runs a rule and turns its refusal into a ConfigError naming `key` (a flag, an environment variable, a YAML key). */
export function named<T>(key: string, rule: () => T): T {
  try {
    return rule();
  } catch (error) {
    if (error instanceof RuleError) throw new ConfigError(`${key}: ${error.message}`);
    throw error;
  }
}

export function listenAddress(value: unknown): string {
  if (typeof value !== "string") throw new RuleError(LISTEN_RULE);
  if (!splitListen(value)) throw new RuleError(`${LISTEN_RULE} (got '${value}')`);
  return value;
}

/** The domain's own rule, its message without the field it names. */
function domainRule(field: string, check: () => void): void {
  try {
    check();
  } catch (error) {
    if (error instanceof SrError) throw new RuleError(error.message.startsWith(`${field}: `) ? error.message.slice(field.length + 2) : error.message);
    throw error;
  }
}

/** A group or identifier name, by the registry's rules (docs/model.md, Names). */
export function name(kind: "group" | "identifier"): (value: unknown) => string {
  return (value) => {
    if (typeof value !== "string") throw new RuleError(`must be a ${kind} name (text)`);
    domainRule("name", () => checkName("name", value, kind));
    return value;
  };
}

/** A status as the registry takes it: a signed 32-bit integer, never 0. */
export function status(value: unknown): number {
  if (typeof value !== "number") throw new RuleError("must be a signed 32-bit integer");
  domainRule("status", () => checkStatusValue("status", value));
  return value;
}

/** Details or any status text: at most the registry's bytes of UTF-8. */
export function details(value: unknown): string {
  if (typeof value !== "string") throw new RuleError("must be text");
  domainRule("details", () => checkText("details", value));
  return value;
}

export function logLevel(value: unknown): LogLevel {
  if (!LOG_LEVELS.includes(value as LogLevel)) throw new RuleError(`must be one of ${LOG_LEVELS.join(", ")}`);
  return value as LogLevel;
}

export function logFormat(value: unknown): LogFormat {
  if (!LOG_FORMATS.includes(value as LogFormat)) throw new RuleError(`must be one of ${LOG_FORMATS.join(", ")}`);
  return value as LogFormat;
}

/** An endpoint as an error may echo it: any `user:password@` (up to the last `@` before the path, as a URL parser reads it) as `***@`. */
function withoutUserinfo(endpoint: string): string {
  return endpoint.replace(/^([A-Za-z][A-Za-z0-9+.-]*:\/\/)?[^/?#]*@/, "$1***@");
}

/** etcd endpoints: a list of URLs, or one string of them separated by commas. */
export function etcdEndpoints(value: unknown): string[] {
  const list = typeof value === "string" ? value.split(",").map((s) => s.trim()) : value;
  if (!Array.isArray(list) || list.length === 0 || list.some((e) => typeof e !== "string")) {
    throw new RuleError("must be a list of URLs (or one string of them separated by commas), e.g. http://127.0.0.1:2379");
  }
  for (const endpoint of list as string[]) {
    let url: URL | undefined;
    try {
      url = new URL(endpoint);
    } catch {
      url = undefined;
    }
    if (!url || (url.protocol !== "http:" && url.protocol !== "https:") || url.host === "") {
      throw new RuleError(`must be http:// or https:// URLs such as http://127.0.0.1:2379 (got '${withoutUserinfo(endpoint)}')`);
    }
  }
  return list as string[];
}

export function nonEmptyText(value: unknown): string {
  if (typeof value !== "string" || value === "") throw new RuleError("must be a non-empty string");
  return value;
}
