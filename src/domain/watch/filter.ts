import { WATCH_SELECTION, parseSelection } from "../listing/selection.js";
import type { Change } from "../registry/registry.js";

export interface WatchRequest {
  group: string;
  identifier: string;
  startRevision?: number | undefined;
  includeDetails: boolean;
  includeReports: boolean;
  includeRegistrations: boolean;
}

/** Where a watcher looks, by folded names: "" for everything (or every identifier of the group). */
export interface WatchKeys {
  groupKey: string;
  identifierKey: string;
}

/** What a WatchStatus stream receives. */
export interface WatchFilter extends WatchKeys {
  includeDetails: boolean;
  includeReports: boolean;
  includeRegistrations: boolean;
}

/** Checks a request's selection (the one parser of listing/selection.ts) into its filter. */
export function filterOf(request: WatchRequest): WatchFilter {
  const { groupKey, identifierKey } = parseSelection(request, WATCH_SELECTION);
  return {
    groupKey,
    identifierKey,
    includeDetails: request.includeDetails,
    includeReports: request.includeReports,
    includeRegistrations: request.includeRegistrations,
  };
}

/** Whether a change is about what `keys` select. */
export function touches(keys: WatchKeys, change: Change): boolean {
  if (keys.groupKey && change.groupKey !== keys.groupKey) return false;
  // A whole group's removal (identifierKey "") removes the watched identifier too.
  return !keys.identifierKey || change.identifierKey === keys.identifierKey || change.identifierKey === "";
}

/** Whether a WatchStatus stream with `filter` sends `change`. */
export function matches(filter: WatchFilter, change: Change): boolean {
  if (!touches(filter, change)) return false;
  switch (change.kind) {
    case "status":
      return change.statusChanged || filter.includeDetails;
    case "report":
      return filter.includeReports;
    case "registered":
    case "unregistered":
      return filter.includeRegistrations;
  }
}
