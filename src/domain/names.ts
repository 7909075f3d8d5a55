import { invalidArgument } from "./errors.js";

/** The identifier every group gets at registration, and the default when none is named. */
export const MAIN = "main";
/** The reserved identifier name meaning "the whole group, aggregated". */
export const ALL = "all";

export const MAX_NAME_BYTES = 255;
export const MAX_TEXT_BYTES = 2048;

const CONTROL = /[\u0000-\u001f\u007f]/;
const ASCII_UPPER = /[A-Z]/g;

/** Folds ASCII letters only, as OpenSIPS compares names (`Core` = `core`; `É` stays `É`). */
export function foldName(name: string): string {
  // Most names are lower case already: no replace (and no new string) for them; every call folds a name.
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c >= 65 && c <= 90) return name.replace(ASCII_UPPER, (u) => String.fromCharCode(u.charCodeAt(0) + 32));
  }
  return name;
}

export function utf8Length(text: string): number {
  return Buffer.byteLength(text, "utf8");
}

/**
 * Text received over the wire is decoded so that invalid UTF-8 leaves a lone
 * surrogate behind (see transport/grpc/codec.ts); a lone surrogate can never
 * come from valid UTF-8, so "well formed" here means "was valid UTF-8".
 */
export function checkText(field: string, text: string, maxBytes = MAX_TEXT_BYTES): void {
  if (!text.isWellFormed()) throw invalidArgument("UTF8_INVALID", field, "must be valid UTF-8");
  const bytes = utf8Length(text);
  if (bytes > maxBytes) throw invalidArgument("TEXT_TOO_LONG", field, `must be at most ${maxBytes} bytes of UTF-8 (got ${bytes})`);
}

/** Validates a group or identifier name against docs/model.md. */
export function checkName(field: string, name: string, kind: "group" | "identifier"): void {
  if (name.length === 0) throw invalidArgument("NAME_INVALID", field, "must not be empty (names are 1..255 bytes of UTF-8)");
  if (!name.isWellFormed()) throw invalidArgument("UTF8_INVALID", field, "must be valid UTF-8");
  const bytes = utf8Length(name);
  if (bytes > MAX_NAME_BYTES) {
    throw invalidArgument("NAME_INVALID", field, `must be at most ${MAX_NAME_BYTES} bytes of UTF-8 (got ${bytes})`);
  }
  if (CONTROL.test(name)) throw invalidArgument("NAME_INVALID", field, "must not contain control characters (U+0000-U+001F, U+007F)");
  if (kind === "group" && name.includes("/")) throw invalidArgument("NAME_INVALID", field, "a group name must not contain '/'");
  if (kind === "identifier" && foldName(name) === ALL) {
    throw invalidArgument("NAME_RESERVED", field, "'all' is reserved (it means the whole group) and is not allowed here");
  }
}

/** Compares by Unicode code point (JS `<` compares UTF-16 units, which differs above U+FFFF). */
export function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    // A surrogate (U+D800-U+DFFF) stands for a code point above U+FFFF, so it
    // outranks every BMP unit; between two units of the same kind, unit order
    // is code point order.
    const xs = x >= 0xd800 && x <= 0xdfff;
    const ys = y >= 0xd800 && y <= 0xdfff;
    return xs === ys ? x - y : xs ? 1 : -1;
  }
  return a.length - b.length;
}

/**
 * The sort key of an identifier within its group: `main` first, then by the
 * folded name's code points. The empty string cannot be a name, so it is free
 * to stand for `main`.
 */
export function identifierSortKey(key: string): string {
  return key === MAIN ? "" : key;
}
