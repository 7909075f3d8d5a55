/** A registry on a fake monotonic clock (and a wall clock that moves with it), recording its changes. */
import { type Change, Registry, type RegistryLimits } from "../../src/domain/registry/registry.js";
import type { LeaseSettings } from "../../src/domain/leases/rules.js";
import { FakeClock } from "./watch/fake-clock.js";

export const WALL_START = 1_700_000_000_000;
export const SECOND = 1_000;

/** A FakeClock that also remembers the most timers it ever had pending at once, and how many it set. */
export class CountingFakeClock extends FakeClock {
  maxPending = 0;
  timersSet = 0;

  override setTimer(callback: () => void, ms: number): unknown {
    const timer = super.setTimer(callback, ms);
    this.timersSet++;
    this.maxPending = Math.max(this.maxPending, this.pendingTimers);
    return timer;
  }
}

export function leased(options: { limits?: RegistryLimits; leases?: LeaseSettings } = {}) {
  const clock = new CountingFakeClock();
  const start = clock.now();
  const wall = () => WALL_START + (clock.now() - start);
  const r = new Registry(options.limits, wall, { clock, leases: options.leases });
  const changes: Change[] = [];
  r.onChange((change) => changes.push(change));
  /** What changed since the last call, as [kind, group, identifier] (with the status for status changes). */
  const since = { at: 0 };
  const newChanges = () => {
    const out = changes.slice(since.at);
    since.at = changes.length;
    return out.map((c) => (c.kind === "status" ? [c.kind, c.identifier, c.status, c.details] : c.kind === "report" ? [c.kind, c.identifier, c.report.text] : [c.kind, c.group, c.identifier]));
  };
  const status = (group: string, identifier = "") => r.getStatus({ group, identifier }).status;
  return { r, clock, wall, changes, newChanges, status };
}
