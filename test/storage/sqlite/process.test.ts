/**
 * `--data-dir` end to end, with the real server process (`node dist/src/main.js
 * --data-dir DIR --no-http`, DIR on /dev/shm): writes acknowledged through the
 * API, then `kill -9`, then a restart on the same dir and port. Every
 * acknowledged write is there, the revision and the registry id are unchanged,
 * a watcher (the TypeScript client, resuming by itself) carries on across the
 * restart with no resync and no gap, and a second process on the same data
 * dir is refused with a clear message and a non-zero exit.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import path from "node:path";
import type { Metadata } from "@grpc/grpc-js";
import { afterAll, describe, expect, it } from "vitest";
import { REGISTRY_ID_HEADER, SrClient, type WatchStatusResponse } from "../../../clients/ts/index.js";
import { type Started, killAllProcesses, removeTempFiles, runSrProcess, startSrProcess, writeTempFile } from "../../helpers/process.js";
import { waitFor } from "../../helpers/wait.js";
import { dataDir, removeDataDirs } from "../dirs.js";

const SLOW = 120_000;
const clients: SrClient[] = [];

afterAll(async () => {
  for (const client of clients) client.close();
  await killAllProcesses();
  removeDataDirs();
  removeTempFiles();
});

function start(dir: string, listen = "127.0.0.1:0", args: string[] = []): Promise<Started> {
  return startSrProcess({ listen, args: ["--data-dir", dir, "--no-http", ...args] });
}

/** A watcher budget no burst of this test's writers fills (a resync would then say nothing about the restart). */
const ROOMY = ["--config", writeTempFile("roomy.yaml", "watch:\n  budget_messages: 200000\n  budget_bytes: 268435456\n")];

/** A client on a channel of its own (not grpc-js's shared subchannel, which may still be backing off from the killed server). */
function client(address: string): SrClient {
  const c = new SrClient(address, { channelOptions: { "grpc.use_local_subchannel_pool": 1 } });
  clients.push(c);
  return c;
}

/** The `sr-registry-id` a WatchStatus answers with. */
function registryIdOf(c: SrClient): Promise<string> {
  return new Promise((resolve, reject) => {
    const call = c.raw.watchStatus({ group: "core", identifier: "", includeDetails: false, includeReports: false, includeRegistrations: false });
    call.on("error", (error) => reject(error));
    call.once("metadata", (metadata: Metadata) => {
      const id = metadata.get(REGISTRY_ID_HEADER)[0];
      call.cancel();
      if (typeof id === "string") resolve(id);
      else reject(new Error("no registry id"));
    });
  });
}

/** kill -9, and its exit. */
async function crash(started: Started): Promise<void> {
  process.kill(started.proc.pid, "SIGKILL");
  const exit = await started.proc.waitForExit();
  expect(exit.signal).toBe("SIGKILL");
}

const revisionOf = (m: WatchStatusResponse) => Number(m.revision);

describe("kill -9 and restart on the same data dir", { timeout: SLOW }, () => {
  it("every acknowledged write is there, revision and registry id unchanged, and a watcher resumes with no resync and no gap", async () => {
    const dir = dataDir();
    const first = await start(dir, "127.0.0.1:0", ROOMY);
    const a = client(first.address);
    await a.registerGroup({ group: "app", reportCapacity: 1_000 });
    const WRITERS = 40;
    for (let j = 0; j < WRITERS; j++) await a.registerIdentifier({ group: "app", identifier: `w${j}`, reportCapacity: 5 });
    await a.setStatus({ group: "app", identifier: "w0", status: -4, details: "" });
    await a.setStatus({ group: "app", identifier: "w1", status: 3, ttl: { seconds: 3_600n, nanos: 0 }, removeAfter: { seconds: 7_200n, nanos: 0 } });

    // A watcher of everything with every kind of change: revisions then come one apart, so a gap would show.
    const watcher = client(first.address);
    const seen: WatchStatusResponse[] = [];
    let resyncs = 0;
    const abort = new AbortController();
    const watching = (async () => {
      for await (const m of watcher.watch(
        { includeDetails: true, includeReports: true, includeRegistrations: true },
        { signal: abort.signal, onResync: () => resyncs++, backoff: { initialMs: 20, maxMs: 200 } },
      )) {
        seen.push(m);
      }
    })();
    await waitFor(() => seen.some((m) => m.event?.$case === "snapshot" && m.event.value.last));

    // Writers as fast as the server answers, until the crash: what was answered is acknowledged.
    const acknowledged = new Map<string, { status: number; revision: number }>();
    const reports: string[] = [];
    let stop = false;
    const loops = Array.from({ length: WRITERS }, async (_, j) => {
      for (let i = 1; !stop; i++) {
        const identifier = `w${j}`;
        try {
          if (i % 3 === 0) {
            const text = `w${j} report ${i}`;
            await a.addReport({ group: "app", identifier: "", text });
            reports.push(text);
          } else {
            const status = j * 1_000 + i;
            const r = await a.setStatus({ group: "app", identifier, status, details: `write ${i}` });
            acknowledged.set(identifier, { status, revision: Number(r.revision) });
          }
        } catch {
          return; // the server is gone: this write was not acknowledged
        }
      }
    });
    await waitFor(() => acknowledged.size === WRITERS && reports.length >= 100, 30_000, "writes acknowledged");
    const idBefore = await registryIdOf(a);
    await crash(first);
    stop = true;
    await Promise.all(loops);
    const highest = Math.max(...[...acknowledged.values()].map((w) => w.revision));

    const second = await start(dir, first.address, ROOMY);
    const b = client(second.address);
    expect(await registryIdOf(b)).toBe(idBefore);
    for (const [identifier, write] of acknowledged) {
      const { status } = await b.getStatus({ group: "app", identifier });
      // Nothing acknowledged is lost: the write is there, or a later one to the same identifier (its answer lost in the crash).
      expect(Number(status?.revision)).toBeGreaterThanOrEqual(write.revision);
      if (Number(status?.revision) === write.revision) expect(status?.status).toBe(write.status);
    }
    const kept = await b.listReports({ group: "app", identifier: "", pageSize: 10_000 });
    const texts = new Set(kept.groups.flatMap((g) => g.identifiers.flatMap((i) => i.reports.map((r) => r.text))));
    // The ring holds the last 1,000 (some of them committed but unanswered when the server died).
    for (const text of reports.slice(-(1_000 - WRITERS))) expect(texts.has(text)).toBe(true);
    expect((await b.getStatus({ group: "app", identifier: "w0" })).status).toMatchObject({ details: expect.any(String) });
    // The lease came back armed for its full ttl, its remove_after kept.
    const leased = (await b.getStatus({ group: "app", identifier: "w1" })).status;
    expect(leased?.leaseTtl).toEqual({ seconds: 3_600n, nanos: 0 });
    expect(leased?.leaseExpireTime?.getTime()).toBeGreaterThan(Date.now() + 3_590_000);
    // The revision goes on from the kept one; core started over after it.
    const { status: core, revision } = await b.getStatus({ group: "core", identifier: "" });
    expect(core).toMatchObject({ status: 1, details: "running" });
    expect(Number(core?.revision)).toBeGreaterThan(highest);
    expect(Number(revision)).toBeGreaterThan(highest);

    // A write after the restart: the watcher, resumed by itself, gets it after everything before it.
    const after = await b.setStatus({ group: "app", identifier: "w0", status: -9, details: "after the restart" });
    await waitFor(() => seen.some((m) => revisionOf(m) >= Number(after.revision)), 30_000, "the watcher reaching the write after the restart");
    abort.abort();
    await watching;
    expect(resyncs).toBe(0);
    const snapshot = seen.filter((m) => m.event?.$case === "snapshot");
    expect(snapshot.every((m) => m.event?.$case === "snapshot" && !m.event.value.resync)).toBe(true);
    const changes = seen.filter((m) => m.event?.$case !== "snapshot" && m.event?.$case !== "progress").map(revisionOf);
    const from = revisionOf(snapshot.at(-1) as WatchStatusResponse);
    expect(changes).toEqual(Array.from({ length: changes.length }, (_, i) => from + 1 + i));
    expect(changes.at(-1)).toBe(Number(after.revision));
    // Among them, core starting over after the crash (no "shutting down": kill -9 gave it no chance).
    const coreStatuses = seen.flatMap((m) => (m.event?.$case === "statusChanged" && m.event.value.group === "core" ? [m.event.value.status] : []));
    expect(coreStatuses).toEqual([-100, -1, 1]);
  });
});

describe("one process per data dir", { timeout: SLOW }, () => {
  it("a second server on the same data dir is refused with a message naming the dir and the holder, and exits non-zero; the first serves on", async () => {
    const dir = dataDir();
    const first = await start(dir);
    const refused = await runSrProcess({ args: ["--data-dir", dir, "--no-http"] });
    expect(refused.exit.code).not.toBe(0);
    expect(refused.exit.code).not.toBeNull();
    expect(refused.stderr).toContain(`data dir ${dir} is in use by another sr process (pid ${first.proc.pid}`);
    expect(refused.stdout).not.toMatch(/listening/);
    const c = client(first.address);
    expect((await c.registerGroup({ group: "still-here" })).created).toBe(true);
    // Once the first is gone (even by kill -9), the dir is free again.
    await crash(first);
    const next = await start(dir);
    expect((await client(next.address).getStatus({ group: "still-here", identifier: "" })).status?.status).toBe(1);
  });
});

describe("an online backup", { timeout: SLOW }, () => {
  it("sqlite3 DIR/sr.db '.backup FILE' while the server runs; restored as the README says, the copy serves what the backup holds", async () => {
    const dir = dataDir();
    const first = await start(dir);
    const a = client(first.address);
    await a.registerGroup({ group: "billing", details: "backed up" });
    await a.addReport({ group: "billing", identifier: "", text: "in the backup" });
    const target = path.join(dataDir(), "copy");
    mkdirSync(target);
    execFileSync("sqlite3", [path.join(dir, "sr.db"), `.backup ${path.join(target, "sr.db")}`]);
    await a.setStatus({ group: "billing", identifier: "", status: -1, details: "after the backup" });
    // The README's restore: a new registry id, since the revisions after the backup will be taken again.
    execFileSync("sqlite3", [path.join(target, "sr.db"), "UPDATE registry SET registry_id = lower(hex(randomblob(16)))"]);
    const copy = await start(target);
    const b = client(copy.address);
    expect((await b.getStatus({ group: "billing", identifier: "" })).status).toMatchObject({ status: 1, details: "backed up" });
    const reports = await b.listReports({ group: "billing", identifier: "" });
    expect(reports.groups[0]?.identifiers[0]?.reports.map((r) => r.text)).toEqual(["in the backup"]);
    expect(await registryIdOf(b)).toMatch(/^[0-9a-f]{32}$/);
    expect(await registryIdOf(b)).not.toBe(await registryIdOf(a));
    // The copy is a data dir like any other: it goes on from the backup's revision.
    expect((await b.setStatus({ group: "billing", identifier: "", status: 2 })).changed).toBe(true);
  });
});
