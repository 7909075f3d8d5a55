import { estimateReportBytes, estimateStatusBytes, estimateViewBytes } from "../listing/sizes.js";
import type { Change } from "../registry/registry.js";

/** A change's estimated wire size, which the byte budget counts. */
export function changeBytes(change: Change): number {
  switch (change.kind) {
    case "status":
      return estimateStatusBytes(change.group, change.identifier, change.details);
    case "report":
      return estimateStatusBytes(change.group, change.identifier, undefined) + estimateReportBytes(change.report.text);
    case "registered":
      return estimateViewBytes(change.status);
    case "unregistered":
      return estimateStatusBytes(change.group, change.identifier, undefined);
  }
}

export interface Budget {
  messages: number;
  bytes: number;
}

/** A live watcher's queue of changes not yet read, bounded by its budget. */
export class PendingChanges {
  private changes: Change[] = [];
  /** Estimated size of each queued change, parallel to `changes`. */
  private sizes: number[] = [];
  private head = 0;
  private bytes = 0;
  /** The most changes ever queued at once (for tests and metrics). */
  maxSize = 0;

  constructor(private readonly budget: Budget) {}

  get size(): number {
    return this.changes.length - this.head;
  }

  /** Queues `change` of estimated size `bytes`; false, queuing nothing, when that would exceed the budget. */
  push(change: Change, bytes: number): boolean {
    if (this.size + 1 > this.budget.messages || this.bytes + bytes > this.budget.bytes) return false;
    this.changes.push(change);
    this.sizes.push(bytes);
    this.bytes += bytes;
    if (this.size > this.maxSize) this.maxSize = this.size;
    return true;
  }

  shift(): Change | undefined {
    if (this.head === this.changes.length) return undefined;
    const change = this.changes[this.head] as Change;
    this.bytes -= this.sizes[this.head++] as number;
    if (this.head === this.changes.length) this.clear();
    return change;
  }

  clear(): void {
    this.changes = [];
    this.sizes = [];
    this.head = 0;
    this.bytes = 0;
  }
}
