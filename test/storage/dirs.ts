/** Data dirs of the storage tests: real SQLite files on /dev/shm (a RAM disk: no disk in the timings), removed after. */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

const made: string[] = [];

/** A fresh, empty directory; `removeDataDirs` removes it. */
export function dataDir(prefix = "sr-storage"): string {
  const base = existsSync("/dev/shm") ? "/dev/shm" : tmpdir();
  const dir = mkdtempSync(path.join(base, `${prefix}-`));
  made.push(dir);
  return dir;
}

export function removeDataDirs(): void {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
}
