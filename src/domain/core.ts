import { MAIN } from "./names.js";
import type { Registry } from "./registry/registry.js";

/** The server's own internal group, tracking its lifecycle like OpenSIPS's `core`. */
export const CORE_GROUP = "core";
export const CORE_REPORT_CAPACITY = 10;

export const CoreState = {
  NONE: -100,
  TERMINATING: -2,
  INITIALIZING: -1,
  RUNNING: 1,
} as const;

const SERVER = { server: true, by: "server" };

function set(registry: Registry, status: number, details: string, report?: string): void {
  registry.setStatus({ group: CORE_GROUP, identifier: MAIN, status, details }, SERVER);
  if (report !== undefined) registry.addReport({ group: CORE_GROUP, identifier: MAIN, text: report }, SERVER);
}

/** `core`/`main` at -100 (none): the registry exists, nothing else yet. */
export function createCore(registry: Registry): void {
  // A durable registry kept `core` from the last run: it starts over with the
  // process, as a change after the kept ones (docs/storage.md), its reports kept.
  if (registry.isInternal(CORE_GROUP)) registry.setStatus({ group: CORE_GROUP, identifier: MAIN, status: CoreState.NONE }, SERVER);
  else registry.registerInternalGroup({ group: CORE_GROUP, status: CoreState.NONE, reportCapacity: CORE_REPORT_CAPACITY });
}

export function coreInitializing(registry: Registry): void {
  set(registry, CoreState.INITIALIZING, "initializing", "initializing");
}

/** Every listener is up. */
export function coreRunning(registry: Registry): void {
  set(registry, CoreState.RUNNING, "running", "initialization completed, ready now");
}

/** Longest cause a core status quotes: details and reports stay far below their 2048 bytes. */
const MAX_CAUSE = 500;

/** The storage engine is lost (etcd's quorum): not ready, naming the cause (docs/storage.md). */
export function coreStorageLost(registry: Registry, cause: string): void {
  const text = `storage unavailable: ${cause.length > MAX_CAUSE ? `${cause.slice(0, MAX_CAUSE)}...` : cause}`;
  set(registry, CoreState.INITIALIZING, text, text);
}

/** The storage engine is back: ready again. */
export function coreStorageBack(registry: Registry): void {
  set(registry, CoreState.RUNNING, "running", "storage available again, ready now");
}

/** A graceful stop began. */
export function coreShuttingDown(registry: Registry): void {
  set(registry, CoreState.TERMINATING, "shutting down");
}
