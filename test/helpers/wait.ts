/**
 * Waiting without sleeping: every helper here returns as soon as what it waits
 * for has happened, and fails with a message saying what it was waiting for
 * (and what it saw instead) once its timeout has passed. None of them is a
 * fixed delay used as synchronisation.
 */

export const DEFAULT_TIMEOUT_MS = 5_000;

/** A wait that ran out of time. */
export class WaitTimeout extends Error {
  override name = "WaitTimeout";
}

type Falsy = false | 0 | "" | null | undefined;

/** Resolves on the next turn of the event loop (after pending I/O callbacks). */
const turn = () => new Promise<void>((resolve) => setImmediate(resolve));
const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Polls `predicate` until it returns a truthy value, and returns that value.
 * The first polls run on the next turns of the event loop, later ones every
 * few milliseconds. A predicate that throws (an `expect` inside it) counts as
 * "not yet"; its last error is part of the timeout message.
 */
export async function waitFor<T>(
  predicate: () => T | Promise<T>,
  timeoutMs = DEFAULT_TIMEOUT_MS,
  message: string | (() => string) = "condition",
): Promise<Exclude<T, Falsy>> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (let attempt = 0; ; attempt++) {
    try {
      const value = await predicate();
      if (value) return value as Exclude<T, Falsy>;
      lastError = undefined;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() >= deadline) {
      const what = typeof message === "function" ? message() : message;
      const why = lastError === undefined ? "" : `; last error: ${lastError instanceof Error ? lastError.message : String(lastError)}`;
      throw new WaitTimeout(`waitFor: ${what} still not true after ${timeoutMs} ms${why}`);
    }
    if (attempt < 50) await turn();
    else await delay(Math.min(20, 1 + (attempt - 50)));
  }
}

/**
 * Wakes its waiters whenever something arrives (an output line, an event, an
 * exit), so a wait re-tests exactly then instead of polling.
 */
export class Arrivals {
  private waiters: (() => void)[] = [];

  notify(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }

  /**
   * Resolves once `test` holds, re-testing on every arrival. Fails when
   * `stopped` names a reason first (what will never come now: "the process
   * exited"), or with a WaitTimeout after `timeoutMs`; either message says
   * `what` was awaited and ends with `seen()`.
   */
  async until(what: string, test: () => boolean, timeoutMs: number, stopped: () => string | undefined, seen: () => string = () => ""): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (test()) return;
      const reason = stopped();
      if (reason !== undefined) throw new Error(`${what}: ${reason}\n${seen()}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new WaitTimeout(`${what}: nothing after ${timeoutMs} ms\n${seen()}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }
}

/** Rejects with a WaitTimeout naming `what` when `promise` has not settled within `timeoutMs`. */
export async function withTimeout<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new WaitTimeout(`${what}: nothing after ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

type Source<T> = AsyncIterable<T> | AsyncIterator<T>;

/**
 * One iterator per source, and the read still pending on it after a timeout:
 * a later `collect` on the same source picks that read up instead of losing
 * the event it will deliver.
 */
const iterators = new WeakMap<object, AsyncIterator<unknown>>();
const pendingReads = new WeakMap<AsyncIterator<unknown>, Promise<IteratorResult<unknown>>>();

function iteratorOf<T>(source: Source<T>): AsyncIterator<T> {
  if (!(Symbol.asyncIterator in source)) return source;
  let iterator = iterators.get(source);
  if (!iterator) {
    iterator = source[Symbol.asyncIterator]();
    iterators.set(source, iterator);
  }
  return iterator as AsyncIterator<T>;
}

/**
 * The next result of `iterator`, within `timeoutMs`. A read that times out
 * stays pending and is the one the next call waits for, so no event is lost.
 */
async function take<T>(iterator: AsyncIterator<T>, timeoutMs: number, what: string): Promise<IteratorResult<T>> {
  let pending = pendingReads.get(iterator) as Promise<IteratorResult<T>> | undefined;
  if (!pending) {
    pending = iterator.next();
    // A failure nobody waits for yet is not an unhandled rejection: the next take reports it.
    pending.catch(() => {});
    pendingReads.set(iterator, pending);
  }
  try {
    const result = await withTimeout(pending, Math.max(1, timeoutMs), what);
    pendingReads.delete(iterator);
    return result;
  } catch (error) {
    if (!(error instanceof WaitTimeout)) pendingReads.delete(iterator);
    throw error;
  }
}

/** What a stream delivered, for failure messages (bigints printed as numbers). */
export function describeEvents(events: readonly unknown[], last = 5): string {
  const shown = events.slice(-last).map((e) => JSON.stringify(e, (_k, v) => (typeof v === "bigint" ? Number(v) : v)));
  const text = shown.map((s) => (s.length > 300 ? `${s.slice(0, 300)}...` : s)).join("\n  ");
  return events.length === 0 ? "nothing" : `${events.length} event(s), the last: \n  ${text}`;
}

/**
 * Takes events from `source` until `until` holds: a number of events, or a
 * predicate of the latest event (and all taken so far) that is true for the
 * last event wanted. Returns the events taken, that last one included. Fails
 * when the stream ends or fails first, or when `timeoutMs` passes; the
 * iteration itself is left open, so the next `collect` continues it.
 */
export async function collect<T>(
  source: Source<T>,
  until: number | ((event: T, events: readonly T[]) => boolean),
  timeoutMs = DEFAULT_TIMEOUT_MS,
): Promise<T[]> {
  const iterator = iteratorOf(source);
  const events: T[] = [];
  const done = (): boolean => (typeof until === "number" ? events.length >= until : until(events[events.length - 1] as T, events));
  const wanted = typeof until === "number" ? `${until} event(s)` : `an event matching ${until.toString().slice(0, 200)}`;
  if (typeof until === "number" && until <= 0) return events;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let result: IteratorResult<T>;
    try {
      result = await take(iterator, deadline - Date.now(), `collect: waiting for ${wanted}`);
    } catch (error) {
      if (error instanceof WaitTimeout) throw new WaitTimeout(`${error.message}; got ${describeEvents(events)}`);
      throw error;
    }
    if (result.done) throw new Error(`collect: the stream ended before ${wanted}; got ${describeEvents(events)}`);
    events.push(result.value);
    if (done()) return events;
  }
}

/** The next event of `source` (fails on end or timeout). */
export async function nextEvent<T>(source: Source<T>, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<T> {
  return (await collect(source, 1, timeoutMs))[0] as T;
}

export interface Ending<T> {
  /** Events delivered before the end. */
  events: T[];
  /** What the iteration threw, if it did not simply end. */
  error?: unknown;
}

/** Reads `source` to its end (or failure) and says how it ended; fails on timeout. */
export async function untilEnd<T>(source: Source<T>, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<Ending<T>> {
  const iterator = iteratorOf(source);
  const events: T[] = [];
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let result: IteratorResult<T>;
    try {
      result = await take(iterator, deadline - Date.now(), "untilEnd: waiting for the stream to end");
    } catch (error) {
      if (error instanceof WaitTimeout) throw new WaitTimeout(`${error.message}; got ${describeEvents(events)}`);
      return { events, error };
    }
    if (result.done) return { events };
    events.push(result.value);
  }
}

/**
 * The error a stream fails with before delivering anything. Fails when it
 * delivers an event, ends cleanly, or neither fails nor delivers in time.
 */
export async function streamError<T>(source: Source<T>, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<Error & { code?: number; details?: string }> {
  const iterator = iteratorOf(source);
  let result: IteratorResult<T>;
  try {
    result = await take(iterator, timeoutMs, "streamError: waiting for the stream to fail");
  } catch (error) {
    if (error instanceof WaitTimeout) throw error;
    return error as Error & { code?: number; details?: string };
  }
  if (result.done) throw new Error("streamError: the stream ended without an error");
  throw new Error(`streamError: the stream delivered an event instead of failing: ${describeEvents([result.value])}`);
}
