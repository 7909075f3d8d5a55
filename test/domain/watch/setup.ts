import { Registry } from "../../../src/domain/registry/registry.js";
import { DEFAULT_WATCH_OPTIONS, WatchHub, type WatchOptions } from "../../../src/domain/watch/hub.js";
import type { WatchRequest } from "../../../src/domain/watch/filter.js";
import { ENDED, type EventSource, IDLE } from "../../../src/domain/watch/source.js";
import { FakeClock } from "./fake-clock.js";

/** A registry, a hub on a fake clock, and the options it was given. */
export function hubOf(options: Partial<WatchOptions> = {}) {
  const registry = new Registry();
  const clock = new FakeClock();
  const hub = new WatchHub(registry, { ...DEFAULT_WATCH_OPTIONS, ...options }, clock);
  return { registry, clock, hub };
}

export const request = (overrides: Partial<WatchRequest> = {}): WatchRequest => ({
  group: "",
  identifier: "",
  includeDetails: false,
  includeReports: false,
  includeRegistrations: false,
  ...overrides,
});

/** Everything a source answers now, up to (not including) the first IDLE or ENDED, which is returned too. */
export function drainNow<T>(source: EventSource<T>): { events: T[]; then: typeof IDLE | typeof ENDED } {
  const events: T[] = [];
  for (;;) {
    const event = source.next();
    if (event === IDLE || event === ENDED) return { events, then: event as typeof IDLE | typeof ENDED };
    events.push(event as T);
  }
}

/** Lets queued microtasks (a source's wake) run. */
export const microtasks = () => new Promise<void>((resolve) => setImmediate(resolve));
