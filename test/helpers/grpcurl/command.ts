/**
 * The grpcurl command line, run in-process: its flags, its verbs, what it
 * writes to stdout and stderr, and its exit codes. It knows nothing but what
 * server reflection tells it (see resolver.ts).
 */
import * as grpc from "@grpc/grpc-js";
import { type JsonValue, fromJson, toBinary } from "@bufbuild/protobuf";
import { CallError, ReflectionClient, invokeServerStream, invokeUnary } from "./client.js";
import { describe, formatMessage, formatStatus } from "./printer.js";
import { resolveSymbols, resolveTypeUrl } from "./resolver.js";

export interface GrpcurlResult {
  stdout: string;
  stderr: string;
  /** 0, 1 for a failed lookup, 2 for a usage error, 64 + the status code for a failed RPC (as grpcurl). */
  code: number;
}

interface Args {
  plaintext: boolean;
  data: string | undefined;
  maxTime: number | undefined;
  headers: string[];
  positional: string[];
}

class UsageError extends Error {}

/** Go's flag package: -flag, --flag, -flag=value, -flag value; flags stop at the first positional. */
function parseArgs(argv: string[]): Args {
  const args: Args = { plaintext: false, data: undefined, maxTime: undefined, headers: [], positional: [] };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (args.positional.length > 0 || !arg.startsWith("-")) {
      args.positional.push(arg);
      continue;
    }
    const [name, inline] = arg.replace(/^--?/, "").split(/=(.*)/s, 2) as [string, string | undefined];
    const value = () => {
      if (inline !== undefined) return inline;
      const next = argv[++i];
      if (next === undefined) throw new UsageError(`flag needs an argument: -${name}`);
      return next;
    };
    switch (name) {
      case "plaintext":
        args.plaintext = inline === undefined || inline === "true";
        break;
      case "d":
        args.data = value();
        break;
      case "max-time": {
        const text = value();
        const seconds = Number(text);
        if (!Number.isFinite(seconds) || seconds <= 0) throw new UsageError(`invalid value "${text}" for flag -max-time`);
        args.maxTime = seconds;
        break;
      }
      case "H":
        args.headers.push(value());
        break;
      default:
        throw new UsageError(`flag provided but not defined: -${name}`);
    }
  }
  if (args.positional.length === 0) throw new UsageError("too few arguments");
  if (!/^[^\s:]+:\d+$/.test(args.positional[0]!)) throw new UsageError(`invalid address ${args.positional[0]}`);
  return args;
}

function metadataOf(headers: string[]): grpc.Metadata {
  const metadata = new grpc.Metadata();
  for (const header of headers) {
    const colon = header.indexOf(":");
    if (colon < 0) throw new UsageError(`invalid header ${header}`);
    metadata.add(header.slice(0, colon).trim().toLowerCase(), header.slice(colon + 1).trim());
  }
  return metadata;
}

/** Runs `step`, naming what failed the way grpcurl's fail() does: "context: error". */
async function failing<T>(context: string, step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (error) {
    throw new Error(`${context}: ${(error as Error).message}`);
  }
}

async function list(reflection: ReflectionClient, service: string | undefined): Promise<string[]> {
  if (service === undefined) return (await failing("Failed to list services", () => reflection.listServices())).sort();
  return failing(`Failed to list methods for service "${service}"`, async () => {
    const found = (await resolveSymbols(reflection, [service])).registry.getService(service);
    if (!found) throw new Error(`Service not found: ${service}`);
    return found.methods.map((m) => `${service}.${m.name}`);
  });
}

async function describeAll(reflection: ReflectionClient, symbol: string | undefined): Promise<string[]> {
  const symbols = symbol === undefined ? (await failing("Failed to list services", () => reflection.listServices())).sort() : [symbol];
  const out: string[] = [];
  for (const s of symbols.map((name) => name.replace(/^\./, ""))) {
    // A method's file is the file of its service.
    out.push(await failing(`Failed to resolve symbol "${s}"`, async () => describe((await resolveSymbols(reflection, [s])).registry, s)));
  }
  return out;
}

interface Invocation {
  reflection: ReflectionClient;
  client: grpc.Client;
  target: string;
  data: string | undefined;
  deadline: number | undefined;
  metadata: grpc.Metadata;
}

/** Calls `service/Method` (or `service.Method`), printing each response message; a failed call throws CallError. */
async function invoke({ reflection, client, target, data, deadline, metadata }: Invocation, out: string[]): Promise<void> {
  const cut = target.includes("/") ? target.lastIndexOf("/") : target.lastIndexOf(".");
  const serviceName = target.slice(0, cut).replace(/^\./, "");
  const methodName = target.slice(cut + 1);
  const failure = `Error invoking method "${target}"`;
  const { registry } = await failing(`${failure}: failed to query for service descriptor "${serviceName}"`, () =>
    resolveSymbols(reflection, [serviceName]),
  );
  const method = registry.getService(serviceName)?.methods.find((m) => m.name === methodName);
  if (!method) throw new Error(`${failure}: service "${serviceName}" does not include a method named "${methodName}"`);
  if (method.methodKind === "client_streaming" || method.methodKind === "bidi_streaming") {
    throw new Error(`${method.methodKind} methods are not supported by this stand-in`);
  }
  const request = await failing(`${failure}: error getting request data`, async () => {
    const json = data === undefined || data.trim() === "" ? {} : (JSON.parse(data) as JsonValue);
    return toBinary(method.input, fromJson(method.input, json, { registry }));
  });
  const print = (bytes: Uint8Array) => out.push(formatMessage(method.output, bytes, registry));
  if (method.methodKind === "unary") print(await invokeUnary(client, method, request, { deadline, metadata }));
  else await invokeServerStream(client, method, request, print, { deadline, metadata });
}

/**
 * Runs one grpcurl command line against `address` (the address on the
 * command line only has to be well-formed: the test server's is used).
 * Supported: `-plaintext` (required: the test server has no TLS, and grpcurl
 * without it would fail its TLS handshake), `-d JSON`, `-max-time SECONDS`,
 * `-H 'name: value'`, and the verbs `list [service]`, `describe [symbol]` and
 * `service/Method` (or `service.Method`). Messages go to stdout; errors go to
 * stderr, a failed RPC as grpcurl's "ERROR:" block with the status details,
 * whose types are resolved through reflection like everything else.
 *
 * `-max-time` on a server stream: real grpcurl prints the messages received
 * and then ends with "ERROR: Code: DeadlineExceeded" and a non-zero exit. The
 * README uses `-max-time` to mean "watch for this long", so here reaching the
 * deadline on a server stream (after the call started) counts as success;
 * on a unary call or during reflection it is an error, as in grpcurl.
 */
export async function runGrpcurl(argv: string[], address: string): Promise<GrpcurlResult> {
  const out: string[] = [];
  const text = (lines: string[]) => (lines.length ? `${lines.join("\n")}\n` : "");
  let args: Args;
  let metadata: grpc.Metadata;
  try {
    args = parseArgs(argv);
    metadata = metadataOf(args.headers);
  } catch (error) {
    return { stdout: "", stderr: `${(error as Error).message}\nTry 'grpcurl -help' for more details.\n`, code: 2 };
  }
  if (!args.plaintext) {
    // The test server speaks plaintext only; grpcurl would try TLS and fail.
    const stderr = `Failed to dial target host "${args.positional[0]}": tls: first record does not look like a TLS handshake\n`;
    return { stdout: "", stderr, code: 1 };
  }
  const deadline = args.maxTime === undefined ? undefined : Date.now() + args.maxTime * 1000;
  const client = new grpc.Client(address, grpc.credentials.createInsecure());
  const reflection = new ReflectionClient(client, "v1", deadline);
  const [, verb, symbol, ...extra] = args.positional;
  try {
    if (verb === undefined) throw new UsageError("too few arguments");
    if (verb === "list" || verb === "describe") {
      if (extra.length) throw new UsageError("too many arguments");
      out.push(...(verb === "list" ? await list(reflection, symbol) : await describeAll(reflection, symbol)));
    } else {
      if (symbol !== undefined) throw new UsageError("too many arguments");
      await invoke({ reflection, client, target: verb, data: args.data, deadline, metadata }, out);
    }
    return { stdout: text(out), stderr: "", code: 0 };
  } catch (error) {
    if (error instanceof UsageError) return { stdout: text(out), stderr: `${error.message}\nTry 'grpcurl -help' for more details.\n`, code: 2 };
    if (error instanceof CallError) {
      const types = await Promise.all(error.statusDetails.map((d) => resolveTypeUrl(reflection, d.typeUrl)));
      return { stdout: text(out), stderr: formatStatus(error, types), code: 64 + error.code };
    }
    // Anything else is a failed lookup or request, which grpcurl reports on one line.
    return { stdout: text(out), stderr: `${(error as Error).message}\n`, code: 1 };
  } finally {
    await reflection.close();
    client.close();
  }
}

/**
 * Splits a shell command line into words (POSIX sh quoting: '…' literal,
 * "…" with \" \\ \$ \` escapes, \x outside quotes). No expansions.
 */
export function shellSplit(line: string): string[] {
  const words: string[] = [];
  let word: string | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (c === "'") {
      const end = line.indexOf("'", i + 1);
      if (end < 0) throw new Error(`unterminated ' in: ${line}`);
      word = (word ?? "") + line.slice(i + 1, end);
      i = end;
    } else if (c === '"') {
      word ??= "";
      for (i++; i < line.length && line[i] !== '"'; i++) {
        if (line[i] === "\\" && '"\\$`'.includes(line[i + 1] ?? "")) i++;
        word += line[i];
      }
      if (i >= line.length) throw new Error(`unterminated " in: ${line}`);
    } else if (c === "\\") {
      word = (word ?? "") + (line[++i] ?? "");
    } else if (/\s/.test(c)) {
      if (word !== undefined) words.push(word);
      word = undefined;
    } else {
      word = (word ?? "") + c;
    }
  }
  if (word !== undefined) words.push(word);
  return words;
}
