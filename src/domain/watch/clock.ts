/**
 * The domain's one clock for durations and timers (watch progress, lease
 * deadlines): monotonic, so a wall-clock step never fires a timer early or
 * late, and injected, so tests drive time with a fake one. Timestamps shown to
 * readers come from the registry's wall clock instead.
 */
export interface Clock {
  /** Monotonic milliseconds; only differences mean something. */
  now(): number;
  /** Calls `callback` once after `ms`; the timer must not keep the process alive. */
  setTimer(callback: () => void, ms: number): unknown;
  clearTimer(timer: unknown): void;
}

export const systemClock: Clock = {
  now: () => performance.now(),
  setTimer(callback, ms) {
    const timer = setTimeout(callback, ms);
    timer.unref?.();
    return timer;
  },
  clearTimer(timer) {
    clearTimeout(timer as NodeJS.Timeout);
  },
};
