/**
 * Time as the watch hub sees it: injected like the registry's clock, so
 * progress timing can be tested with a fake one.
 */
export interface Clock {
  now(): number;
  /** Calls `callback` once after `ms`; the timer must not keep the process alive. */
  setTimer(callback: () => void, ms: number): unknown;
  clearTimer(timer: unknown): void;
}

export const systemClock: Clock = {
  now: Date.now,
  setTimer(callback, ms) {
    const timer = setTimeout(callback, ms);
    timer.unref?.();
    return timer;
  },
  clearTimer(timer) {
    clearTimeout(timer as NodeJS.Timeout);
  },
};
