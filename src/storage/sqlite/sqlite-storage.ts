/**
 * The durable mode (`--data-dir DIR`): the registry kept in SQLite, in
 * DIR/sr.db, WAL mode with synchronous=NORMAL, one transaction per change
 * committed before the change is acknowledged or seen by any watcher
 * (docs/storage.md). One process per data dir: DIR/sr.lock, a second SQLite
 * file, is held exclusively for the process's life (the operating system
 * releases it when the process dies, even by kill -9), so sr.db itself stays
 * readable for an online backup.
 */
import { randomUUID } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { Change, GroupRecord, IdentifierRecord } from "../../domain/registry/types.js";
import type { ReportEntry } from "../../domain/report-ring.js";
import type { Storage, StoredGroup, StoredIdentifier, StoredState } from "../../domain/storage/storage.js";
import { Checkpointer } from "./checkpointer.js";
import { type Database, type DatabaseConstructor, type Statement, loadDriver } from "./driver.js";

/** The layout this server writes, in `PRAGMA user_version`; a newer file is refused. */
export const SCHEMA_VERSION = 1;
export const DB_FILE = "sr.db";
export const LOCK_FILE = "sr.lock";
const PID_FILE = "sr.pid";
const TRIM_EVERY = 64;

const SCHEMA = `
-- boot_id and clean: which boot of the machine last opened the file, and whether it closed it (see prepareFile).
CREATE TABLE registry (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  registry_id TEXT NOT NULL,
  boot_id TEXT NOT NULL,
  clean INTEGER NOT NULL
);
CREATE TABLE groups (
  key TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  internal INTEGER NOT NULL,
  revision INTEGER NOT NULL,
  create_time INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE identifiers (
  group_key TEXT NOT NULL,
  key TEXT NOT NULL,
  name TEXT NOT NULL,
  status INTEGER NOT NULL,
  details TEXT,
  revision INTEGER NOT NULL,
  update_time INTEGER NOT NULL,
  capacity INTEGER NOT NULL,
  next_sequence INTEGER NOT NULL,
  lease_ttl REAL,
  lease_remove_after REAL,
  lease_armed INTEGER,
  PRIMARY KEY (group_key, key)
) WITHOUT ROWID;
-- A report's revision is its identifier's from then: adding one rewrites no identifier row (one page less).
CREATE TABLE reports (
  group_key TEXT NOT NULL,
  identifier_key TEXT NOT NULL,
  sequence INTEGER NOT NULL,
  revision INTEGER NOT NULL,
  time INTEGER NOT NULL,
  text TEXT NOT NULL,
  PRIMARY KEY (group_key, identifier_key, sequence)
) WITHOUT ROWID;
-- The change log: the last one is the registry's revision; the last \`history\` are the watch history.
CREATE TABLE changes (
  revision INTEGER PRIMARY KEY,
  change TEXT NOT NULL
);
`;

export interface SqliteOptions {
  /** Changes kept for resuming watchers: the hub's history (max of `watch.history` and `watch.budget_messages`). */
  history: number;
}

/** Refused at open: the data dir is in use, or its file is not one this server can read. */
export class StorageOpenError extends Error {
  override name = "StorageOpenError";
}

interface Row {
  [column: string]: unknown;
}

/** Opens DIR (created if missing) for this process alone; throws StorageOpenError with what to do. */
export async function openSqliteStorage(dir: string, options: SqliteOptions): Promise<SqliteStorage> {
  const Driver = await loadDriver();
  mkdirSync(dir, { recursive: true });
  const lock = takeLock(Driver, dir);
  try {
    return new SqliteStorage(Driver, dir, lock, options);
  } catch (error) {
    lock.close();
    throw error;
  }
}

/** Holds DIR/sr.lock exclusively (a second opener gets SQLITE_BUSY at once). */
function takeLock(Driver: DatabaseConstructor, dir: string): Database {
  const file = path.join(dir, LOCK_FILE);
  const lock = new Driver(file, { timeout: 0 });
  try {
    lock.pragma("locking_mode = EXCLUSIVE");
    lock.pragma("journal_mode = MEMORY"); // nothing to roll back in it: no journal file beside it
    // The first write takes the exclusive lock; locking_mode EXCLUSIVE keeps it until close.
    lock.exec("CREATE TABLE IF NOT EXISTS lock (id INTEGER PRIMARY KEY); INSERT OR REPLACE INTO lock (id) VALUES (1)");
  } catch (error) {
    lock.close();
    if ((error as { code?: string }).code === "SQLITE_BUSY") {
      let holder = "";
      try {
        holder = ` (pid ${readFileSync(path.join(dir, PID_FILE), "utf8").trim()}, per ${path.join(dir, PID_FILE)})`;
      } catch {
        // no pid file: say nothing more
      }
      throw new StorageOpenError(
        `data dir ${dir} is in use by another sr process${holder}: one process per data dir (its lock ${file} is held); stop that one or use another --data-dir`,
      );
    }
    throw error;
  }
  writeFileSync(path.join(dir, PID_FILE), `${process.pid}\n`);
  return lock;
}

const boolOf = (value: unknown) => value === 1 || value === 1n;

/** The last `n` of a list (none for 0): a ring's reports, some older ones perhaps not trimmed yet. */
const lastOf = <T>(list: T[], n: number): T[] => (n === 0 ? [] : list.slice(-n));

/** This boot of the machine (Linux); "" elsewhere, where a machine's restart goes unnoticed. */
function bootId(): string {
  try {
    return readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim();
  } catch {
    return "";
  }
}

export class SqliteStorage implements Storage {
  readonly durable = true;
  readonly file: string;
  private readonly db: Database;
  private readonly keep: number;
  private readonly statements: Record<
    | "insertChange"
    | "trimChanges"
    | "upsertGroup"
    | "upsertIdentifier"
    | "updateStatus"
    | "updateLease"
    | "insertReport"
    | "trimReports"
    | "deleteGroupReports"
    | "deleteGroupIdentifiers"
    | "deleteGroup"
    | "deleteIdentifierReports"
    | "deleteIdentifier"
    | "groupRevision",
    Statement
  >;
  private readonly write: (change: Change, group: GroupRecord, identifier: IdentifierRecord | undefined) => void;
  private closed = false;
  private readonly checkpointer: Checkpointer;
  /** The revision of the last change committed (or loaded): the next commit must follow it. */
  private head = 0;
  /**
   * True when this open gave the registry a new id: the machine went down
   * (power loss, crash, reboot) while the file was open, so its last commits
   * may be gone.
   */
  newRegistryId = false;

  constructor(
    Driver: DatabaseConstructor,
    readonly dir: string,
    private readonly lock: Database,
    options: SqliteOptions,
  ) {
    this.file = path.join(dir, DB_FILE);
    this.keep = Math.max(1, options.history);
    this.db = new Driver(this.file);
    try {
      this.prepareFile();
    } catch (error) {
      this.db.close();
      throw error;
    }
    const db = this.db;
    this.head = (db.prepare("SELECT coalesce(max(revision), 0) AS revision FROM changes").get() as { revision: number }).revision;
    this.statements = {
      insertChange: db.prepare("INSERT INTO changes (revision, change) VALUES (?, ?)"),
      trimChanges: db.prepare("DELETE FROM changes WHERE revision <= ?"),
      upsertGroup: db.prepare("INSERT OR REPLACE INTO groups (key, name, internal, revision, create_time) VALUES (?, ?, ?, ?, ?)"),
      upsertIdentifier: db.prepare(
        "INSERT OR REPLACE INTO identifiers (group_key, key, name, status, details, revision, update_time, capacity, next_sequence, lease_ttl, lease_remove_after, lease_armed) " +
          "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
      ),
      updateStatus: db.prepare(
        "UPDATE identifiers SET status = ?, details = ?, revision = ?, update_time = ?, lease_ttl = ?, lease_remove_after = ?, lease_armed = ? WHERE group_key = ? AND key = ?",
      ),
      updateLease: db.prepare("UPDATE identifiers SET lease_ttl = ?, lease_remove_after = ?, lease_armed = ? WHERE group_key = ? AND key = ?"),
      insertReport: db.prepare("INSERT OR REPLACE INTO reports (group_key, identifier_key, sequence, revision, time, text) VALUES (?, ?, ?, ?, ?, ?)"),
      trimReports: db.prepare("DELETE FROM reports WHERE group_key = ? AND identifier_key = ? AND sequence <= ?"),
      deleteGroupReports: db.prepare("DELETE FROM reports WHERE group_key = ?"),
      deleteGroupIdentifiers: db.prepare("DELETE FROM identifiers WHERE group_key = ?"),
      deleteGroup: db.prepare("DELETE FROM groups WHERE key = ?"),
      deleteIdentifierReports: db.prepare("DELETE FROM reports WHERE group_key = ? AND identifier_key = ?"),
      deleteIdentifier: db.prepare("DELETE FROM identifiers WHERE group_key = ? AND key = ?"),
      groupRevision: db.prepare("UPDATE groups SET revision = ? WHERE key = ?"),
    };
    this.write = db.transaction((change, group, identifier) => this.apply(change, group, identifier));
    this.checkpointer = new Checkpointer(this.file);
  }

  /** WAL, synchronous=NORMAL, the schema created or its version checked. */
  private prepareFile(): void {
    const db = this.db;
    const version = db.pragma("user_version", { simple: true }) as number;
    if (version > SCHEMA_VERSION) {
      throw new StorageOpenError(
        `${this.file} has schema version ${version}, newer than this server's ${SCHEMA_VERSION}: it was written by a newer sr; run that version (or one as new), or restore a backup made by this one`,
      );
    }
    // Checked before any pragma that writes: a file that is not ours is left exactly as it was.
    if (version === 0) {
      const tables = db.prepare("SELECT count(*) AS n FROM sqlite_master").get() as { n: number };
      if (tables.n !== 0) throw new StorageOpenError(`${this.file} is not an sr data file (schema version 0 with tables in it); give --data-dir a directory of its own`);
    }
    db.pragma("journal_mode = WAL");
    // Every commit reaches the WAL file before it returns: it survives a crash of the process (kill -9).
    // A power loss may take the last commits since the last checkpoint (README, Storage).
    db.pragma("synchronous = NORMAL");
    // Checkpoints run in a worker thread (checkpointer.ts); this connection checkpoints by itself only
    // past 4,000 pages (16 MiB), should that worker fall behind, and the WAL is truncated back to
    // 16 MiB after a checkpoint: the files stay bounded.
    db.pragma("wal_autocheckpoint = 4000");
    db.pragma("journal_size_limit = 16777216");
    if (version === 0) {
      db.transaction(() => {
        db.exec(SCHEMA);
        db.prepare("INSERT INTO registry (id, registry_id, boot_id, clean) VALUES (1, ?, ?, 1)").run(randomUUID(), bootId());
        db.pragma(`user_version = ${SCHEMA_VERSION}`);
      })();
    }
    // synchronous=NORMAL keeps every commit through a crash of the process, not through one of the machine
    // (README, Storage): a file last opened in another boot and never closed may have lost its last commits,
    // whose revisions would then be taken again by other changes. A new registry id makes every watcher that
    // saw them start over from a snapshot instead of resuming into a different history.
    const last = db.prepare("SELECT boot_id, clean FROM registry WHERE id = 1").get() as { boot_id: string; clean: number } | undefined;
    const boot = bootId();
    this.newRegistryId = last !== undefined && last.clean === 0 && last.boot_id !== boot;
    if (this.newRegistryId) db.prepare("UPDATE registry SET registry_id = ? WHERE id = 1").run(randomUUID());
    db.prepare("UPDATE registry SET boot_id = ?, clean = 0 WHERE id = 1").run(boot);
  }

  /** Checkpoints the worker thread has made (for tests). */
  get checkpoints(): number {
    return this.checkpointer.done;
  }

  load(): StoredState {
    const db = this.db;
    const registry = db.prepare("SELECT registry_id, (SELECT coalesce(max(revision), 0) FROM changes) AS revision FROM registry WHERE id = 1").get() as
      | { registry_id: string; revision: number }
      | undefined;
    if (!registry) throw new StorageOpenError(`${this.file} has no registry row: the file is damaged; restore a backup`);
    const reports = new Map<string, ReportEntry[]>();
    /** Per identifier, its last report's revision (a report does not rewrite its identifier's row). */
    const reported = new Map<string, number>();
    for (const r of db.prepare("SELECT group_key, identifier_key, sequence, revision, time, text FROM reports ORDER BY group_key, identifier_key, sequence").all() as Row[]) {
      const key = `${r.group_key as string}\0${r.identifier_key as string}`;
      let list = reports.get(key);
      if (!list) reports.set(key, (list = []));
      list.push({ sequence: r.sequence as number, time: r.time as number, text: r.text as string });
      reported.set(key, r.revision as number);
    }
    const groups = new Map<string, StoredGroup>();
    for (const g of db.prepare("SELECT key, name, internal, revision, create_time FROM groups").all() as Row[]) {
      groups.set(g.key as string, { name: g.name as string, internal: boolOf(g.internal), revision: g.revision as number, createTime: g.create_time as number, identifiers: [] });
    }
    for (const i of db.prepare("SELECT * FROM identifiers").all() as Row[]) {
      const group = groups.get(i.group_key as string);
      if (!group) continue;
      const key = `${i.group_key as string}\0${i.key as string}`;
      const ring = reports.get(key) ?? [];
      const identifier: StoredIdentifier = {
        name: i.name as string,
        status: i.status as number,
        details: i.details === null ? undefined : (i.details as string),
        revision: Math.max(i.revision as number, reported.get(key) ?? 0),
        updateTime: i.update_time as number,
        capacity: i.capacity as number,
        reports: lastOf(ring, i.capacity as number),
        // The newest report is never trimmed, so the next sequence follows it.
        nextSequence: Math.max(i.next_sequence as number, (ring.at(-1)?.sequence ?? 0) + 1),
        lease:
          i.lease_ttl === null
            ? undefined
            : { ttlMs: i.lease_ttl as number, removeAfterMs: i.lease_remove_after === null ? undefined : (i.lease_remove_after as number), armed: boolOf(i.lease_armed) },
      };
      group.identifiers.push(identifier);
    }
    return { registryId: registry.registry_id, revision: registry.revision, groups: [...groups.values()], history: this.history(registry.revision) };
  }

  /** The kept changes, oldest first, one apart and ending at `revision` (a gap would be a damaged file: only what follows it is kept). */
  private history(revision: number): Change[] {
    const rows = this.db.prepare("SELECT revision, change FROM changes WHERE revision > ? ORDER BY revision").all(revision - this.keep) as Row[];
    const changes = rows.map((r) => JSON.parse(r.change as string) as Change);
    let start = changes.length;
    while (start > 0 && (changes[start - 1] as Change).revision === revision - (changes.length - start)) start--;
    return changes.slice(start);
  }

  commit(change: Change, group: GroupRecord, identifier: IdentifierRecord | undefined): void {
    if (this.closed) throw new Error(`${this.file} is closed`);
    this.write(change, group, identifier);
    this.checkpointer.committed();
  }

  saveLease(group: GroupRecord, identifier: IdentifierRecord): void {
    if (this.closed) return;
    const lease = identifier.lease;
    this.statements.updateLease.run(lease?.ttlMs ?? null, lease?.removeAfterMs ?? null, lease ? Number(lease.armed) : null, group.key, identifier.key);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.checkpointer.close();
    this.db.prepare("UPDATE registry SET clean = 1 WHERE id = 1").run();
    this.db.close();
    this.lock.close();
  }

  /** One change in one transaction: the state it leaves, the change itself (the history, trimmed), the revision. */
  private apply(change: Change, group: GroupRecord, identifier: IdentifierRecord | undefined): void {
    const s = this.statements;
    const revision = change.revision;
    // Conditional on the revision the change was made at. This process alone writes the file (the
    // lock), so the head it last committed (or loaded) is the file's.
    if (revision !== this.head + 1) throw new Error(`conflict: change ${revision} is not the next after revision ${this.head}, which ${this.file} holds`);
    switch (change.kind) {
      case "registered": {
        const i = identifier as IdentifierRecord;
        s.upsertGroup.run(group.key, group.name, Number(group.internal), group.revision, group.createTime);
        const lease = i.lease;
        s.upsertIdentifier.run(
          group.key,
          i.key,
          i.name,
          i.status,
          i.details ?? null,
          i.revision,
          i.updateTime,
          i.reports.capacity,
          1,
          lease?.ttlMs ?? null,
          lease?.removeAfterMs ?? null,
          lease ? Number(lease.armed) : null,
        );
        break;
      }
      case "unregistered":
        if (change.identifierKey === "") {
          s.deleteGroupReports.run(group.key);
          s.deleteGroupIdentifiers.run(group.key);
          s.deleteGroup.run(group.key);
        } else {
          s.deleteIdentifierReports.run(group.key, change.identifierKey);
          s.deleteIdentifier.run(group.key, change.identifierKey);
          s.groupRevision.run(group.revision, group.key);
        }
        break;
      case "status": {
        const i = identifier as IdentifierRecord;
        const lease = i.lease;
        s.updateStatus.run(change.status, change.details ?? null, revision, i.updateTime, lease?.ttlMs ?? null, lease?.removeAfterMs ?? null, lease ? Number(lease.armed) : null, group.key, i.key);
        break;
      }
      case "report": {
        const i = identifier as IdentifierRecord;
        const report = change.report;
        s.insertReport.run(group.key, i.key, report.sequence, revision, report.time, report.text);
        // The ring holds `capacity`: older reports go, so the file stays bounded (every TRIM_EVERY
        // reports: up to TRIM_EVERY - 1 more are kept, and `load` hands back the last `capacity`).
        if (report.sequence % TRIM_EVERY === 0 || i.reports.capacity < TRIM_EVERY) s.trimReports.run(group.key, i.key, report.sequence - i.reports.capacity);
        break;
      }
    }
    s.insertChange.run(revision, JSON.stringify(change));
    this.head = revision;
    // Trimmed every TRIM_EVERY changes, not each (one page less written per commit): the log holds `keep` to `keep + TRIM_EVERY - 1`.
    if (revision % TRIM_EVERY === 0) s.trimChanges.run(revision - this.keep);
  }
}
