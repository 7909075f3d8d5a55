import type { Change } from "../registry/registry.js";

/**
 * The last changes of the registry, by revision, in a ring: what resuming and
 * catching-up watchers read in place, so catching up costs them no memory.
 */
export class ChangeHistory {
  private readonly ring: (Change | undefined)[];
  private head: number;
  /** The registry's revision when recording began: nothing before it is kept. */
  private readonly baseRevision: number;

  constructor(
    readonly capacity: number,
    startRevision: number,
  ) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`history capacity must be a positive integer (got ${capacity})`);
    this.ring = new Array(capacity);
    this.head = startRevision;
    this.baseRevision = startRevision;
  }

  /** The oldest revision kept; everything from it to the head can be read. */
  get firstRevision(): number {
    return Math.max(this.head - this.capacity + 1, this.baseRevision + 1);
  }

  get headRevision(): number {
    return this.head;
  }

  /** Records the next change; revisions come in order, one apart. */
  append(change: Change): void {
    this.head = change.revision;
    this.ring[change.revision % this.capacity] = change;
  }

  /** The change at `revision`, or undefined when it has left the history (or is yet to come). */
  at(revision: number): Change | undefined {
    if (revision < this.firstRevision || revision > this.head) return undefined;
    return this.ring[revision % this.capacity];
  }
}
