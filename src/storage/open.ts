/**
 * Picks the registry's storage from the configuration (docs/storage.md): in
 * memory unless `storage.data_dir` (`--data-dir`) names a directory, then
 * SQLite, whose driver is imported only now.
 */
import { IN_MEMORY, type Storage } from "../domain/storage/storage.js";

export interface StorageSettings {
  dataDir?: string | undefined;
  etcd?: unknown;
}

/** `history`: the changes the watch hub keeps (what a restart must give back for watchers to resume). */
export async function openStorage(settings: StorageSettings, history: number): Promise<Storage> {
  if (settings.etcd !== undefined) {
    throw new Error(settings.dataDir !== undefined ? "--data-dir and --etcd exclude each other: choose one" : "--etcd (storage.etcd) is not available in this version; use --data-dir or the in-memory default");
  }
  if (settings.dataDir === undefined) return IN_MEMORY;
  const { openSqliteStorage } = await import("./sqlite/sqlite-storage.js");
  return openSqliteStorage(settings.dataDir, { history });
}
