import { invalidArgument } from "../errors.js";

export const DEFAULT_PAGE_SIZE = 1000;
export const MAX_PAGE_SIZE = 10_000;

/** `PagePosition.sequence` of an identifier listed whole. */
export const LISTED_WHOLE = -1;
/** `PagePosition.sequence` of a group listed whole without identifiers. */
export const GROUP_LISTED = -2;

/**
 * Where the next page starts: just after the entry `(groupKey, identifierKey,
 * sequence)`. `sequence` is the last report listed for ListReports, or
 * LISTED_WHOLE, or GROUP_LISTED. Keys are folded sort keys, so a token stays
 * valid on any server holding the same registry and across removals of the
 * entries it points at.
 */
export interface PagePosition {
  groupKey: string;
  identifierKey: string;
  sequence: number;
}

/** What a token was issued for: a token only works for the request that produced it. */
export interface PageScope {
  list: "status" | "reports" | "identifiers";
  groupKey: string;
  identifierKey: string;
}

const VERSION = 1;

export function resolvePageSize(pageSize: number): number {
  if (!Number.isInteger(pageSize) || pageSize < 0) throw invalidArgument("PAGE_SIZE_INVALID", "page_size", "must not be negative");
  if (pageSize === 0) return DEFAULT_PAGE_SIZE;
  return Math.min(pageSize, MAX_PAGE_SIZE);
}

export function encodePageToken(scope: PageScope, pos: PagePosition): string {
  const json = JSON.stringify([
    VERSION,
    scope.list,
    scope.groupKey,
    scope.identifierKey,
    pos.groupKey,
    pos.identifierKey,
    pos.sequence,
  ]);
  return Buffer.from(json, "utf8").toString("base64url");
}

export function decodePageToken(token: string, scope: PageScope): PagePosition | undefined {
  if (token === "") return undefined;
  const malformed = () => invalidArgument("PAGE_TOKEN_INVALID", "page_token", "is malformed (pass the next_page_token of a previous page unchanged)");
  if (!/^[A-Za-z0-9_-]+$/.test(token) || token.length > 16_384) throw malformed();
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(token, "base64url").toString("utf8"));
  } catch {
    throw malformed();
  }
  if (
    !Array.isArray(parsed) ||
    parsed.length !== 7 ||
    parsed[0] !== VERSION ||
    !parsed.slice(1, 6).every((v) => typeof v === "string") ||
    !Number.isSafeInteger(parsed[6]) ||
    parsed[6] < GROUP_LISTED
  ) {
    throw malformed();
  }
  const [, list, groupKey, identifierKey, posGroup, posIdentifier, sequence] = parsed as [
    number,
    string,
    string,
    string,
    string,
    string,
    number,
  ];
  if (list !== scope.list || groupKey !== scope.groupKey || identifierKey !== scope.identifierKey) {
    throw invalidArgument("PAGE_TOKEN_INVALID", "page_token", "was issued for a different request (the list and its group and identifier must not change between pages)");
  }
  return { groupKey: posGroup, identifierKey: posIdentifier, sequence };
}
