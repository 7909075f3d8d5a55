/**
 * The registry's value rules and the errors of its write rules (docs/model.md),
 * kept apart from the state so each reads on its own. Pure: no state.
 */
import { SrError, invalidArgument, limitReached } from "../errors.js";
import { checkLeaseArguments } from "../leases/rules.js";
import { ALL, MAIN, checkName, checkText, foldName } from "../names.js";
import type { RegisterGroupInput, RegistryLimits } from "./types.js";

export const DEFAULT_STATUS = 1;
export const DEFAULT_REPORT_CAPACITY = 50;
export const MAX_REPORT_CAPACITY = 32767;

export const DEFAULT_LIMITS: RegistryLimits = {
  maxGroups: 10_000,
  maxIdentifiersPerGroup: 10_000,
  maxIdentifiers: 100_000,
};

export function checkStatusValue(field: string, status: number): void {
  if (!Number.isInteger(status) || status < -2147483648 || status > 2147483647) {
    throw invalidArgument("STATUS_ZERO", field, "must be a signed 32-bit integer");
  }
  if (status === 0) throw invalidArgument("STATUS_ZERO", field, "must not be 0 (> 0 is ready, < 0 is not ready)");
}

function checkCapacity(capacity: number): void {
  if (!Number.isInteger(capacity) || capacity < 0 || capacity > MAX_REPORT_CAPACITY) {
    throw invalidArgument("CAPACITY_OUT_OF_RANGE", "report_capacity", `must be between 0 and ${MAX_REPORT_CAPACITY} (got ${capacity})`);
  }
}

/** The optional values of a registration (status, details, report capacity, lease), in field order. */
export function checkRegistration(input: RegisterGroupInput): void {
  if (input.status !== undefined) checkStatusValue("status", input.status);
  if (input.details !== undefined) checkText("details", input.details);
  if (input.reportCapacity !== undefined) checkCapacity(input.reportCapacity);
  checkLeaseArguments(input, true);
}

/** The identifier a write names: empty means `main`, `all` is refused. */
export function writeIdentifierName(identifier: string): string {
  const name = identifier === "" ? MAIN : identifier;
  if (foldName(name) === ALL) {
    throw invalidArgument("NAME_RESERVED", "identifier", "'all' is reserved (it means the whole group) and cannot be written");
  }
  checkName("identifier", name, "identifier");
  return name;
}

export const internalGroupDenied = (group: string): SrError =>
  new SrError("INTERNAL_GROUP", `group '${group}' is internal to the server and read-only`, { group });

/** A re-registration asking for another report capacity; `what` names the group or identifier. */
export function capacityMismatch(what: string, capacity: number, wanted: number, facts: { group: string; identifier?: string }): SrError {
  return new SrError("CAPACITY_MISMATCH", `report_capacity: ${what} already exists with report capacity ${capacity}, not ${wanted}`, {
    field: "report_capacity",
    ...facts,
  });
}

export const reportsDisabled = (group: string, identifier: string): SrError =>
  new SrError("REPORTS_DISABLED", `identifier '${identifier}' of group '${group}' has report capacity 0 and accepts no reports`, {
    group,
    identifier,
  });

/** A new group needs room for itself and for its `main`. */
export function checkGroupRoom(limits: RegistryLimits, groups: number, identifiers: number): void {
  if (groups >= limits.maxGroups) {
    throw limitReached("limits.max_groups", `the registry holds its maximum of ${limits.maxGroups} groups`);
  }
  if (identifiers >= limits.maxIdentifiers) {
    throw limitReached(
      "limits.max_identifiers",
      `the registry holds its maximum of ${limits.maxIdentifiers} identifiers (a group needs one for main)`,
    );
  }
}

export function checkIdentifierRoom(limits: RegistryLimits, group: string, inGroup: number, identifiers: number): void {
  if (inGroup >= limits.maxIdentifiersPerGroup) {
    throw limitReached("limits.max_identifiers_per_group", `group '${group}' holds its maximum of ${limits.maxIdentifiersPerGroup} identifiers`, {
      group,
    });
  }
  if (identifiers >= limits.maxIdentifiers) {
    throw limitReached("limits.max_identifiers", `the registry holds its maximum of ${limits.maxIdentifiers} identifiers`);
  }
}
