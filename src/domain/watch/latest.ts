import type { Change } from "../registry/registry.js";
import { type WatchKeys, touches } from "./filter.js";
import { ENDED, type EventSource, IDLE, type Pulled, Wakeup } from "./source.js";

/**
 * A watcher of a value derived from the registry (a health serving status):
 * it holds no queue, only whether a change may have moved the value, so a stuck
 * reader costs nothing. It yields the value at once, then only when it differs
 * from the last one yielded; after `drain`, its final value (if new), then the end.
 */
export class LatestValueWatcher<T> implements EventSource<T> {
  private stale = true;
  private yielded: { value: T } | undefined;
  private draining = false;
  private closed = false;
  private readonly wakeup = new Wakeup();

  constructor(
    /** Called once, when the watcher closes. */
    private readonly onClose: () => void,
    readonly filter: WatchKeys,
    readonly owner: string,
    private readonly read: () => T,
  ) {}

  /** A change of the watched group: the value may have moved. */
  offer(change: Change): void {
    if (!touches(this.filter, change)) return;
    this.stale = true;
    this.wakeup.fire();
  }

  next(): Pulled<T> {
    if (this.closed) return ENDED;
    if (this.stale) {
      this.stale = false;
      const value = this.read();
      if (!this.yielded || !Object.is(value, this.yielded.value)) {
        this.yielded = { value };
        return value;
      }
    }
    return this.draining ? ENDED : IDLE;
  }

  wait(wake: () => void): void {
    this.wakeup.set(wake);
  }

  /** Yields the final value, when it differs from the last, then ends (graceful stop). */
  drain(): void {
    this.draining = true;
    this.stale = true;
    this.wakeup.fire();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.onClose();
    this.wakeup.fire();
  }
}
