import type { Clock } from "../watch/clock.js";

/**
 * setTimeout takes at most 2^31-1 ms (about 24.8 days; more fires at once), and
 * a lease may last 30 days: a longer wait is cut and simply re-armed.
 */
const MAX_TIMER_MS = 2 ** 31 - 1;

interface Slot<T> {
  readonly item: T;
  deadline: number;
}

/**
 * Items due at a deadline on a monotonic clock, in an indexed binary min-heap,
 * with ONE timer for all of them, armed for the earliest deadline. An item is
 * handed to `onDue` never before its deadline (the clock is read again when the
 * timer fires) and, timers willing, as soon as it is due; everything due by
 * then goes in the same run, each whatever the ones before did (a handler
 * that throws is told to `onFailed`). Moving or cancelling an item is O(log n) and
 * leaves nothing behind, however often it happens.
 */
export class DeadlineQueue<T> {
  private readonly heap: Slot<T>[] = [];
  private readonly index = new Map<T, number>();
  private timer: unknown;
  /** The deadline the timer is armed for; a later earliest deadline keeps it (it fires, finds nothing due, re-arms). */
  private timerAt = Infinity;
  private running = false;

  constructor(
    private readonly clock: Clock,
    private readonly onDue: (item: T) => void,
    /** Told of an `onDue` that threw: the timer goes on with the items due after it. */
    private readonly onFailed: (error: unknown) => void = (error) => console.error("sr: a deadline's handler failed:", error),
  ) {}

  get size(): number {
    return this.heap.length;
  }

  has(item: T): boolean {
    return this.index.has(item);
  }

  /** When `item` is due; undefined when it is not scheduled. */
  deadlineOf(item: T): number | undefined {
    const at = this.index.get(item);
    return at === undefined ? undefined : (this.heap[at] as Slot<T>).deadline;
  }

  /** Schedules `item` at `deadline`, moving it if it was already scheduled. */
  schedule(item: T, deadline: number): void {
    const at = this.index.get(item);
    if (at === undefined) {
      this.heap.push({ item, deadline });
      this.index.set(item, this.heap.length - 1);
      this.up(this.heap.length - 1);
    } else {
      const slot = this.heap[at] as Slot<T>;
      const earlier = deadline < slot.deadline;
      slot.deadline = deadline;
      if (earlier) this.up(at);
      else this.down(at);
    }
    this.arm();
  }

  cancel(item: T): void {
    const at = this.index.get(item);
    if (at === undefined) return;
    this.index.delete(item);
    const last = this.heap.pop() as Slot<T>;
    if (at < this.heap.length) {
      this.heap[at] = last;
      this.index.set(last.item, at);
      this.down(at);
      this.up(at);
    }
  }

  /** Stops the timer; nothing fires until the next `schedule`. */
  close(): void {
    if (this.timer !== undefined) this.clock.clearTimer(this.timer);
    this.timer = undefined;
    this.timerAt = Infinity;
  }

  private arm(): void {
    const first = this.heap[0];
    if (this.running || !first || first.deadline >= this.timerAt) return;
    this.close();
    this.timerAt = first.deadline;
    const wait = Math.min(MAX_TIMER_MS, Math.max(0, Math.ceil(first.deadline - this.clock.now())));
    this.timer = this.clock.setTimer(() => this.fire(), wait);
  }

  private fire(): void {
    this.timer = undefined;
    this.timerAt = Infinity;
    this.running = true;
    try {
      const now = this.clock.now();
      for (let first = this.heap[0]; first && first.deadline <= now; first = this.heap[0]) {
        this.cancel(first.item);
        try {
          this.onDue(first.item);
        } catch (error) {
          // Nothing escapes the timer: one failing item neither crashes the process nor holds back the rest.
          this.onFailed(error);
        }
      }
    } finally {
      this.running = false;
      this.arm();
    }
  }

  private up(at: number): void {
    const slot = this.heap[at] as Slot<T>;
    while (at > 0) {
      const parent = (at - 1) >> 1;
      const above = this.heap[parent] as Slot<T>;
      if (above.deadline <= slot.deadline) break;
      this.place(above, at);
      at = parent;
    }
    this.place(slot, at);
  }

  private down(at: number): void {
    const slot = this.heap[at] as Slot<T>;
    const n = this.heap.length;
    for (;;) {
      let child = 2 * at + 1;
      if (child >= n) break;
      const right = child + 1;
      if (right < n && (this.heap[right] as Slot<T>).deadline < (this.heap[child] as Slot<T>).deadline) child = right;
      const below = this.heap[child] as Slot<T>;
      if (below.deadline >= slot.deadline) break;
      this.place(below, at);
      at = child;
    }
    this.place(slot, at);
  }

  private place(slot: Slot<T>, at: number): void {
    this.heap[at] = slot;
    this.index.set(slot.item, at);
  }
}
