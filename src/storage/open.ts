/**
 * Picks the registry's storage from the configuration (docs/storage.md): in
 * memory unless `storage.data_dir` (`--data-dir`) names a directory (SQLite)
 * or `storage.etcd` (`--etcd`) a cluster; each engine's code is imported only then.
 */
import type { EtcdConfig } from "../app/config.js";
import { IN_MEMORY, type Storage } from "../domain/storage/storage.js";

export interface StorageSettings {
  dataDir?: string | undefined;
  etcd?: EtcdConfig | undefined;
}

/** `history`: the changes the watch hub keeps (what a restart must give back for watchers to resume). */
export async function openStorage(settings: StorageSettings, history: number): Promise<Storage> {
  if (settings.etcd !== undefined) {
    if (settings.dataDir !== undefined) throw new Error("--data-dir and --etcd exclude each other: choose one");
    const { openEtcdStorage } = await import("./etcd/etcd-storage.js");
    return openEtcdStorage(settings.etcd, { history });
  }
  if (settings.dataDir === undefined) return IN_MEMORY;
  const { openSqliteStorage } = await import("./sqlite/sqlite-storage.js");
  return openSqliteStorage(settings.dataDir, { history });
}
