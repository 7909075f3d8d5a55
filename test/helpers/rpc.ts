import type { status as Code } from "@grpc/grpc-js";
import { afterAll, beforeAll, expect } from "vitest";
import { SrClient } from "../../clients/ts/index.js";
import { type TestServer, startServer } from "./server.js";

/** Names no other test of the file uses: `prefix-1`, `prefix-2`, ... */
export function uniqueNames(): (prefix: string) => string {
  let counter = 0;
  return (prefix) => `${prefix}-${++counter}`;
}

/** The registry-wide revision, as a reader sees it. */
export async function revisionOf(c: SrClient): Promise<bigint> {
  return (await c.getStatus({ group: "core" })).revision;
}

/** Expects `call` to fail with `code` and a message matching `message`, changing nothing. */
export async function failsWithoutChange(c: SrClient, call: () => Promise<unknown>, code: Code, message: RegExp): Promise<void> {
  const before = await revisionOf(c);
  await expect(call()).rejects.toMatchObject({ code, details: expect.stringMatching(message) });
  expect(await revisionOf(c), "a failed call must not change the revision").toBe(before);
}

/**
 * One in-process server and one client for the whole test file, handed to
 * `use` once started (and closed after the file's last test).
 */
export function serverPerFile(use: (srv: TestServer, c: SrClient) => void): void {
  let srv: TestServer | undefined;
  let c: SrClient | undefined;
  beforeAll(async () => {
    srv = await startServer();
    c = new SrClient(srv.address);
    use(srv, c);
  });
  afterAll(async () => {
    c?.close();
    await srv?.stop();
  });
}
