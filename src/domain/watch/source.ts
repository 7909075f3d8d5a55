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
    queueMicrotask(wake);
  }
}
