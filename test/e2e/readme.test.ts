/**
 * Every grpcurl example of README.md, run in order against one fresh server
 * through the strict grpcurl stand-in (reflection only, every import
 * resolved), so the README cannot drift from what the server does. Where the
 * README shows an example's output (a ```text block right after its ```sh
 * block), what the stand-in prints must be exactly that.
 */
import { readFileSync } from "node:fs";
import { Client, status as Code, credentials } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REASONS } from "../../src/protocol/wire.js";
import { ReflectionClient, codeName, readStatus, resolveSymbols, runGrpcurl, shellSplit } from "../helpers/grpcurl/index.js";
import { type TestServer, startServer } from "../helpers/server.js";

const SERVICE = "sr.v1.StatusReportService";

interface Example {
  line: string;
  argv: string[];
  /** `list`, `describe`, or the `service/Method` called. */
  target: string;
  /** The symbol after list/describe. */
  symbol: string | undefined;
  /** The parsed -d request, or {}. */
  request: Record<string, unknown>;
  /** The output the README shows for it (stdout, then stderr), if any. */
  output?: string;
}

/**
 * Every line starting with `grpcurl ` inside a ```sh block, in order; a
 * ```text block that follows a ```sh block with nothing but blank lines
 * between is the output of that block's last example.
 */
function readmeExamples(): Example[] {
  const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
  const examples: Example[] = [];
  let block: "sh" | "text" | "other" | undefined;
  let blockStart = 0;
  let outputOf: Example | undefined;
  let output: string[] = [];
  for (const raw of readme.split("\n")) {
    const line = raw.trim();
    if (line.startsWith("```") && block !== undefined) {
      if (block === "text" && outputOf) outputOf.output = `${output.join("\n")}\n`;
      outputOf = block === "sh" && examples.length > blockStart ? examples.at(-1) : undefined;
      block = undefined;
      continue;
    }
    if (line.startsWith("```")) {
      block = /^```(sh|bash|shell)\s*$/.test(line) ? "sh" : /^```text\s*$/.test(line) && outputOf ? "text" : "other";
      output = [];
      blockStart = examples.length;
      continue;
    }
    if (block === undefined && line !== "") outputOf = undefined;
    if (block === "text") output.push(raw);
    if (block !== "sh" || !line.startsWith("grpcurl ")) continue;
    const argv = shellSplit(line).slice(1);
    const positional: string[] = [];
    let data: string | undefined;
    for (let i = 0; i < argv.length; i++) {
      const arg = argv[i]!;
      if (arg === "-d" || arg === "-max-time" || arg === "-H") {
        if (arg === "-d") data = argv[i + 1];
        i++;
      } else if (!arg.startsWith("-")) {
        positional.push(arg);
      }
    }
    examples.push({
      line,
      argv,
      target: positional[1] ?? "",
      symbol: positional[2],
      request: data === undefined ? {} : (JSON.parse(data) as Record<string, unknown>),
    });
  }
  return examples;
}

/** The JSON messages grpcurl printed (one per message of a stream). */
function messagesOf(stdout: string): Record<string, any>[] {
  return stdout
    .trim()
    .split(/\n(?=\{)/)
    .filter((part) => part.trim() !== "")
    .map((part) => JSON.parse(part) as Record<string, any>);
}

const sameName = (a: unknown, b: unknown) => String(a).toLowerCase() === String(b).toLowerCase();

/** What an "ERROR:" output must hold: an ErrorInfo of domain sr.v1 whose reason has the printed code, and its companions. */
function expectRichError(output: string, where: string): void {
  const { code: printed, details } = readStatus(output);
  const [info, ...rest] = details;
  expect(info?.["@type"], where).toBe("type.googleapis.com/google.rpc.ErrorInfo");
  expect(info?.domain, where).toBe("sr.v1");
  const reason = REASONS[info?.reason as keyof typeof REASONS];
  expect(reason, `${where}\nunknown reason ${info?.reason}`).toBeDefined();
  expect(codeName(Code[reason.code]), where).toBe(printed);
  const types = rest.map((d) => d["@type"]);
  if (reason.code === "NOT_FOUND") expect(types, where).toContain("type.googleapis.com/google.rpc.ResourceInfo");
  if (reason.code === "INVALID_ARGUMENT") {
    const badRequest = rest.find((d) => d["@type"] === "type.googleapis.com/google.rpc.BadRequest");
    expect(badRequest?.fieldViolations, where).toEqual([expect.objectContaining({ field: info?.metadata?.field, reason: info?.reason })]);
  }
}

describe("README grpcurl examples", () => {
  const examples = readmeExamples();
  let srv: TestServer;
  let rpcs: string[] = [];
  let fieldsOf: (message: string) => string[] = () => [];

  beforeAll(async () => {
    srv = await startServer();
    // What the service offers, from reflection (not from our own generated code).
    const client = new Client(srv.address, credentials.createInsecure());
    const reflection = new ReflectionClient(client, "v1", Date.now() + 5_000);
    try {
      const { registry } = await resolveSymbols(reflection, [SERVICE]);
      rpcs = registry.getService(SERVICE)!.methods.map((m) => m.name);
      fieldsOf = (message) => registry.getMessage(message)?.fields.map((f) => f.name) ?? [];
    } finally {
      await reflection.close();
      client.close();
    }
  });

  afterAll(async () => {
    await srv?.stop();
  });

  it("has enough examples to be worth checking", () => {
    expect(examples.length).toBeGreaterThanOrEqual(15);
    for (const e of examples) expect(e.argv, e.line).toContain("-plaintext");
  });

  it("shows a NOT_FOUND and an INVALID_ARGUMENT with their details", () => {
    const printed = examples.map((e) => readStatus(e.output ?? "")).filter((status) => status.details.length > 0);
    expect(printed.map((status) => status.code)).toEqual(expect.arrayContaining(["NotFound", "InvalidArgument"]));
  });

  it("shows every RPC of sr.v1.StatusReportService", () => {
    expect(rpcs.length).toBeGreaterThan(0);
    const called = new Set(examples.map((e) => e.target));
    const missing = rpcs.filter((rpc) => !called.has(`${SERVICE}/${rpc}`));
    expect(missing, "RPCs without a README example").toEqual([]);
  });

  it("runs every example in order, each exiting 0 with a sensible answer, or printing exactly the output shown", async () => {
    for (const example of examples) {
      const { stdout, stderr, code } = await runGrpcurl(example.argv, srv.address);
      const where = `${example.line}\n---\n${stdout}${stderr}`;
      if (example.output !== undefined) {
        expect(stdout + stderr, where).toBe(example.output);
        const failed = readStatus(example.output).code;
        // grpcurl exits with 64 + the status code of a failed RPC.
        const codes = Object.values(Code).filter((c): c is number => typeof c === "number");
        expect(code, where).toBe(failed === undefined ? 0 : 64 + codes.find((c) => codeName(c) === failed)!);
        if (failed !== undefined) expectRichError(example.output, where);
        continue;
      }
      expect(code, where).toBe(0);
      expect(stdout.trim(), where).not.toBe("");
      const req = example.request;
      const method = example.target.includes("/") ? example.target.slice(example.target.indexOf("/") + 1) : "";
      const messages = example.target.includes("/") ? messagesOf(stdout) : [];
      const [out] = messages;

      switch (example.target) {
        case "list":
          expect(stdout.split("\n"), where).toEqual(expect.arrayContaining([SERVICE, "grpc.health.v1.Health"]));
          continue;
        case "describe": {
          const symbol = example.symbol!;
          if (symbol === SERVICE) {
            expect(stdout, where).toContain(`${SERVICE} is a service:`);
            for (const rpc of rpcs) expect(stdout, `${where}\nmissing rpc ${rpc}`).toMatch(new RegExp(`rpc ${rpc} \\(`));
          } else {
            expect(stdout, where).toContain(`${symbol} is a `);
            const fields = fieldsOf(symbol);
            for (const field of fields) expect(stdout, `${where}\nmissing field ${field}`).toMatch(new RegExp(`\\b${field} = \\d+;`));
          }
          // Comments come through reflection.
          expect(stdout, where).toMatch(/^\s*\/\/ /m);
          continue;
        }
      }

      const group = req.group;
      const identifier = (req.identifier as string | undefined) || "main";
      switch (method) {
        case "RegisterGroup":
        case "RegisterIdentifier":
          expect(out?.created, where).toBe(true);
          expect(out?.revision, where).toMatch(/^\d+$/);
          if (method === "RegisterIdentifier") {
            expect(sameName(out?.status?.identifier, identifier), where).toBe(true);
          }
          break;
        case "SetStatus":
          expect(out?.revision, where).toMatch(/^\d+$/);
          break;
        case "AddReport":
          expect(Number(out?.sequence), where).toBeGreaterThan(0);
          break;
        case "GetStatus":
          expect(sameName(out?.status?.group, group), where).toBe(true);
          if (identifier === "all") {
            expect(out?.status?.details, where).toBe("aggregated");
            expect(Math.abs(out?.status?.status), where).toBe(1);
          } else {
            expect(sameName(out?.status?.identifier, identifier), where).toBe(true);
            expect(out?.status?.status, where).toBeTypeOf("number");
          }
          expect(out?.status?.updateTime, where).toMatch(/^\d{4}-\d\d-\d\dT/);
          break;
        case "CheckStatus":
          // grpcurl leaves out false and zero: ready is printed only when true.
          expect(out?.status, where).toBeTypeOf("number");
          expect(out?.ready === true, where).toBe(out?.status > 0);
          break;
        case "ListStatus":
        case "ListIdentifiers":
          expect(out?.groups?.length, where).toBeGreaterThan(0);
          if (group !== undefined) {
            expect(out?.groups.every((g: { group: string }) => sameName(g.group, group)), where).toBe(true);
          }
          break;
        case "ListReports": {
          const reports = (out?.groups ?? []).flatMap((g: any) => g.identifiers.flatMap((i: any) => i.reports ?? []));
          expect(reports.length, where).toBeGreaterThan(0);
          for (const r of reports) {
            expect(r.text, where).toBeTypeOf("string");
            expect(Number(r.sequence), where).toBeGreaterThan(0);
          }
          break;
        }
        case "WatchStatus": {
          const snapshots = messages.filter((m) => m.snapshot !== undefined);
          expect(snapshots.length, where).toBeGreaterThan(0);
          expect(snapshots.at(-1)?.snapshot.last, where).toBe(true);
          const ids = snapshots.flatMap((m) => m.snapshot.identifiers ?? []);
          expect(ids.length, where).toBeGreaterThan(0);
          if (group !== undefined) {
            expect(ids.every((i: { group: string }) => sameName(i.group, group)), where).toBe(true);
          }
          break;
        }
        case "UnregisterGroup":
        case "UnregisterIdentifier":
          expect(out?.revision, where).toMatch(/^\d+$/);
          break;
        case "Check":
          expect(out?.status, where).toBe("SERVING");
          break;
        case "List":
          expect(out?.statuses?.[""]?.status, where).toBe("SERVING");
          expect(out?.statuses?.core?.status, where).toBe("SERVING");
          break;
        default:
          expect(messages.length, where).toBeGreaterThan(0);
      }
    }
  });

  it("leaves no group behind: the examples remove what they register", async () => {
    const registered = examples.filter((e) => e.target === `${SERVICE}/RegisterGroup`).map((e) => e.request.group);
    const { stdout, code } = await runGrpcurl(["-plaintext", "127.0.0.1:50051", "grpc.health.v1.Health/List"], srv.address);
    expect(code).toBe(0);
    const names = Object.keys(messagesOf(stdout)[0]?.statuses ?? {});
    for (const group of registered) expect(names.map((n) => n.toLowerCase())).not.toContain(String(group).toLowerCase());
  });
});
