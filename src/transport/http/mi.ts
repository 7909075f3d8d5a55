/**
 * The MI endpoint's JSON-RPC 2.0 envelope and parameters (docs/mi.md): it
 * binds a request to one of the commands (commands.ts) and turns what they
 * answer or throw into responses. Pure: no sockets, no clock; the HTTP side
 * lives in server.ts.
 *
 * Choices where docs/mi.md and JSON-RPC 2.0 are silent:
 * - Parameter values are strings; an integer is taken as its decimal text (as
 *   OpenSIPS does); any other type is -32602 "Invalid params" naming it.
 * - Named parameters must match a recipe's names exactly (case-sensitive);
 *   an unknown name is -32602 like a wrong count. `"params": null` is taken
 *   as no parameters.
 * - Method names are matched exactly (case-sensitive).
 */
import { SrError } from "../../domain/errors.js";
import type { Registry } from "../../domain/registry/registry.js";
import { AnswerBudget, AnswerTooLarge, DEFAULT_MAX_ANSWER_BYTES } from "./answer-budget.js";
import { MI_COMMANDS, type MiArgs, miErrorOf } from "./commands.js";

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
/** In JSON-RPC's range for server errors: the answer would pass `limits.max_answer_bytes`. */
export const ANSWER_TOO_LARGE = -32000;

/**
 * Told of every call answered with an error (for the server's logs): `reason`
 * is the domain's when a domain rule refused it; `cause` is set only for a
 * failure of ours (INTERNAL_ERROR).
 */
export type MiErrorListener = (method: string, error: MiError & { reason?: string | undefined }, cause?: unknown) => void;

/** Requests in one JSON-RPC batch. */
export const MAX_BATCH = 100;

/** Thrown while binding parameters to answer -32602. */
class InvalidParams extends Error {
  constructor(readonly data: string) {
    super(data);
  }
}

// ---- parameters ----

const tooFewOrMany = (): never => {
  throw new InvalidParams("Too few or too many parameters");
};

function paramValue(name: string, value: unknown): string {
  if (typeof value === "string") return value;
  if (typeof value === "number" && Number.isSafeInteger(value)) return String(value);
  throw new InvalidParams(`Parameter '${name}' must be a string`);
}

/** Picks the recipe the parameters match (by count when positional, by names when named). */
function bindParams(recipes: string[][], params: unknown): MiArgs {
  const args: MiArgs = {};
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
function handleOne(registry: Registry, request: unknown, budget: AnswerBudget, onError?: MiErrorListener): MiResponse | undefined {
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
  const response = answer(registry, request.method, params, id as Id, budget, onError);
  return notification ? undefined : response;
}

function answer(registry: Registry, method: string, params: unknown, id: Id, budget: AnswerBudget, onError?: MiErrorListener): MiResponse {
  const refused = (error: MiError, reason?: string): MiResponse => {
    onError?.(method, { ...error, reason });
    return errorResponse(id, error);
  };
  const command = MI_COMMANDS.get(method);
  if (!command) return refused({ code: METHOD_NOT_FOUND, message: "Method not found" });
  try {
    const args = bindParams(command.recipes, params);
    return { jsonrpc: "2.0", result: budget.measure(() => command.run(registry, args, budget)), id };
  } catch (error) {
    if (error instanceof InvalidParams) return refused({ code: INVALID_PARAMS, message: "Invalid params", data: error.data });
    if (error instanceof AnswerTooLarge) return refused({ code: ANSWER_TOO_LARGE, message: "Answer too large", data: error.message });
    const known = miErrorOf(error, command);
    if (known) return refused(known, error instanceof SrError ? error.reason : undefined);
    const internal = { code: INTERNAL_ERROR, message: "Internal error", data: error instanceof Error ? error.message : String(error) };
    onError?.(method, internal, error);
    return errorResponse(id, internal);
  }
}

/**
 * Answers a parsed JSON-RPC 2.0 body: a request or a batch (array). Returns
 * undefined when nothing is to be sent back (a notification, or a batch of
 * notifications only). Never throws. The results of one body, a batch's
 * together, hold at most about `maxAnswerBytes` of JSON: a request that would
 * pass it answers ANSWER_TOO_LARGE instead.
 */
export function handleMiRequest(
  registry: Registry,
  body: unknown,
  maxAnswerBytes = DEFAULT_MAX_ANSWER_BYTES,
  onError?: MiErrorListener,
): MiResponse | MiResponse[] | undefined {
  const budget = new AnswerBudget(maxAnswerBytes);
  if (!Array.isArray(body)) return handleOne(registry, body, budget, onError);
  if (body.length === 0) return invalidRequest(null, "a batch must not be empty");
  // Each call may list the whole registry: bound what one HTTP request can ask for.
  if (body.length > MAX_BATCH) return invalidRequest(null, `a batch holds at most ${MAX_BATCH} requests`);
  const responses = body.map((request) => handleOne(registry, request, budget, onError)).filter((r): r is MiResponse => r !== undefined);
  return responses.length > 0 ? responses : undefined;
}
