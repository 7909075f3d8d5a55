/** One report: its sequence grows by one per report within its identifier. */
export interface ReportEntry {
  readonly sequence: number;
  /** Milliseconds since the epoch. */
  readonly time: number;
  readonly text: string;
}

/** A ring as `save` found it. */
export interface RingState {
  readonly slots: readonly (ReportEntry | undefined)[];
  readonly start: number;
  readonly count: number;
  readonly nextSequence: number;
}

/** What readers of a ring may use: everything but `add`, which only the registry calls. */
export type ReadonlyReportRing = Pick<ReportRing, "capacity" | "size" | "list" | "added">;

/**
 * The empty rings shared by every identifier without a report yet, one per
 * capacity. For memory: most identifiers never get a report, and a ring of its
 * own (the ring and its slots) cost about 100 bytes each; the registry gives an
 * identifier its own ring at its first report (`ReportRing.writable`).
 */
const EMPTY_RINGS = new Map<number, ReportRing>();

/** A fixed-capacity FIFO of reports; when full, adding drops the oldest. */
export class ReportRing {
  private readonly slots: (ReportEntry | undefined)[];
  private start = 0;
  private count = 0;
  private nextSequence = 1;

  constructor(readonly capacity: number) {
    this.slots = [];
  }

  /**
   * The ring of a new identifier: the shared empty ring of this capacity, which
   * reads as a new ring and is never written (see `writable`).
   */
  static empty(capacity: number): ReportRing {
    let ring = EMPTY_RINGS.get(capacity);
    if (!ring) EMPTY_RINGS.set(capacity, (ring = new ReportRing(capacity)));
    return ring;
  }

  /** Whether this is a shared empty ring (`empty`), which must not be written. */
  get shared(): boolean {
    return EMPTY_RINGS.get(this.capacity) === this;
  }

  /** `ring` itself when it may be written, else a new ring of its own with the same capacity. */
  static writable(ring: ReportRing): ReportRing {
    return ring.shared ? new ReportRing(ring.capacity) : ring;
  }

  get size(): number {
    return this.count;
  }

  /** A ring as it was kept (docs/storage.md): `entries` oldest first, the next report numbered `nextSequence`. */
  static restore(capacity: number, entries: readonly ReportEntry[], nextSequence: number): ReportRing {
    const kept = capacity === 0 ? [] : entries.slice(-capacity);
    // A ring that never had a report reads as a new one: it may share the empty ring.
    if (kept.length === 0 && nextSequence <= 1) return ReportRing.empty(capacity);
    const ring = new ReportRing(capacity);
    ring.slots.push(...kept);
    ring.count = kept.length;
    ring.nextSequence = Math.max(nextSequence, (kept.at(-1)?.sequence ?? 0) + 1);
    return ring;
  }

  /**
   * Reports added since the ring was made (its identifier registered): the
   * last sequence given out, counting those the ring has since dropped; 0 for
   * capacity 0, which accepts none.
   */
  get added(): number {
    return this.nextSequence - 1;
  }

  add(text: string, time: number): ReportEntry {
    const entry: ReportEntry = { sequence: this.nextSequence, time, text };
    this.insert(entry);
    return entry;
  }

  /** Adds a report numbered elsewhere (another replica's, docs/storage.md); the next one follows it. */
  insert(entry: ReportEntry): void {
    this.checkWritable();
    this.nextSequence = entry.sequence + 1;
    if (this.capacity === 0) return;
    if (this.count < this.capacity) {
      this.slots[(this.start + this.count) % this.capacity] = entry;
      this.count++;
    } else {
      this.slots[this.start] = entry;
      this.start = (this.start + 1) % this.capacity;
    }
  }

  /** The ring's state, for `rollback` (a replicated registry's proposals are put back). */
  save(): RingState {
    return { slots: this.slots.slice(), start: this.start, count: this.count, nextSequence: this.nextSequence };
  }

  rollback(state: RingState): void {
    this.checkWritable();
    this.slots.length = 0;
    for (const slot of state.slots) this.slots.push(slot);
    this.start = state.start;
    this.count = state.count;
    this.nextSequence = state.nextSequence;
  }

  /** The reports with a sequence above `afterSequence`, oldest first. */
  list(afterSequence = 0): ReportEntry[] {
    const out: ReportEntry[] = [];
    for (let i = 0; i < this.count; i++) {
      const entry = this.slots[(this.start + i) % this.capacity] as ReportEntry;
      if (entry.sequence > afterSequence) out.push(entry);
    }
    return out;
  }

  /** A shared empty ring is every new identifier's: writing it would be a bug. */
  private checkWritable(): void {
    if (this.shared) throw new Error("report ring: a shared empty ring is never written (take ReportRing.writable first)");
  }
}
