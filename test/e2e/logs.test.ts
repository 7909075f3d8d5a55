// The server process's logs and its HTTP default (docs/operations.md):
// JSON lines read from a spawned `node dist/src/main.js --log-format json`,
// one per change naming its writer (a token under auth), refusals at debug,
// no token in any line even at trace, the plain listening lines unchanged;
// and the default HTTP port taken: a warning (no "error"), and the server
// goes on without HTTP, while a taken explicit port fails the start.
import { type Server, createServer } from "node:net";
import { afterAll, describe, expect, it } from "vitest";
import { GrpcStatus, SrClient } from "../../clients/ts/index.js";
import { TOKENS, TOKEN_CONFIG } from "../helpers/auth.js";
import { LISTENING, killAllSrProcesses, removeTempFiles, runSrProcess, startSrProcess, writeTempFile } from "../helpers/process.js";

const SLOW = 60_000;

const clients: SrClient[] = [];
function client(address: string, token?: string): SrClient {
  const c = new SrClient(address, token === undefined ? {} : { token });
  clients.push(c);
  return c;
}

afterAll(async () => {
  for (const c of clients) c.close();
  await killAllSrProcesses();
  removeTempFiles();
});

type Entry = Record<string, unknown>;

/** Every stdout line is either one of the plain `sr: ...` lines or a JSON object. */
function entriesOf(lines: readonly string[]): Entry[] {
  return lines.filter((line) => !line.startsWith("sr: ") && line !== "").map((line) => JSON.parse(line) as Entry);
}

const tokensYaml = `auth:
  tokens:
${TOKEN_CONFIG.map((t) => `    - {name: ${t.name}, sha256: "${t.sha256}", role: ${t.role}${t.groups ? `, groups: [${t.groups.join(", ")}]` : ""}}`).join("\n")}
`;

describe("the process's logs (--log-format json)", () => {
  it(
    "carry one line per change naming the token that wrote it, refusals at debug, and never a token, even at trace",
    async () => {
      const config = writeTempFile("auth.yaml", tokensYaml);
      const { proc, address } = await startSrProcess({ http: "127.0.0.1:0", args: ["--config", config, "--log-format", "json", "--log-level", "trace"] });
      await proc.waitForLine(/^sr: HTTP listening on /);
      // The listening lines stay plain text, exactly.
      expect(proc.lines.filter((line) => LISTENING.test(line))).toEqual([expect.stringMatching(/^sr: gRPC listening on 127\.0\.0\.1:\d+$/)]);
      expect(proc.lines.filter((line) => line.includes("HTTP listening"))).toEqual([expect.stringMatching(/^sr: HTTP listening on 127\.0\.0\.1:\d+$/)]);

      const ci = client(address, TOKENS.ci);
      await ci.registerGroup({ group: "billing" });
      await ci.setStatus({ group: "billing", identifier: "main", status: -4, details: "db failover" });
      await expect(client(address, "an-unknown-secret-token").getStatus({ group: "billing" })).rejects.toMatchObject({ code: GrpcStatus.UNAUTHENTICATED });
      await expect(ci.getStatus({ group: "nowhere" })).rejects.toMatchObject({ code: GrpcStatus.NOT_FOUND });
      await proc.waitFor("the change and the refusals logged", () => {
        const entries = entriesOf(proc.lines);
        return entries.some((e) => e.msg === "status changed" && e.group === "billing") && entries.filter((e) => e.msg === "call refused").length >= 2;
      });

      proc.signal("SIGTERM");
      expect(await proc.waitForExit()).toEqual({ code: 0, signal: null });
      const entries = entriesOf(proc.lines);
      expect(entries.find((e) => e.msg === "status changed" && e.group === "billing")).toMatchObject({
        level: "info",
        identifier: "main",
        status: -4,
        oldStatus: 1,
        details: "db failover",
        by: "ci",
      });
      expect(entries).toContainEqual(expect.objectContaining({ level: "debug", msg: "call refused", code: "UNAUTHENTICATED", reason: "TOKEN_UNKNOWN", method: "GetStatus" }));
      expect(entries).toContainEqual(expect.objectContaining({ level: "debug", msg: "call refused", code: "NOT_FOUND", reason: "GROUP_NOT_FOUND" }));
      // core's stop is logged like its start, then the plain lines end it.
      expect(entries).toContainEqual(expect.objectContaining({ msg: "status changed", group: "core", status: -2, by: "server" }));
      expect(proc.lines.at(-1)).toBe("sr: stopped");
      const all = `${proc.stdout}\n${proc.stderr}`;
      for (const secret of [...Object.values(TOKENS), "an-unknown-secret-token"]) expect(all).not.toContain(secret);
    },
    SLOW,
  );
});

/** Listens on `port` of 127.0.0.1; undefined when it is taken already. */
function hold(port: number): Promise<Server | undefined> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", (error: NodeJS.ErrnoException) => (error.code === "EADDRINUSE" ? resolve(undefined) : reject(error)));
    server.listen(port, "127.0.0.1", () => resolve(server));
  });
}

const close = (server: Server | undefined) => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));

describe("the default HTTP address taken", () => {
  it(
    "is a warning without the word error, and the server goes on without HTTP",
    async () => {
      // Held here for the test; when someone else holds it already, it is just as taken.
      const held = await hold(8080);
      try {
        const { proc, address } = await startSrProcess({ keepHttpDefault: true, args: ["--log-format", "json"] });
        await proc.waitFor("the warning", () => entriesOf(proc.lines).some((e) => e.level === "warn"));
        const warning = proc.lines.find((line) => line.includes('"level":"warn"')) as string;
        expect(JSON.parse(warning)).toMatchObject({ http: "127.0.0.1:8080", msg: expect.stringContaining("127.0.0.1:8080 is taken") });
        expect(warning.toLowerCase()).not.toContain("error");
        expect(proc.stderr.toLowerCase()).not.toContain("error");
        // gRPC serves, core runs, and no HTTP listening line was printed.
        expect((await client(address).getStatus({ group: "core" })).status?.status).toBe(1);
        expect(proc.lines.some((line) => line.includes("HTTP listening"))).toBe(false);
        proc.signal("SIGTERM");
        expect(await proc.waitForExit()).toEqual({ code: 0, signal: null });
      } finally {
        await close(held);
      }
    },
    SLOW,
  );

  it(
    "given explicitly, fails the start",
    async () => {
      const held = (await hold(0)) as Server;
      try {
        const port = (held.address() as { port: number }).port;
        const { exit, stderr } = await runSrProcess({ http: `127.0.0.1:${port}` });
        expect(exit.code).toBe(1);
        expect(stderr).toMatch(new RegExp(`cannot start: .*EADDRINUSE.*127\\.0\\.0\\.1:${port}`));
      } finally {
        await close(held);
      }
    },
    SLOW,
  );
});
