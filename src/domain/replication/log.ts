/**
 * What a replicated registry needs of the engine that orders its changes
 * (etcd, src/storage/etcd/): commit a batch of entries on top of everything
 * this replica has applied, and tell when this replica has applied a
 * position of the log. Plain TypeScript: no engine is imported here.
 */
import type { Registry } from "../registry/registry.js";
import type { Entry } from "./entry.js";

/** How a commit went: its position in the log, or, on a conflict, the position to catch up to first. */
export interface CommitOutcome {
  committed: boolean;
  /** Committed: where the batch is. Conflict: the log's head, which this replica must apply before deciding again. */
  position: number;
}

export interface ReplicatedLog {
  /** Why writes cannot be taken now (the engine is lost), or undefined when they can. */
  readonly unavailable: string | undefined;
  /**
   * Commits `entries` (in order, as one) only if the log's head is still what
   * this replica applied last; `id` names the batch, so a commit whose answer
   * was lost is recognised once applied (`applied`). Rejects with an
   * SrError (STORAGE_UNAVAILABLE) when the engine did not answer.
   */
  commitBatch(id: string, entries: Entry[]): Promise<CommitOutcome>;
  /** Resolves true once this replica has applied the log up to `position`, false after `timeoutMs`. */
  caughtUp(position: number, timeoutMs: number): Promise<boolean>;
  /** Was the batch `id` applied here (recently)? */
  applied(id: string): boolean;
  /** The cluster's revision, read from the engine (linearizable). */
  clusterRevision(): Promise<number>;
  /** Resolves true once this replica's registry reached `revision`, false after `timeoutMs`. */
  reached(revision: number, timeoutMs: number): Promise<boolean>;
}

/** What happens to the engine: lost (writes refused, `core` not ready), back, or beyond repair (the replica must restart). */
export type EngineEvent = { kind: "lost"; cause: string } | { kind: "recovered" } | { kind: "fatal"; cause: string };

/** A storage that replicates (Storage.replication): the log, plus following it and telling of the engine. */
export interface Replication extends ReplicatedLog {
  /** Starts applying the cluster's commits to `registry` (built from the storage's `load()`), in order. */
  follow(registry: Registry): Promise<void>;
  onEngine(listener: (event: EngineEvent) => void): void;
}
