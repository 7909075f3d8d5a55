/**
 * Certificates rotated under a running server: replaced files, a
 * cert-manager style symlink swap, a rotated client CA, and pairs that must
 * not be used (mismatched, not PEM), on the gRPC and HTTPS listeners alike.
 * Each wait polls what a new connection is served, with a timeout.
 */
import { mkdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { type ServerConfig, defaultConfig } from "../../src/app/config.js";
import { type RunningServer, startServer } from "../../src/app/start.js";
import { Caller, servedSerial } from "../helpers/auth.js";
import { type KeyPair, TestPki } from "../helpers/certs.js";
import { waitFor } from "../helpers/wait.js";

const pki = new TestPki();
afterAll(() => pki.remove());

let running: RunningServer | undefined;
afterEach(async () => {
  await running?.stop();
  running = undefined;
});

/** Writes `content` to `file` the way an operator's tooling does: whole, by rename. */
function replace(file: string, content: Buffer | string): void {
  writeFileSync(`${file}.tmp`, content);
  renameSync(`${file}.tmp`, file);
}

/** A server polling its files every 50 ms, with its log lines. */
async function serve(tls: ServerConfig["tls"]): Promise<{ srv: RunningServer; log: string[] }> {
  const log: string[] = [];
  const config = defaultConfig();
  config.listen = "127.0.0.1:0";
  config.http = "127.0.0.1:0";
  config.tls = { ...tls!, reloadIntervalMs: 50 };
  running = await startServer(config, (line) => log.push(line));
  return { srv: running, log };
}

/** What both listeners serve to a new connection now. */
async function served(srv: RunningServer, client?: KeyPair): Promise<[string, string]> {
  return [await servedSerial(srv.address, pki.caPem, client), await servedSerial(srv.httpAddress!, pki.caPem, client)];
}

const untilServed = (srv: RunningServer, pair: KeyPair, client?: KeyPair) =>
  waitFor(async () => (await served(srv, client)).every((serial) => serial === pair.serial), 5_000, `both listeners serving ${pair.serial}`);

describe("certificate rotation", () => {
  it("a replaced certificate and key are served to new connections without a restart", async () => {
    const dir = path.join(pki.dir, "replaced");
    mkdirSync(dir);
    const [a, b] = [pki.server("a"), pki.server("b")];
    const files = { cert: path.join(dir, "tls.crt"), key: path.join(dir, "tls.key") };
    replace(files.cert, a.certPem);
    replace(files.key, a.keyPem);
    const { srv, log } = await serve(files);
    expect(await served(srv)).toEqual([a.serial, a.serial]);
    replace(files.key, b.keyPem);
    replace(files.cert, b.certPem);
    await untilServed(srv, b);
    expect(log).toContainEqual(expect.stringMatching(/^sr: tls: certificate reloaded from .*tls\.crt/));
    const caller = new Caller(srv.address, { ca: pki.caPem });
    await expect(caller.unary("getStatus", { group: "core", identifier: "" })).resolves.toBeTruthy();
    caller.close();
  });

  it("a pair that does not validate keeps the current one and says why, once; a good one is then taken", async () => {
    const dir = path.join(pki.dir, "bad");
    mkdirSync(dir);
    const [a, b, c] = [pki.server("a"), pki.server("b"), pki.server("c")];
    const files = { cert: path.join(dir, "tls.crt"), key: path.join(dir, "tls.key") };
    replace(files.cert, a.certPem);
    replace(files.key, a.keyPem);
    const { srv, log } = await serve(files);
    const refusals = () => log.filter((line) => line.startsWith("sr: tls: keeping the current certificate: "));

    replace(files.cert, b.certPem);
    await waitFor(() => refusals().some((line) => /are not a usable pair/.test(line)), 5_000, "the mismatch logged");
    expect(await served(srv)).toEqual([a.serial, a.serial]);

    replace(files.cert, "not a certificate\n");
    await waitFor(() => refusals().some((line) => /holds no PEM certificate/.test(line)), 5_000, "the garbage logged");
    expect(await served(srv)).toEqual([a.serial, a.serial]);
    const logged = refusals().length;

    rmSync(files.key);
    await waitFor(() => refusals().some((line) => /tls\.key: cannot read .*ENOENT/.test(line)), 5_000, "the missing key logged");
    expect(refusals().length, "each fault is logged once, not at every poll").toBe(logged + 1);

    replace(files.key, c.keyPem);
    replace(files.cert, c.certPem);
    await untilServed(srv, c);
  });

  it("a cert-manager style symlink swap is picked up", async () => {
    const dir = path.join(pki.dir, "mounted");
    const version = (name: string, pair: KeyPair) => {
      mkdirSync(path.join(dir, name), { recursive: true });
      writeFileSync(path.join(dir, name, "tls.crt"), pair.certPem);
      writeFileSync(path.join(dir, name, "tls.key"), pair.keyPem);
    };
    const [a, b] = [pki.server("a"), pki.server("b")];
    version("..2024_01", a);
    symlinkSync("..2024_01", path.join(dir, "..data"));
    symlinkSync("..data/tls.crt", path.join(dir, "tls.crt"));
    symlinkSync("..data/tls.key", path.join(dir, "tls.key"));
    const { srv } = await serve({ cert: path.join(dir, "tls.crt"), key: path.join(dir, "tls.key") });
    expect(await served(srv)).toEqual([a.serial, a.serial]);

    // What kubelet does: a new directory, then one atomic rename of the ..data link.
    version("..2024_02", b);
    symlinkSync("..2024_02", path.join(dir, "..data_tmp"));
    renameSync(path.join(dir, "..data_tmp"), path.join(dir, "..data"));
    await untilServed(srv, b);
  });

  it("a rotated client CA admits the certificates of the new CA only", async () => {
    const next = new TestPki("next CA");
    try {
      const dir = path.join(pki.dir, "client-ca");
      mkdirSync(dir);
      const server = pki.server();
      const clientCa = path.join(dir, "ca.crt");
      replace(clientCa, pki.caPem);
      const { srv } = await serve({ cert: server.cert, key: server.key, clientCa });
      const [old, fresh] = [pki.client({ cn: "old" }), next.client({ cn: "fresh" })];
      expect(await servedSerial(srv.address, pki.caPem, old)).toBe(server.serial);

      replace(clientCa, next.caPem);
      const admits = async (client: KeyPair) => {
        const caller = new Caller(srv.address, { ca: pki.caPem, client });
        try {
          await caller.unary("getStatus", { group: "core", identifier: "" });
          return true;
        } catch {
          return false;
        } finally {
          caller.close();
        }
      };
      await waitFor(() => admits(fresh), 5_000, "a certificate of the new CA admitted");
      expect(await admits(old)).toBe(false);
    } finally {
      next.remove();
    }
  });

  it("a server does not start with a pair that does not validate", async () => {
    const [a, b] = [pki.server("a"), pki.server("b")];
    const config = defaultConfig();
    config.listen = "127.0.0.1:0";
    config.tls = { cert: a.cert, key: b.key };
    await expect(startServer(config, () => {})).rejects.toThrow(/are not a usable pair/);
  });
});
