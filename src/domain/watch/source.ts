/**
 * A pull-based stream of events, read at the pace its consumer can write:
 * `next()` answers at once, and `wait` asks to be told when it is worth
 * calling again. No promise per event: under load a consumer only calls next().
 */
export const IDLE = Symbol("idle");
export const ENDED = Symbol("ended");

/** An event, IDLE (nothing now: call `wait`), or ENDED (for good). */
export type Pulled<T> = T | typeof IDLE | typeof ENDED;

export interface EventSource<T> {
  next(): Pulled<T>;
  /**
   * Calls `wake` once, outside the registry's change listener, when `next()`
   * may answer something other than IDLE. One wake at a time.
   */
  wait(wake: () => void): void;
  /** Ends the source and frees what it holds. Idempotent. */
  close(): void;
}

/**
 * Wakes fired and not yet run, in the order they were fired: one microtask
 * runs them all, so a change fanned out to a thousand waiting watchers queues
 * one microtask, not a thousand.
 */
let due: (() => void)[] = [];

function runDue(): void {
  const wakes = due;
  due = [];
  for (const wake of wakes) {
    try {
      wake();
    } catch (error) {
      // As if it had run in a microtask of its own: reported, the others still run.
      queueMicrotask(() => {
        throw error;
      });
    }
  }
}

/** A consumer's pending `wait`: fired at most once, in a microtask, so no consumer runs inside the caller. */
export class Wakeup {
  private wake: (() => void) | undefined;

  set(wake: () => void): void {
    this.wake = wake;
  }

  get pending(): boolean {
    return this.wake !== undefined;
  }

  fire(): void {
    const wake = this.wake;
    if (!wake) return;
    this.wake = undefined;
    if (due.length === 0) queueMicrotask(runDue);
    due.push(wake);
  }
}
