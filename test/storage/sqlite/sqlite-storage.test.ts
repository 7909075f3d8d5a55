/**
 * The SQLite adapter on its own, on real files in /dev/shm: what it writes
 * (WAL, the schema version), what it refuses (a newer schema, a file that is
 * not ours, a second opener of the same data dir), that the files stay
 * bounded (the history trimmed to its size, report rings to their capacity),
 * that an online backup taken beside a running server opens as a data dir,
 * and the message a missing driver gives.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { Registry } from "../../../src/domain/registry/registry.js";
import { type Database, INSTALL_HINT, loadDriver } from "../../../src/storage/sqlite/driver.js";
import { DB_FILE, SCHEMA_VERSION, type SqliteStorage, StorageOpenError, openSqliteStorage } from "../../../src/storage/sqlite/sqlite-storage.js";
import { rejection } from "../../helpers/errors.js";
import { waitFor } from "../../helpers/wait.js";
import { dataDir, removeDataDirs } from "../dirs.js";

const opened: { close(): void }[] = [];
afterEach(() => {
  for (const thing of opened.splice(0)) thing.close();
});
afterAll(removeDataDirs);

async function storageOf(dir: string, history = 10_000): Promise<SqliteStorage> {
  const storage = await openSqliteStorage(dir, { history });
  opened.push(storage);
  return storage;
}

/** A second, plain connection to a data dir's file (what a backup or an operator's sqlite3 opens). */
async function peek(dir: string): Promise<Database> {
  const Driver = await loadDriver();
  const db = new Driver(path.join(dir, DB_FILE), { fileMustExist: true });
  opened.push(db);
  return db;
}

const count = (db: Database, sql: string, ...params: unknown[]) => (db.prepare(sql).get(...params) as { n: number }).n;

describe("the file", () => {
  it("is in WAL mode and records its schema version", async () => {
    const dir = dataDir();
    const storage = await storageOf(dir);
    const state = storage.load();
    expect(state).toMatchObject({ revision: 0, groups: [], history: [] });
    expect(state.registryId).toMatch(/^[0-9a-f-]{36}$/);
    const db = await peek(dir);
    expect(db.pragma("journal_mode", { simple: true })).toBe("wal");
    expect(db.pragma("user_version", { simple: true })).toBe(SCHEMA_VERSION);
  });

  it("a file of a newer schema version is refused with a message naming both versions, and left as it was", async () => {
    const dir = dataDir();
    (await storageOf(dir)).close();
    const db = await peek(dir);
    db.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    db.close();
    const error = await rejection(openSqliteStorage(dir, { history: 100 }));
    expect(error).toBeInstanceOf(StorageOpenError);
    expect(error.message).toContain(`schema version ${SCHEMA_VERSION + 1}, newer than this server's ${SCHEMA_VERSION}`);
    expect(error.message).toContain(path.join(dir, DB_FILE));
    expect((await peek(dir)).pragma("user_version", { simple: true })).toBe(SCHEMA_VERSION + 1);
    // The refusal released the data dir: nothing stays locked.
    const again = await rejection(openSqliteStorage(dir, { history: 100 }));
    expect(again.message).toContain("newer than this server's");
  });

  it("a SQLite file that is not ours is refused, and left in its journal mode", async () => {
    const dir = dataDir();
    const Driver = await loadDriver();
    const other = new Driver(path.join(dir, DB_FILE));
    other.exec("CREATE TABLE theirs (x)");
    expect(other.pragma("journal_mode", { simple: true })).toBe("delete");
    other.close();
    const error = await rejection(openSqliteStorage(dir, { history: 100 }));
    expect(error.message).toContain("is not an sr data file");
    expect((await peek(dir)).pragma("journal_mode", { simple: true })).toBe("delete");
  });

  it("a data dir that does not exist yet is created", async () => {
    const dir = path.join(dataDir(), "nested", "dir");
    await storageOf(dir);
    expect(statSync(path.join(dir, DB_FILE)).isFile()).toBe(true);
  });
});

describe("the registry id", () => {
  it("is kept across a crash of the process, and replaced after a crash of the machine (its last commits may be gone)", async () => {
    const dir = dataDir();
    const first = await storageOf(dir);
    const id = first.load().registryId;
    first.close();
    const unclean = async (boot: string) => {
      const db = await peek(dir);
      db.prepare("UPDATE registry SET clean = 0, boot_id = ? WHERE id = 1").run(boot);
      db.close();
    };
    // kill -9: never closed, same boot of the machine. Nothing acknowledged can be lost: same id.
    await unclean(readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim());
    const afterKill = await storageOf(dir);
    expect(afterKill.newRegistryId).toBe(false);
    expect(afterKill.load().registryId).toBe(id);
    afterKill.close();
    // A power loss: never closed, and the machine booted since. Watchers must start over.
    await unclean("a boot before this one");
    const afterPowerLoss = await storageOf(dir);
    expect(afterPowerLoss.newRegistryId).toBe(true);
    const next = afterPowerLoss.load().registryId;
    expect(next).not.toBe(id);
    afterPowerLoss.close();
    // A clean stop keeps it, whatever the boot.
    const db = await peek(dir);
    db.prepare("UPDATE registry SET boot_id = 'a boot before this one' WHERE id = 1").run();
    db.close();
    expect((await storageOf(dir)).load().registryId).toBe(next);
  });
});

describe("one process per data dir", () => {
  it("a second opener is refused while the first holds it, with a message saying so and naming the holder; free again once closed", async () => {
    const dir = dataDir();
    const first = await storageOf(dir);
    const error = await rejection(openSqliteStorage(dir, { history: 100 }));
    expect(error).toBeInstanceOf(StorageOpenError);
    expect(error.message).toContain(`data dir ${dir} is in use by another sr process (pid ${process.pid}`);
    expect(error.message).toContain("one process per data dir");
    // The main file stays readable meanwhile (an online backup needs it).
    expect(count(await peek(dir), "SELECT count(*) AS n FROM registry")).toBe(1);
    first.close();
    const second = await storageOf(dir);
    expect(second.load().revision).toBe(0);
  });
});

describe("the files stay bounded", () => {
  it("the history keeps its size, report rings their capacity, removed identifiers leave nothing, and the file stops growing", async () => {
    const dir = dataDir();
    const storage = await storageOf(dir, 100);
    const registry = new Registry(undefined, Date.now, { storage });
    registry.registerGroup({ group: "app", reportCapacity: 5 });
    registry.registerIdentifier({ group: "app", identifier: "temp" });
    registry.addReport({ group: "app", identifier: "temp", text: "soon gone" });
    registry.unregisterIdentifier({ group: "app", identifier: "temp" });
    const churn = (n: number) => {
      for (let i = 0; i < n; i++) {
        registry.setStatus({ group: "app", identifier: "", status: i % 2 ? 1 : -1, details: `change ${i} ${"x".repeat(200)}` });
        registry.addReport({ group: "app", identifier: "", text: `report ${i} ${"y".repeat(200)}` });
      }
    };
    const db = await peek(dir);
    const pages = () => db.pragma("page_count", { simple: true }) as number;
    churn(2_000);
    const early = pages();
    churn(10_000);
    // Trimmed in batches (one page less written per commit): 100 to 163 kept, the last 100 handed back.
    expect(count(db, "SELECT count(*) AS n FROM changes")).toBeGreaterThanOrEqual(100);
    expect(count(db, "SELECT count(*) AS n FROM changes")).toBeLessThan(164);
    expect(storage.load().history.map((c) => c.revision)).toEqual(Array.from({ length: 100 }, (_, i) => registry.revision - 99 + i));
    expect(count(db, "SELECT count(*) AS n FROM reports WHERE identifier_key = 'main'")).toBe(5);
    expect(count(db, "SELECT count(*) AS n FROM identifiers")).toBe(1);
    // A large ring is trimmed in batches too, and a restart hands back exactly its last `capacity`.
    registry.registerIdentifier({ group: "app", identifier: "big", reportCapacity: 100 });
    for (let i = 1; i <= 1_000; i++) registry.addReport({ group: "app", identifier: "big", text: `big ${i}` });
    const bigRows = count(db, "SELECT count(*) AS n FROM reports WHERE identifier_key = 'big'");
    expect(bigRows).toBeGreaterThanOrEqual(100);
    expect(bigRows).toBeLessThan(164);
    const kept = storage.load().groups.find((g) => g.name === "app")?.identifiers.find((i) => i.name === "big");
    expect(kept?.reports.map((r) => r.sequence)).toEqual(Array.from({ length: 100 }, (_, i) => 901 + i));
    expect(kept?.nextSequence).toBe(1_001);
    // Freed pages are reused: ten times more changes, about the same file.
    expect(pages()).toBeLessThanOrEqual(early + 8);
    // The WAL is truncated after its checkpoints (journal_size_limit): bounded too.
    expect(statSync(path.join(dir, `${DB_FILE}-wal`)).size).toBeLessThanOrEqual(17 * 1024 * 1024);
    registry.close();
  });
});

describe("checkpoints", () => {
  it("run in a worker thread as commits come, so the event loop never waits for the disk at a checkpoint", async () => {
    const dir = dataDir();
    const storage = await storageOf(dir);
    const registry = new Registry(undefined, Date.now, { storage });
    registry.registerGroup({ group: "app" });
    for (let i = 0; i < 1_000; i++) {
      registry.addReport({ group: "app", identifier: "", text: `report ${i}` });
      if (i % 50 === 0) await new Promise((resolve) => setImmediate(resolve)); // the server's turns
    }
    await waitFor(() => storage.checkpoints >= 1, 20_000, "a checkpoint by the worker");
    const db = await peek(dir);
    // Everything committed is in sr.db itself once checkpointed: what a reader of the main file sees.
    await waitFor(() => (db.pragma("wal_checkpoint(PASSIVE)") as { log: number; checkpointed: number }[])[0]?.checkpointed !== -1);
    expect(count(db, "SELECT count(*) AS n FROM changes")).toBeGreaterThanOrEqual(1_000);
    registry.close();
  });
});

describe("an online backup", () => {
  it("sqlite3 DIR/sr.db '.backup FILE' beside a running writer gives a data dir that opens with every committed change", async () => {
    const dir = dataDir();
    const storage = await storageOf(dir);
    const registry = new Registry(undefined, Date.now, { storage });
    registry.registerGroup({ group: "app", details: "kept" });
    for (let i = 0; i < 50; i++) registry.addReport({ group: "app", identifier: "", text: `report ${i}` });
    const target = path.join(dataDir(), "restored");
    mkdirSync(target);
    execFileSync("sqlite3", [path.join(dir, DB_FILE), `.backup ${path.join(target, DB_FILE)}`]);
    registry.setStatus({ group: "app", identifier: "", status: -1 }); // after the backup: not in it
    const restored = new Registry(undefined, Date.now, { storage: await storageOf(target) });
    expect(restored.id).toBe(registry.id); // as copied (the README's restore then gives it a new one)
    expect(restored.revision).toBe(registry.revision - 1);
    expect(restored.getStatus({ group: "app", identifier: "" }).status).toMatchObject({ status: 1, details: "kept" });
    expect(restored.reportsOf("app", "main").reports.map((r) => r.text)).toEqual(registry.reportsOf("app", "main").reports.map((r) => r.text));
    registry.close();
    restored.close();
  });
});

describe("without the driver", () => {
  it("says what to install", async () => {
    const error = await rejection(loadDriver("better-sqlite3-that-is-not-installed"));
    expect(error.message.startsWith(INSTALL_HINT)).toBe(true);
    expect(error.message).toContain("apt-get install g++ make python3");
    expect(error.message).toContain("npm install better-sqlite3@12");
  });
});
