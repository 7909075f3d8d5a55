/**
 * No HTTP request, however large its answer, may take the server down
 * (docs/mi.md, Limits). A JSON-RPC batch of 100 `sr_list_reports` over a
 * registry holding a few MB of reports once built an answer longer than V8's
 * longest string, and the RangeError thrown while serialising it escaped the
 * handler: the process exited, gRPC included. Now the answer is counted as it
 * is built and a request that would pass `limits.max_answer_bytes` answers
 * -32000 naming the limit; and a failure of ours while answering is a 500,
 * not an exit.
 */
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { SrClient } from "../../../clients/ts/index.js";
import { Registry } from "../../../src/domain/registry/registry.js";
import { DEFAULT_MAX_ANSWER_BYTES } from "../../../src/transport/http/answer-budget.js";
import { ANSWER_TOO_LARGE, handleMiRequest } from "../../../src/transport/http/mi.js";
import { type TestServer, startServer } from "../../helpers/server.js";
import { createLogs } from "../../../src/app/logging.js";

const TEXT = "r".repeat(2048);
/** About 5.7 MB of reports as JSON: 100 listings of it are longer than V8's longest string (2^29 - 24). */
const REPORTS = 2_700;

let srv: TestServer;
let c: SrClient;
const logged: string[] = [];

beforeAll(async () => {
  // Its logs kept here: a failure of ours is logged at error (src/app/logging.ts).
  const logs = await createLogs({ level: "error", format: "json" }, { write: (text) => logged.push(text) }, false);
  srv = await startServer((config) => (config.http = "127.0.0.1:0"), { logs });
  c = new SrClient(srv.address);
  for (let i = 0; i < 3; i++) {
    srv.registry.registerGroup({ group: `bulk${i}`, reportCapacity: REPORTS / 3 });
    for (let j = 0; j < REPORTS / 3; j++) srv.registry.addReport({ group: `bulk${i}`, identifier: "main", text: TEXT });
  }
});

afterAll(async () => {
  c?.close();
  await srv?.stop();
});

const call = (method: string, id: number, params?: unknown) => ({ jsonrpc: "2.0", method, id, ...(params === undefined ? {} : { params }) });

function post(body: unknown): Promise<Response> {
  return fetch(`http://${srv.httpAddress}/mi`, { method: "POST", body: JSON.stringify(body) });
}

const tooLarge = (limit: number) => ({ code: ANSWER_TOO_LARGE, message: "Answer too large", data: `answer over ${limit} bytes (limit limits.max_answer_bytes)` });

describe("an answer too large for one request", () => {
  it("a batch of 100 sr_list_reports over MBs of reports: answered whole up to the limit, the rest -32000 naming it; the server goes on", async () => {
    const res = await post(Array.from({ length: 100 }, (_, i) => call("sr_list_reports", i)));
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(Buffer.byteLength(text)).toBeLessThan(DEFAULT_MAX_ANSWER_BYTES + 100 * 200);
    const answers = JSON.parse(text) as { id: number; result?: unknown; error?: unknown }[];
    expect(answers.map((a) => a.id)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    const whole = answers.filter((a) => a.result !== undefined);
    expect(whole.length).toBe(2); // 2 × 5.7 MB fit in 16 MiB, a third would not
    expect(whole[0]?.result).toEqual((handleMiRequest(srv.registry, call("sr_list_reports", 0)) as { result: unknown }).result);
    for (const a of answers.slice(2)) expect(a.error).toEqual(tooLarge(DEFAULT_MAX_ANSWER_BYTES));
    // Both listeners still answer.
    expect((await c.getStatus({ group: "core" })).status?.status).toBe(1);
    expect(await (await post(call("sr_get_status", 1, ["core"]))).json()).toMatchObject({ result: { Status: 1 } });
  });

  it("one request over a configured limit answers -32000; small answers still fit", async () => {
    const small = await startServer((config) => {
      config.http = "127.0.0.1:0";
      config.mi.maxAnswerBytes = 64 * 1024;
    });
    try {
      small.registry.registerGroup({ group: "ten", reportCapacity: 10 });
      for (let i = 0; i < 100; i++) small.registry.addReport({ group: "ten", identifier: "main", text: TEXT });
      const ask = async (body: unknown) => (await fetch(`http://${small.httpAddress}/mi`, { method: "POST", body: JSON.stringify(body) })).json();
      // The last 10 reports are kept: about 21 KB, under 64 KiB.
      expect(await ask(call("sr_list_reports", 1, ["ten", "main"]))).toMatchObject({ result: expect.any(Array) });
      for (let i = 0; i < 40; i++) small.registry.registerGroup({ group: `g${i}`, details: TEXT });
      expect(await ask(call("sr_list_status", 2))).toEqual({ jsonrpc: "2.0", error: tooLarge(64 * 1024), id: 2 });
      expect(await ask(call("sr_get_status", 3, ["g1"]))).toMatchObject({ result: { Details: TEXT } });
    } finally {
      await small.stop();
    }
  });
});

describe("the bound, for any registry and any limit (fast-check)", () => {
  const body = fc.array(
    fc.constantFrom(call("sr_list_reports", 1), call("sr_list_status", 2), call("sr_list_identifiers", 3), call("sr_get_status", 4, ["g0"])),
    { minLength: 1, maxLength: 8 },
  );
  // Control characters grow sixfold as JSON: the count is of the JSON, not of the text.
  const text = fc.oneof(fc.string({ maxLength: 300 }), fc.constantFrom("\u0001".repeat(2048), "é".repeat(1024), '"\\'.repeat(512)));

  it("every request is answered whole, exactly as without a limit, or with -32000; the answer stays within the limit", () => {
    fc.assert(
      fc.property(fc.array(text, { maxLength: 40 }), fc.integer({ min: 1024, max: 64 * 1024 }), body, (texts, limit, batch) => {
        const registry = new Registry();
        registry.registerGroup({ group: "g0", reportCapacity: 100, details: texts[0] });
        texts.forEach((t, i) => registry.addReport({ group: "g0", identifier: "main", text: t || `r${i}` }));
        const bounded = handleMiRequest(registry, batch, limit) as { result?: unknown; error?: unknown }[];
        const unbounded = handleMiRequest(registry, batch, Number.MAX_SAFE_INTEGER) as { result?: unknown }[];
        bounded.forEach((answer, i) => {
          if (answer.error !== undefined) expect(answer.error).toEqual(tooLarge(limit));
          else expect(answer).toEqual(unbounded[i]);
        });
        const results = bounded.filter((a) => a.result !== undefined).map((a) => a.result);
        expect(Buffer.byteLength(JSON.stringify(results))).toBeLessThanOrEqual(limit);
      }),
      { seed: 20_261_126, numRuns: 200 },
    );
  });
});

describe("a failure of ours while answering", () => {
  it("is a 500 for that request, logged, and the server goes on serving HTTP and gRPC", async () => {
    const stringify = JSON.stringify;
    const failing = (value: unknown, replacer?: never, space?: never) => {
      // What V8 throws for a string longer than it can hold, at the serialisation of the whole answer.
      if (typeof value === "object" && value !== null && "jsonrpc" in value) throw new RangeError("Invalid string length");
      return stringify(value, replacer, space);
    };
    const spy = vi.spyOn(JSON, "stringify").mockImplementation(failing as typeof JSON.stringify);
    logged.length = 0;
    try {
      const res = await fetch(`http://${srv.httpAddress}/mi`, { method: "POST", body: stringify(call("sr_get_status", 1, ["core"])) });
      expect(res.status).toBe(500);
    } finally {
      spy.mockRestore();
    }
    const entries = logged.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(entries).toEqual([expect.objectContaining({ level: "error", msg: "HTTP request failed", path: "/mi", err: expect.objectContaining({ type: "RangeError" }) })]);
    expect(await (await post(call("sr_get_status", 1, ["core"]))).json()).toMatchObject({ result: { Status: 1 } });
    expect((await c.getStatus({ group: "core" })).status?.status).toBe(1);
  });
});
