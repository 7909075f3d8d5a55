/**
 * The four OpenSIPS MI commands of Status/Report (docs/mi.md), answered from
 * the registry with OpenSIPS's shapes, key names and error texts, so
 * monitoring scripts written for OpenSIPS work unchanged. Listings are read
 * whole through the domain's listing, not paged, and counted as they are
 * built against the answer's bound (answer-budget.ts).
 *
 * Choices where docs/mi.md is silent:
 * - A name that can never exist (empty, control characters, over 255 bytes,
 *   a `/` in a group, `all` where it is not the aggregate) answers like a
 *   name that does not exist: 404 "Group not found" / "Identity not found" /
 *   "Identifier not found". It is what OpenSIPS would answer.
 * - An empty identifier means `main` for sr_get_status only (as docs/mi.md says
 *   for a missing one); elsewhere it names nothing: 404.
 */
import { type ErrorFacts, type Reason, SrError } from "../../domain/errors.js";
import { type ParsedSelection, type SelectionRules, parseSelection } from "../../domain/listing/selection.js";
import { type ListedGroup, type ListedIdentifier, listGroups, requireSelected } from "../../domain/listing/walk.js";
import type { ReportEntry } from "../../domain/report-ring.js";
import type { Registry, StatusView } from "../../domain/registry/registry.js";
import type { AnswerBudget } from "./answer-budget.js";
import type { MiError } from "./mi.js";

export const NOT_FOUND = 404;

/** Parameters by name, as bound from the request: only the matched recipe's names are set. */
export type MiArgs = Record<string, string>;

export interface MiCommand {
  /** Accepted parameter lists, each in positional order. */
  recipes: string[][];
  /** How the command says an identifier does not exist: sr_get_status says "Identity" (sic, as OpenSIPS). */
  identifierNotFound: string;
  /** Counts what it answers on `budget` as it builds it, so an answer too large stops early. */
  run(registry: Registry, args: MiArgs, budget: AnswerBudget): unknown;
}

// ---- output shapes ----

function statusObject(view: StatusView): Record<string, unknown> {
  const out: Record<string, unknown> = { Readiness: view.ready, Status: view.status };
  if (view.details !== undefined) out.Details = view.details;
  return out;
}

const namedStatus = (identifier: ListedIdentifier) => ({ Name: identifier.name, ...statusObject(identifier.status) });

/** A named container's own bytes (its name, keys and brackets); its members are counted one by one. */
const container = (budget: AnswerBudget, name: string) => budget.charge(Buffer.byteLength(JSON.stringify(name)) + 32);

const statusesOf = (budget: AnswerBudget, group: ListedGroup | undefined) =>
  (group?.identifiers ?? []).map((identifier) => budget.take(namedStatus(identifier)));

const pad2 = (n: number) => String(n).padStart(2, "0");
const DAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** C's ctime() of a millisecond time (truncated to its second), local time, without the newline. */
export function ctime(ms: number): string {
  const d = new Date(Math.floor(ms / 1000) * 1000);
  const day = String(d.getDate()).padStart(2, " ");
  const clock = `${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`;
  return `${DAYS[d.getDay()]} ${MONTHS[d.getMonth()]} ${day} ${clock} ${d.getFullYear()}`;
}

const reportObject = (report: ReportEntry) => ({
  Timestamp: Math.floor(report.time / 1000),
  Date: ctime(report.time),
  Log: report.text,
});

const reportsOf = (budget: AnswerBudget, identifier: ListedIdentifier | undefined) =>
  (identifier?.reports() ?? []).map((report) => budget.take(reportObject(report)));

const identifierReports = (budget: AnswerBudget, identifier: ListedIdentifier) => {
  container(budget, identifier.name);
  return { Name: identifier.name, Reports: reportsOf(budget, identifier) };
};

// ---- what a command names ----

/** A parameter left out selects everything; one given empty names nothing. */
const MI_SELECTION: SelectionRules = { call: "list", emptySelectsEvery: false };

/** The group is checked, name then existence, before the identifier, as OpenSIPS looks them up. */
function select(registry: Registry, args: { group?: string | undefined; identifier?: string | undefined }): ParsedSelection {
  const group = parseSelection({ group: args.group }, MI_SELECTION);
  requireSelected(registry, group);
  return args.identifier === undefined ? group : parseSelection(args, MI_SELECTION);
}

/** The selected groups, read one at a time as the answer is built (and charged to its budget). */
const readGroups = (registry: Registry, args: MiArgs): Iterable<ListedGroup> => listGroups(registry, select(registry, args));

function mapEach<T, U>(items: Iterable<T>, f: (item: T) => U): U[] {
  const out: U[] = [];
  for (const item of items) out.push(f(item));
  return out;
}

function first<T>(items: Iterable<T>): T | undefined {
  for (const item of items) return item;
  return undefined;
}

// ---- the four commands ----

const IDENTIFIER_NOT_FOUND = "Identifier not found";

const getStatus: MiCommand = {
  recipes: [["group"], ["group", "identifier"]],
  identifierNotFound: "Identity not found",
  run(registry, { group, identifier = "" }, budget) {
    select(registry, { group });
    // Missing or empty: main. `all` (any case): the group aggregated.
    return budget.take(statusObject(registry.getStatus({ group, identifier }).status));
  },
};

const listStatus: MiCommand = {
  recipes: [[], ["group"]],
  identifierNotFound: IDENTIFIER_NOT_FOUND,
  run(registry, args, budget) {
    const groups = readGroups(registry, args);
    if (args.group !== undefined) return statusesOf(budget, first(groups));
    return mapEach(groups, (g) => {
      container(budget, g.name);
      return { Name: g.name, Identifiers: statusesOf(budget, g) };
    });
  },
};

const listReports: MiCommand = {
  recipes: [[], ["group"], ["group", "identifier"]],
  identifierNotFound: IDENTIFIER_NOT_FOUND,
  run(registry, args, budget) {
    const groups = readGroups(registry, args);
    const identifiersOf = (g: ListedGroup | undefined) => (g?.identifiers ?? []).map((i) => identifierReports(budget, i));
    if (args.group === undefined) {
      return mapEach(groups, (g) => {
        container(budget, g.name);
        return { Name: g.name, Identifiers: identifiersOf(g) };
      });
    }
    if (args.identifier === undefined) return identifiersOf(first(groups));
    return reportsOf(budget, first(groups)?.identifiers[0]);
  },
};

const listIdentifiers: MiCommand = {
  recipes: [[], ["group"]],
  identifierNotFound: IDENTIFIER_NOT_FOUND,
  run(registry, args, budget) {
    const shape = (g: ListedGroup) => {
      container(budget, g.name);
      return { Group: g.name, Identifiers: g.identifiers.map((i) => budget.take(i.name)) };
    };
    const groups = readGroups(registry, args);
    if (args.group === undefined) return mapEach(groups, shape);
    const found = first(groups);
    return found && shape(found);
  },
};

/** Each command under its 3.3 name and its 4.0 alias. */
export const MI_COMMANDS: ReadonlyMap<string, MiCommand> = new Map([
  ["sr_get_status", getStatus],
  ["status_report:get", getStatus],
  ["sr_list_status", listStatus],
  ["status_report:status", listStatus],
  ["sr_list_reports", listReports],
  ["status_report:reports", listReports],
  ["sr_list_identifiers", listIdentifiers],
  ["status_report:identifiers", listIdentifiers],
]);

// ---- domain errors ----

type MiAnswer = (command: MiCommand, facts: ErrorFacts) => MiError;

const GROUP_NOT_FOUND: MiError = { code: NOT_FOUND, message: "Group not found" };
const identifierMissing: MiAnswer = (command) => ({ code: NOT_FOUND, message: command.identifierNotFound });
/** A name that can never exist is answered like a missing one: a script cannot tell them apart anyway. */
const neverExists: MiAnswer = (command, facts) => (facts.field === "group" ? GROUP_NOT_FOUND : identifierMissing(command, facts));

/** The one table from a domain reason to an MI error; a reason not in it is an internal error. */
const MI_ERRORS: Partial<Record<Reason, MiAnswer>> = {
  GROUP_NOT_FOUND: () => GROUP_NOT_FOUND,
  IDENTIFIER_NOT_FOUND: identifierMissing,
  NAME_INVALID: neverExists,
  UTF8_INVALID: neverExists,
  NAME_RESERVED: neverExists,
};

/** The MI error a command's failure answers; undefined when it is no domain error MI knows. */
export function miErrorOf(error: unknown, command: MiCommand): MiError | undefined {
  return error instanceof SrError ? MI_ERRORS[error.reason]?.(command, error.facts) : undefined;
}
