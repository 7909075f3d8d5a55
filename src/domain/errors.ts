/**
 * Domain errors. Each carries a stable reason (docs/errors.md), the facts a
 * caller can act on, and a message for people; the adapters map the reason to
 * their own codes, each in one table (transport/grpc/errors.ts, the MI and
 * health adapters). The domain knows nothing of gRPC or HTTP.
 */
import type { Reason } from "../protocol/wire.js";

export type { Reason } from "../protocol/wire.js";

/** What an error is about, each set when it applies (sent as `ErrorInfo.metadata`). */
export interface ErrorFacts {
  field?: string;
  group?: string;
  identifier?: string;
  /** The configuration key of the limit reached, e.g. `limits.max_groups`. */
  limit?: string;
  /** For HISTORY_COMPACTED: the oldest `start_revision` still resumable. */
  oldestRevision?: number;
}

export class SrError extends Error {
  constructor(
    readonly reason: Reason,
    message: string,
    readonly facts: ErrorFacts = {},
  ) {
    super(message);
    this.name = "SrError";
  }
}

/** A malformed or out-of-range argument: the message names the field, then the rule. */
export const invalidArgument = (reason: Reason, field: string, rule: string, facts: ErrorFacts = {}): SrError =>
  new SrError(reason, `${field}: ${rule}`, { field, ...facts });

export const groupNotFound = (group: string): SrError => new SrError("GROUP_NOT_FOUND", `group '${group}' not found`, { group });

export const identifierNotFound = (group: string, identifier: string): SrError =>
  new SrError("IDENTIFIER_NOT_FOUND", `identifier '${identifier}' not found in group '${group}'`, { group, identifier });

/** A count limit: the message starts with the limit's configuration key. */
export const limitReached = (limit: string, rule: string, facts: ErrorFacts = {}): SrError =>
  new SrError("LIMIT_REACHED", `${limit}: ${rule}`, { limit, ...facts });
