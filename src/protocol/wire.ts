/**
 * What the server and its clients share on the wire, beyond the schema: the
 * metadata header naming the registry, and the error reasons of
 * docs/errors.md. Plain constants, no gRPC: the server's adapters and the
 * TypeScript client both import this one module.
 */

/** Initial metadata of WatchStatus naming the registry instance (revisions mean something within one registry only). */
export const REGISTRY_ID_HEADER = "sr-registry-id";

/** The `domain` of every `google.rpc.ErrorInfo` this service sends. */
export const ERROR_DOMAIN = "sr.v1";

/** The trailer holding the serialized `google.rpc.Status` (AIP-193, the gRPC rich error model). */
export const STATUS_DETAILS_KEY = "grpc-status-details-bin";

/**
 * Every reason an error of the service carries, with the gRPC code it is sent
 * with. Clients branch on the reason, never on the message. Stable: a reason is
 * never renamed or given another code; new ones may be added.
 */
export const REASONS = {
  GROUP_NOT_FOUND: { code: "NOT_FOUND", when: "the named group does not exist" },
  IDENTIFIER_NOT_FOUND: { code: "NOT_FOUND", when: "the named identifier does not exist in its group" },
  NAME_INVALID: { code: "INVALID_ARGUMENT", when: "a name breaks the naming rules, its length included (the field says which)" },
  NAME_RESERVED: { code: "INVALID_ARGUMENT", when: "`all` where it is not allowed" },
  GROUP_REQUIRED: { code: "INVALID_ARGUMENT", when: "an identifier given without its group" },
  TEXT_TOO_LONG: { code: "INVALID_ARGUMENT", when: "details or report text over 2048 bytes" },
  UTF8_INVALID: { code: "INVALID_ARGUMENT", when: "a string field that is not valid UTF-8" },
  STATUS_ZERO: { code: "INVALID_ARGUMENT", when: "status 0 (a status is a non-zero signed 32-bit integer)" },
  CAPACITY_OUT_OF_RANGE: { code: "INVALID_ARGUMENT", when: "report capacity over 32767" },
  DURATION_OUT_OF_RANGE: { code: "INVALID_ARGUMENT", when: "a ttl or remove_after outside 1 s to 30 days" },
  PAGE_SIZE_INVALID: { code: "INVALID_ARGUMENT", when: "a negative page size" },
  TTL_REQUIRED: { code: "INVALID_ARGUMENT", when: "remove_after with no lease" },
  PAGE_TOKEN_INVALID: { code: "INVALID_ARGUMENT", when: "a page token that is malformed, or reused with another request" },
  REVISION_AHEAD: { code: "INVALID_ARGUMENT", when: "start_revision above the registry's current revision" },
  HISTORY_COMPACTED: { code: "OUT_OF_RANGE", when: "start_revision older than the history (`oldest_revision` in metadata)" },
  CAPACITY_MISMATCH: { code: "ALREADY_EXISTS", when: "a re-registration with another report_capacity" },
  INTERNAL_GROUP: { code: "PERMISSION_DENIED", when: "a write to an internal group" },
  ROLE_FORBIDDEN: { code: "PERMISSION_DENIED", when: "the caller's role or groups do not allow the call" },
  TOKEN_MISSING: { code: "UNAUTHENTICATED", when: "no bearer token (or a malformed header) and no mapped client certificate" },
  TOKEN_UNKNOWN: { code: "UNAUTHENTICATED", when: "a bearer token this server does not know" },
  REPORTS_DISABLED: { code: "FAILED_PRECONDITION", when: "a report to an identifier of report capacity 0" },
  LEASE_NOT_ARMED: { code: "FAILED_PRECONDITION", when: "RefreshLease on an identifier with no armed lease" },
  LIMIT_REACHED: { code: "RESOURCE_EXHAUSTED", when: "a count limit (groups, identifiers, watchers, health List's 1,000); `limit` names it" },
  SHUTTING_DOWN: { code: "UNAVAILABLE", when: "a graceful stop has begun" },
  STORAGE_UNAVAILABLE: { code: "UNAVAILABLE", when: "the storage engine cannot be reached" },
  REPLICA_BEHIND: { code: "UNAVAILABLE", when: "a start_revision the cluster has but this replica has not applied within 5 s" },
} as const satisfies Record<string, { code: string; when: string }>;

export type Reason = keyof typeof REASONS;

/** The canonical gRPC code name a reason is sent with (`NOT_FOUND`, ...). */
export type ReasonCode = (typeof REASONS)[Reason]["code"];

/** Keys of `ErrorInfo.metadata`, each set when it applies. */
export type ErrorMetadataKey = "group" | "identifier" | "field" | "limit" | "oldest_revision";

export function isReason(value: unknown): value is Reason {
  return typeof value === "string" && Object.hasOwn(REASONS, value);
}
