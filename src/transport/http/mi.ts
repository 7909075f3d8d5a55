/**
 * OpenSIPS-compatible management interface (MI) over JSON-RPC 2.0, answered
 * from the registry. Pure: no sockets, no clock; the HTTP side lives in
 * server.ts. The shapes, key names and error texts are those of OpenSIPS
 * (see MI.md), so monitoring scripts written for OpenSIPS work unchanged.
 *
 * Choices where MI.md and JSON-RPC 2.0 are silent:
 * - A name that can never exist (empty, control characters, over 255 bytes,
 *   a `/` in a group, `all` where it is not the aggregate) answers like a
 *   name that does not exist: 404 "Group not found" / "Identity not found" /
 *   "Identifier not found". It is what OpenSIPS would answer, and a script
 *   cannot tell an invalid name from a missing one anyway.
 * - An empty identifier means `main` for sr_get_status only (as MI.md says
 *   for a missing one); elsewhere it names nothing: 404.
 * - Parameter values are strings; an integer is taken as its decimal text (as
 *   OpenSIPS does); any other type is -32602 "Invalid params" naming it.
 * - Named parameters must match a recipe's names exactly (case-sensitive);
 *   an unknown name is -32602 like a wrong count. `"params": null` is taken
 *   as no parameters.
 * - Method names are matched exactly (case-sensitive).
 */
import { SrError } from "../../domain/errors.js";
import { ALL, checkName, foldName } from "../../domain/names.js";
import type { ReportEntry } from "../../domain/report-ring.js";
import type { IdentifierReports, Page, Registry, StatusView } from "../../domain/registry/registry.js";

/** A JSON-RPC 2.0 id: only these are valid. */
type Id = string | number | null;

export interface MiError {
  code: number;
  message: string;
  data?: string;
}

export type MiResponse =
  | { jsonrpc: "2.0"; result: unknown; id: Id }
  | { jsonrpc: "2.0"; error: MiError; id: Id };

export const PARSE_ERROR = -32700;
export const INVALID_REQUEST = -32600;
export const METHOD_NOT_FOUND = -32601;
export const INVALID_PARAMS = -32602;
export const INTERNAL_ERROR = -32603;
export const NOT_FOUND = 404;

/** Requests in one JSON-RPC batch. */
export const MAX_BATCH = 100;

/** Registry listings are read whole: pages of the largest size, followed to the end. */
const LIST_PAGE_SIZE = 10_000;

/** Thrown inside a method to answer a JSON-RPC error. */
class MiFailure extends Error {
  constructor(readonly error: MiError) {
    super(error.message);
  }
}

const fail = (code: number, message: string, data?: string): never => {
  throw new MiFailure(data === undefined ? { code, message } : { code, message, data });
};
const groupNotFound = () => fail(NOT_FOUND, "Group not found");

type Args = Record<string, string>;

interface Command {
  /** Accepted parameter lists, each in positional order. */
  recipes: string[][];
  run(registry: Registry, args: Args): unknown;
}

// ---- output shapes ----

function statusObject(view: StatusView): Record<string, unknown> {
  const out: Record<string, unknown> = { Readiness: view.ready, Status: view.status };
  if (view.details !== undefined) out.Details = view.details;
  return out;
}

const namedStatus = (view: StatusView) => ({ Name: view.identifier, ...statusObject(view) });

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

// ---- names ----

function validName(name: string, kind: "group" | "identifier"): boolean {
  try {
    checkName(kind, name, kind);
    return true;
  } catch {
    return false;
  }
}

/** The group's existence, checked before anything else of the request (as OpenSIPS does). */
function requireGroup(registry: Registry, group: string): void {
  if (!validName(group, "group") || registry.isInternal(group) === undefined) groupNotFound();
}

/** Every page of a listing, from the first to the one with an empty token. */
function readAll<T>(list: (pageToken: string) => Page<T>): T[] {
  const out: T[] = [];
  let token = "";
  do {
    const page = list(token);
    out.push(...page.groups);
    token = page.nextPageToken;
  } while (token !== "");
  return out;
}

/**
 * Joins a group split across pages into one entry (a page repeats the header
 * of a group it continues); `join` does the same for the group's items.
 */
function mergeGroups<I, G extends { group: string; identifiers: I[] }>(pages: G[], join: (into: I[], item: I) => void = (into, item) => void into.push(item)): G[] {
  const out: G[] = [];
  for (const page of pages) {
    const last = out[out.length - 1];
    const into = last !== undefined && last.group === page.group ? last : undefined;
    const target = into ?? { ...page, identifiers: [] as I[] };
    if (!into) out.push(target);
    for (const item of page.identifiers) join(target.identifiers, item);
  }
  return out;
}

function listStatus(registry: Registry, group: string) {
  return mergeGroups(readAll((pageToken) => registry.listStatus({ group, pageSize: LIST_PAGE_SIZE, pageToken })));
}

function listIdentifiers(registry: Registry, group: string) {
  return mergeGroups(readAll((pageToken) => registry.listIdentifiers({ group, pageSize: LIST_PAGE_SIZE, pageToken })));
}

/** Reports, with an identifier whose reports continue on the next page joined too. */
function listReports(registry: Registry, group: string, identifier: string) {
  const pages = readAll((pageToken) => registry.listReports({ group, identifier, pageSize: LIST_PAGE_SIZE, pageToken }));
  return mergeGroups(pages, (into: IdentifierReports[], item) => {
    const last = into[into.length - 1];
    if (last !== undefined && last.identifier === item.identifier) into[into.length - 1] = { ...last, reports: [...last.reports, ...item.reports] };
    else into.push(item);
  });
}

const identifierReports = (entry: { identifier: string; reports: ReportEntry[] }) => ({
  Name: entry.identifier,
  Reports: entry.reports.map(reportObject),
});

// ---- the four commands ----

const getStatus: Command = {
  recipes: [["group"], ["group", "identifier"]],
  run(registry, { group, identifier = "" }) {
    requireGroup(registry, group);
    // Missing or empty: main. `all` (any case): the group aggregated.
    if (identifier !== "" && foldName(identifier) !== ALL && !validName(identifier, "identifier")) {
      fail(NOT_FOUND, "Identity not found");
    }
    const { status } = registry.getStatus({ group, identifier });
    return statusObject(status);
  },
};

const listStatusCommand: Command = {
  recipes: [[], ["group"]],
  run(registry, { group }) {
    if (group !== undefined) {
      requireGroup(registry, group);
      return (listStatus(registry, group)[0]?.identifiers ?? []).map(namedStatus);
    }
    return listStatus(registry, "").map((g) => ({ Name: g.group, Identifiers: g.identifiers.map(namedStatus) }));
  },
};

const listReportsCommand: Command = {
  recipes: [[], ["group"], ["group", "identifier"]],
  run(registry, { group, identifier }) {
    if (group === undefined) {
      return listReports(registry, "", "").map((g) => ({ Name: g.group, Identifiers: g.identifiers.map(identifierReports) }));
    }
    requireGroup(registry, group);
    if (identifier === undefined) return (listReports(registry, group, "")[0]?.identifiers ?? []).map(identifierReports);
    if (!validName(identifier, "identifier")) fail(NOT_FOUND, "Identifier not found");
    const reports = listReports(registry, group, identifier)[0]?.identifiers[0]?.reports ?? [];
    return reports.map(reportObject);
  },
};

const listIdentifiersCommand: Command = {
  recipes: [[], ["group"]],
  run(registry, { group }) {
    const shape = (g: { group: string; identifiers: string[] }) => ({ Group: g.group, Identifiers: g.identifiers });
    if (group === undefined) return listIdentifiers(registry, "").map(shape);
    requireGroup(registry, group);
    const [found] = listIdentifiers(registry, group);
    return found ? shape(found) : groupNotFound();
  },
};

/** Each command under its 3.3 name and its 4.0 alias. */
export const MI_COMMANDS: ReadonlyMap<string, Command> = new Map([
  ["sr_get_status", getStatus],
  ["status_report:get", getStatus],
  ["sr_list_status", listStatusCommand],
  ["status_report:status", listStatusCommand],
  ["sr_list_reports", listReportsCommand],
  ["status_report:reports", listReportsCommand],
  ["sr_list_identifiers", listIdentifiersCommand],
  ["status_report:identifiers", listIdentifiersCommand],
]);

// ---- parameters ----

const tooFewOrMany = () => fail(INVALID_PARAMS, "Invalid params", "Too few or too many parameters");

function paramValue(name: string, value: unknown): string {
  if (typeof value === "string") return value;
  if (typeof value === "number" && Number.isSafeInteger(value)) return String(value);
  return fail(INVALID_PARAMS, "Invalid params", `Parameter '${name}' must be a string`);
}

/** Picks the recipe the parameters match (by count when positional, by names when named). */
function bindParams(recipes: string[][], params: unknown): Args {
  const args: Args = {};
  if (params === undefined || params === null) params = [];
  if (Array.isArray(params)) {
    const recipe = recipes.find((r) => r.length === params.length) ?? tooFewOrMany();
    recipe.forEach((name, i) => (args[name] = paramValue(name, (params as unknown[])[i])));
    return args;
  }
  const given = params as Record<string, unknown>;
  const names = Object.keys(given);
  const recipe = recipes.find((r) => r.length === names.length && r.every((name) => Object.hasOwn(given, name))) ?? tooFewOrMany();
  for (const name of recipe) args[name] = paramValue(name, given[name]);
  return args;
}

// ---- the envelope ----

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

const isId = (value: unknown): value is Id =>
  value === null || typeof value === "string" || (typeof value === "number" && Number.isFinite(value));

export const errorResponse = (id: Id, error: MiError): MiResponse => ({ jsonrpc: "2.0", error, id });

/** The answer to a body that is not JSON (JSON-RPC 2.0: id null). */
export function parseErrorResponse(detail?: string): MiResponse {
  return errorResponse(null, detail === undefined ? { code: PARSE_ERROR, message: "Parse error" } : { code: PARSE_ERROR, message: "Parse error", data: detail });
}

function invalidRequest(id: unknown, data: string): MiResponse {
  return errorResponse(isId(id) ? id : null, { code: INVALID_REQUEST, message: "Invalid Request", data });
}

/** One request object; undefined for a notification (no `id`), which gets no answer. */
function handleOne(registry: Registry, request: unknown): MiResponse | undefined {
  if (!isObject(request)) return invalidRequest(null, "a request must be an object");
  const { id } = request;
  if (request.jsonrpc !== "2.0") return invalidRequest(id, "'jsonrpc' must be \"2.0\"");
  if (typeof request.method !== "string") return invalidRequest(id, "'method' must be a string");
  if ("id" in request && !isId(id)) return invalidRequest(null, "'id' must be a string, a number or null");
  const params = request.params;
  if (params !== undefined && params !== null && typeof params !== "object") {
    return invalidRequest(id, "'params' must be an object or an array");
  }
  const notification = !("id" in request);
  let response: MiResponse;
  const command = MI_COMMANDS.get(request.method);
  if (!command) {
    response = errorResponse(id as Id, { code: METHOD_NOT_FOUND, message: "Method not found" });
  } else {
    try {
      response = { jsonrpc: "2.0", result: command.run(registry, bindParams(command.recipes, params)), id: id as Id };
    } catch (error) {
      response = errorResponse(id as Id, toMiError(error, request.method));
    }
  }
  return notification ? undefined : response;
}

function toMiError(error: unknown, method: string): MiError {
  if (error instanceof MiFailure) return error.error;
  // Every name is checked before the registry is asked, so these are races
  // that cannot happen in one synchronous call; answer them sensibly anyway.
  if (error instanceof SrError && error.reason === "GROUP_NOT_FOUND") return { code: NOT_FOUND, message: "Group not found" };
  if (error instanceof SrError && error.reason === "IDENTIFIER_NOT_FOUND") {
    const getStatusCommand = MI_COMMANDS.get(method) === getStatus;
    return { code: NOT_FOUND, message: getStatusCommand ? "Identity not found" : "Identifier not found" };
  }
  return { code: INTERNAL_ERROR, message: "Internal error", data: error instanceof Error ? error.message : String(error) };
}

/**
 * Answers a parsed JSON-RPC 2.0 body: a request or a batch (array). Returns
 * undefined when nothing is to be sent back (a notification, or a batch of
 * notifications only). Never throws.
 */
export function handleMiRequest(registry: Registry, body: unknown): MiResponse | MiResponse[] | undefined {
  if (!Array.isArray(body)) return handleOne(registry, body);
  if (body.length === 0) return invalidRequest(null, "a batch must not be empty");
  // Each call may list the whole registry: bound what one HTTP request can ask for.
  if (body.length > MAX_BATCH) return invalidRequest(null, `a batch holds at most ${MAX_BATCH} requests`);
  const responses = body.map((request) => handleOne(registry, request)).filter((r): r is MiResponse => r !== undefined);
  return responses.length > 0 ? responses : undefined;
}
