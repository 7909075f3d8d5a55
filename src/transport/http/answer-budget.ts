/**
 * The bound on one HTTP answer (docs/mi.md, Limits): the commands count the
 * JSON they produce while they build it, so an answer too large stops early,
 * long before it could outgrow memory or V8's longest string (whose
 * RangeError, thrown while serialising, once took the whole process down).
 */

/** `limits.max_answer_bytes`: what one HTTP request (a batch as a whole) may be answered with. */
export const DEFAULT_MAX_ANSWER_BYTES = 16 * 1024 * 1024;

export class AnswerTooLarge extends Error {
  constructor(readonly limit: number) {
    super(`answer over ${limit} bytes (limit limits.max_answer_bytes)`);
    this.name = "AnswerTooLarge";
  }
}

/** Bytes of JSON counted so far for one answer; every request of a batch draws on the same one. */
export class AnswerBudget {
  private used = 0;

  constructor(readonly limit: number = DEFAULT_MAX_ANSWER_BYTES) {}

  /** Counts `value` as JSON (plus its separator) and returns it; throws AnswerTooLarge past the limit. */
  take<T>(value: T): T {
    this.charge(Buffer.byteLength(JSON.stringify(value)) + 1);
    return value;
  }

  /** Counts a container's own bytes (its keys, brackets and name), its members being counted apart. */
  charge(bytes: number): void {
    this.used += bytes;
    if (this.used > this.limit) throw new AnswerTooLarge(this.limit);
  }

  /** Runs `build`; what it counted stays counted only if it succeeds (a failed request answers a short error). */
  measure<T>(build: () => T): T {
    const before = this.used;
    try {
      return build();
    } catch (error) {
      this.used = before;
      throw error;
    }
  }
}
