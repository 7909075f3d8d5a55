/** Parsers of argument and option values; each refuses a bad value as a usage error (commander's InvalidArgumentError, exit 64). */
import { InvalidArgumentError } from "commander";

export interface DurationValue {
  seconds: bigint;
  nanos: number;
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/y;

/** Milliseconds of "30s", "2m", "1h30m", "1.5s", "500ms" or a plain number of seconds ("45"). */
export function durationMsOf(value: string): number {
  const text = value.trim();
  if (/^\d+(?:\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000);
  let ms = 0;
  PART.lastIndex = 0;
  let matched = 0;
  for (let m = PART.exec(text); m; m = PART.exec(text)) {
    ms += Number(m[1]) * (UNIT_MS[m[2] as string] as number);
    matched = PART.lastIndex;
  }
  if (text === "" || matched !== text.length) {
    throw new InvalidArgumentError(`'${value}' is not a duration (e.g. 30s, 2m, 1h30m, 500ms, or a number of seconds)`);
  }
  return Math.round(ms);
}

/** A duration argument as the schema's google.protobuf.Duration. */
export function durationArg(value: string): DurationValue {
  const ms = durationMsOf(value);
  return { seconds: BigInt(Math.floor(ms / 1000)), nanos: (ms % 1000) * 1_000_000 };
}

/** A status: a non-zero signed 32-bit integer (`-1` is a value, never an option). */
export function statusArg(value: string): number {
  if (!/^[+-]?\d+$/.test(value.trim())) throw new InvalidArgumentError(`'${value}' is not an integer status (> 0 ready, < 0 not ready)`);
  const n = Number(value);
  if (n === 0) throw new InvalidArgumentError("a status must not be 0 (> 0 is ready, < 0 is not ready)");
  if (n < -2147483648 || n > 2147483647) throw new InvalidArgumentError(`'${value}' is outside a signed 32-bit integer`);
  return n;
}

/** A count: an integer of at least 0 (the server checks its upper limit). */
export function countArg(value: string): number {
  if (!/^\d+$/.test(value.trim())) throw new InvalidArgumentError(`'${value}' is not a whole number`);
  const n = Number(value);
  if (n > 4294967295) throw new InvalidArgumentError(`'${value}' is too large`);
  return n;
}

/** A revision (uint64). */
export function revisionArg(value: string): bigint {
  if (!/^\d+$/.test(value.trim())) throw new InvalidArgumentError(`'${value}' is not a revision (a whole number)`);
  return BigInt(value);
}
