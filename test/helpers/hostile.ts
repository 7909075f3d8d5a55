/**
 * What hostile requests are made of (fast-check arbitraries), and the oracle
 * every answer to them must pass: the service's own error (its reason's code)
 * or grpc-js's answer to a message over the receive limit, never UNKNOWN or
 * INTERNAL, and nothing changed by a failed call or a read.
 */
import { type ServiceError, status as Code } from "@grpc/grpc-js";
import fc from "fast-check";
import { expect } from "vitest";
import { SrError, isServiceError } from "../../clients/ts/errors.js";
import type { Registry } from "../../src/domain/registry/registry.js";
import { REASONS } from "../../src/protocol/wire.js";
import { handleMiRequest } from "../../src/transport/http/mi.js";

export const SEED = 20_261_126;
/** The receive limit of the servers these requests go to: HUGE holds one string over it. */
export const RECEIVE_LIMIT = 64 * 1024;

// ---- what random requests are made of ----

export const KNOWN = ["alpha", "ALPHA", "Beta", "core", "CORE", "x", "X", "main", "nocap"];
export const HOSTILE = [
  ...["", " ", "all", "ALL", "/", "a/b", "\u0000", "a\u007fb", "tab\there", "\u200b", "\ud800", "\udfff\ud800"],
  ...["__proto__", "constructor", "toString", "hasOwnProperty", "valueOf", "__defineGetter__"],
  ...["x".repeat(255), "x".repeat(256), "é".repeat(128), "😀".repeat(64), "%00", "../../etc/passwd"],
];
/** Over the text limit, and over the receive limit (grpc-js's own RESOURCE_EXHAUSTED). */
export const HUGE = ["t".repeat(2048), "t".repeat(2049), "é".repeat(1025), "\u0001".repeat(2048), "h".repeat(RECEIVE_LIMIT + 10)];

export const name = fc.oneof(
  // Mostly names that exist, so that requests get past the name checks to the rules behind them.
  { weight: 10, arbitrary: fc.constantFrom(...KNOWN) },
  { weight: 3, arbitrary: fc.constantFrom(...HOSTILE) },
  { weight: 2, arbitrary: fc.string({ unit: "binary", maxLength: 24 }) },
  { weight: 1, arbitrary: fc.string({ unit: "grapheme", maxLength: 300 }) },
  { weight: 1, arbitrary: fc.constantFrom(...HUGE) },
);
export const text = fc.oneof(fc.string({ unit: "binary", maxLength: 64 }), fc.constantFrom("", ...HUGE, ...HOSTILE));
export const int32 = fc.oneof(fc.constantFrom(0, 1, -1, 2 ** 31 - 1, -(2 ** 31)), fc.integer());
export const uint32 = fc.oneof(fc.constantFrom(0, 1, 50, 32_767, 32_768, 2 ** 32 - 1), fc.integer({ min: 0, max: 2 ** 32 - 1 }));
export const uint64 = fc.oneof(fc.constantFrom(0n, 1n, 2n ** 63n, 2n ** 64n - 1n), fc.bigInt({ min: 0n, max: 200n }));
export const optional = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined });

/** Durations in and out of 1 s..30 days; none valid and short, so no lease runs out during the test. */
export const duration = fc.constantFrom(
  ...[
    [0n, 0],
    [-1n, 0],
    [0n, 500_000_000],
    [3_600n, 0],
    [2_592_000n, 0],
    [2_592_001n, 0],
    [0n, -1],
    [1n, -5],
    [3_600n, 999_999_999],
    [2n ** 63n - 1n, 999_999_999],
    [-(2n ** 63n), -999_999_999],
  ].map(([seconds, nanos]) => ({ seconds: seconds as bigint, nanos: nanos as number })),
);

const base64url = (s: string) => Buffer.from(s, "utf8").toString("base64url");
/** Tokens as a client may forge them: well-formed, or nearly, for any scope and position. */
const forgedToken = fc
  .tuple(
    fc.constantFrom(1, 2),
    fc.constantFrom("status", "reports", "identifiers", "other"),
    fc.constantFrom("", "alpha", "beta"),
    fc.constantFrom("", "x"),
    name,
    name,
    fc.oneof(fc.constantFrom(-3, -2, -1, 0, Number.MAX_SAFE_INTEGER), fc.integer()),
  )
  .map((parts) => base64url(JSON.stringify(parts)));
export const pageToken = fc.oneof(fc.constant(""), fc.string({ maxLength: 40 }), fc.uint8Array({ maxLength: 40 }).map((b) => Buffer.from(b).toString("base64url")), forgedToken);

/** Any subset of the fields given: a missing one is sent as its default. */
export const request = <T extends Record<string, fc.Arbitrary<unknown>>>(fields: T) => fc.record(fields, { requiredKeys: [] });

// ---- the oracle ----

/** What the registry holds, as a reader sees it (MI reads the same domain, with no socket). */
export function fingerprint(registry: Registry): string {
  const read = (method: string) => ({ jsonrpc: "2.0", method, id: method });
  const dump = handleMiRequest(registry, [read("sr_list_status"), read("sr_list_reports"), read("sr_list_identifiers")]);
  return JSON.stringify([registry.revision, dump]);
}

/** A failure is the service's own (its reason's code) or grpc-js's answer to a message over the receive limit. */
export function expectOwnAnswer(error: unknown): void {
  expect(isServiceError(error), `not a gRPC answer: ${String(error)}`).toBe(true);
  const e = SrError.from(error as ServiceError);
  expect([Code.OK, Code.UNKNOWN, Code.INTERNAL], e.message).not.toContain(e.code);
  if (e.reason === undefined) {
    expect(e.code, e.message).toBe(Code.RESOURCE_EXHAUSTED);
    expect(e.details).toMatch(/larger than max/);
    return;
  }
  expect(Code[e.code], `${e.reason}: ${e.details}`).toBe(REASONS[e.reason].code);
  expect(e.details.length).toBeGreaterThan(0);
}

/** Runs one call: a failure is the service's own and changes nothing; a read never changes anything. */
export async function answered(registry: Registry, call: () => Promise<unknown>, writes: boolean): Promise<void> {
  const before = fingerprint(registry);
  let failed = true;
  try {
    await call();
    failed = false;
  } catch (error) {
    expectOwnAnswer(error);
  }
  if (failed || !writes) expect(fingerprint(registry), failed ? "a failed call changed the registry" : "a read changed the registry").toBe(before);
}
