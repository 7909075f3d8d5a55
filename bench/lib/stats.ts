/** Numbers shared by every scenario: one clock across processes, medians, percentiles. */

/**
 * Milliseconds on CLOCK_MONOTONIC. On Linux libuv's hrtime reads that clock,
 * which is system-wide, so a stamp taken in the writer process and one taken
 * in a watcher process subtract correctly (checked: a child's stamp falls
 * between its parent's before and after). `performance.timeOrigin` is not
 * usable across processes: it is each process's wall clock at its start.
 * As a double, nanoseconds since boot stay exact well past a year of uptime.
 */
export function now(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

/** The p-th percentile (0..100) of an ascending array, nearest rank. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] as number;
}

/** Medians over rounds, field by field, of rows that share a key. */
export function medianRows<R extends Record<string, unknown>>(rows: readonly R[], key: (row: R) => string): R[] {
  const groups = new Map<string, R[]>();
  for (const row of rows) {
    const k = key(row);
    groups.set(k, [...(groups.get(k) ?? []), row]);
  }
  return [...groups.values()].map((same) => {
    const first = same[0] as R;
    const out: Record<string, unknown> = { ...first, rounds: same.length };
    for (const [field, value] of Object.entries(first)) {
      if (typeof value === "number") out[field] = median(same.map((r) => r[field] as number));
    }
    return out as R;
  });
}

/** `items` starting at position `round`: each round runs the sides in another order, so drift over a run spreads over all of them. */
export function rotate<T>(items: readonly T[], round: number): T[] {
  const r = round % Math.max(items.length, 1);
  return [...items.slice(r), ...items.slice(0, r)];
}
