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

/** A fixed-capacity FIFO of reports; when full, adding drops the oldest. */
export class ReportRing {
  private readonly slots: (ReportEntry | undefined)[];
  private start = 0;
  private count = 0;
  private nextSequence = 1;

  constructor(readonly capacity: number) {
    this.slots = [];
  }

  get size(): number {
    return this.count;
  }

  /** A ring as it was kept (docs/storage.md): `entries` oldest first, the next report numbered `nextSequence`. */
  static restore(capacity: number, entries: readonly ReportEntry[], nextSequence: number): ReportRing {
    const ring = new ReportRing(capacity);
    const kept = capacity === 0 ? [] : entries.slice(-capacity);
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
}
