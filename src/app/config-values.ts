/**
 * Reading values out of a parsed YAML document: each helper checks one value
 * and names its key in the error (`limits.max_groups: must be an integer ...`).
 */

/** A configuration the server refuses: the message starts with the key. */
export class ConfigError extends Error {}

export type Obj = Record<string, unknown>;

export function isObject(value: unknown): value is Obj {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export function section(value: unknown, path: string, keys: readonly string[]): Obj {
  if (!isObject(value)) throw new ConfigError(`${path}: must be a mapping`);
  for (const key of Object.keys(value)) {
    if (!keys.includes(key)) throw new ConfigError(`${path}.${key}: unknown key (known: ${keys.join(", ")})`);
  }
  return value;
}

export function integer(value: unknown, path: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(`${path}: must be an integer between ${min} and ${max}`);
  }
  return value;
}

export function text(value: unknown, path: string): string {
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

/** A duration that may be turned off: `off`, `false` or 0 is undefined (never). */
export function optionalDurationMs(value: unknown, path: string): number | undefined {
  if (value === "off" || value === false || value === 0) return undefined;
  return durationMs(value, path);
}

export function listOf(value: unknown, path: string): unknown[] {
  if (!Array.isArray(value)) throw new ConfigError(`${path}: must be a list`);
  return value;
}
