/**
 * The server's own counts of what it holds open (RunningServer.stats()), for
 * tests that prove nothing leaks and, later, for metrics. Read-only: reading
 * them changes nothing.
 */
import { type Clock, systemClock } from "../domain/watch/clock.js";
import type { ConnectionCounts } from "../transport/grpc/channelz.js";

export interface ServerStats extends ConnectionCounts {
  /** Open watchers of every kind, WatchStatus and health Watch (what `max_watchers` counts). */
  watchers: number;
  /** Timers the watch hub has armed and not yet fired or cleared (progress). */
  hubTimers: number;
  /** Listeners subscribed to the registry's changes. */
  registryListeners: number;
}

/** A clock that knows how many of its timers are pending. */
export class CountingClock implements Clock {
  private readonly pending = new Set<unknown>();

  constructor(private readonly inner: Clock = systemClock) {}

  get timers(): number {
    return this.pending.size;
  }

  now(): number {
    return this.inner.now();
  }

  setTimer(callback: () => void, ms: number): unknown {
    const timer = this.inner.setTimer(() => {
      this.pending.delete(timer);
      callback();
    }, ms);
    this.pending.add(timer);
    return timer;
  }

  clearTimer(timer: unknown): void {
    this.pending.delete(timer);
    this.inner.clearTimer(timer);
  }
}
