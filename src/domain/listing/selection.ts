/**
 * What a listing, a watch or an MI command covers: every group, one group, or
 * one identifier of a group. One parser for all of them, so the name rules
 * and their errors are the same everywhere (docs/model.md, docs/errors.md).
 */
import { invalidArgument } from "../errors.js";
import { ALL, checkName, foldName } from "../names.js";

/** The calls a selection is parsed for; each says what an empty identifier does instead of `all`. */
export type SelectionCall = "list" | "watch";

const EVERY_IDENTIFIER: Record<SelectionCall, string> = {
  list: "list every identifier",
  watch: "watch every identifier of the group",
};

export interface SelectionRules {
  call: SelectionCall;
  /**
   * Whether "" selects every group (or identifier), as in the gRPC API. When
   * false, "" is checked as a name (and refused): MI leaves a parameter out
   * to select everything instead.
   */
  emptySelectsEvery: boolean;
}

export const LIST_SELECTION: SelectionRules = { call: "list", emptySelectsEvery: true };
export const WATCH_SELECTION: SelectionRules = { call: "watch", emptySelectsEvery: true };

export interface SelectionInput {
  /** Missing (or "" when empty selects every): every group. */
  group?: string | undefined;
  /** Missing (or "" when empty selects every): every identifier of the selection's groups. */
  identifier?: string | undefined;
}

export interface ParsedSelection {
  /** The names as given; "" when every group (or identifier) is selected. */
  readonly group: string;
  readonly identifier: string;
  /** The folded names, for lookups and filters; "" likewise. */
  readonly groupKey: string;
  readonly identifierKey: string;
}

/** Checks the names of a selection, the group's first, before anything is looked up. */
export function parseSelection(input: SelectionInput, rules: SelectionRules): ParsedSelection {
  const named = (name: string | undefined): name is string => name !== undefined && (name !== "" || !rules.emptySelectsEvery);
  let group = "";
  let identifier = "";
  if (named(input.group)) {
    checkName("group", input.group, "group");
    group = input.group;
  }
  if (named(input.identifier)) {
    if (group === "") throw invalidArgument("GROUP_REQUIRED", "identifier", "needs a group (an identifier is named within its group)");
    if (foldName(input.identifier) === ALL) {
      throw invalidArgument("NAME_RESERVED", "identifier", `'all' is not allowed here (leave identifier empty to ${EVERY_IDENTIFIER[rules.call]})`);
    }
    checkName("identifier", input.identifier, "identifier");
    identifier = input.identifier;
  }
  return { group, identifier, groupKey: foldName(group), identifierKey: foldName(identifier) };
}
