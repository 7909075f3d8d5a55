/**
 * WAL checkpoints off the event loop. A checkpoint copies the WAL's pages into
 * sr.db and, with synchronous=NORMAL, waits for the disk twice (the WAL, then
 * the database): done by SQLite inside a commit every 1,000 pages, that wait
 * would stall every call the server is answering. Here a worker thread with a
 * connection of its own checkpoints in PASSIVE mode (never blocking the
 * writer) once enough has been committed or the server went quiet; the main
 * connection's own automatic checkpoint stays as a backstop at a larger size.
 */
import { createRequire } from "node:module";
import { Worker } from "node:worker_threads";

/** Commits between two checkpoints asked of the worker. */
const EVERY_COMMITS = 256;
/** A quiet server's last commits are checkpointed after this. */
const IDLE_MS = 1_000;

const WORKER = `
const { parentPort, workerData } = require("node:worker_threads");
const Database = require(workerData.driver);
const db = new Database(workerData.file, { timeout: 5000 });
parentPort.on("message", (message) => {
  if (message === "close") {
    db.close();
    parentPort.close();
    return;
  }
  let error;
  try {
    db.pragma("wal_checkpoint(PASSIVE)");
  } catch (e) {
    error = String(e && e.message);
  }
  parentPort.postMessage({ done: true, error });
});
`;

export class Checkpointer {
  private readonly worker: Worker;
  private commits = 0;
  private running = false;
  private idle: NodeJS.Timeout | undefined;
  private closed = false;
  /** Checkpoints the worker finished (for tests). */
  done = 0;

  constructor(file: string) {
    const driver = createRequire(import.meta.url).resolve("better-sqlite3");
    this.worker = new Worker(WORKER, { eval: true, workerData: { driver, file } });
    this.worker.on("error", () => {});
    this.worker.on("message", () => {
      this.running = false;
      this.done++;
      if (this.commits >= EVERY_COMMITS) this.ask();
    });
    // It must never keep the process alive (unref after the listeners, which ref it), nor take it
    // down: the backstop checkpoints if it is gone.
    this.worker.unref();
  }

  /** One more commit: a checkpoint is asked for every EVERY_COMMITS, and once the server goes quiet. */
  committed(): void {
    if (this.closed) return;
    this.commits++;
    if (this.commits >= EVERY_COMMITS) this.ask();
    if (this.idle) this.idle.refresh();
    else this.idle = setTimeout(() => this.ask(), IDLE_MS).unref();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.idle);
    this.worker.postMessage("close");
  }

  private ask(): void {
    if (this.running || this.closed || this.commits === 0) return;
    this.running = true;
    this.commits = 0;
    this.worker.postMessage("checkpoint");
  }
}
