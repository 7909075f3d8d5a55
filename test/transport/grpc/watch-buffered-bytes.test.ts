/**
 * The stream writer bounds the bytes it leaves in grpc-js, not only the
 * messages (src/transport/grpc/stream-writer.ts): grpc-js's `write()` answers
 * false only with 16 messages queued, so a reader that stops mid-snapshot
 * would otherwise hold up to 16 parts in the server.
 */
import { EventEmitter } from "node:events";
import { describe, expect, it } from "vitest";
import { ENDED, type EventSource, IDLE, type Pulled } from "../../../src/domain/watch/source.js";
import { MAX_BUFFERED_BYTES, writeStream } from "../../../src/transport/grpc/stream-writer.js";

/** A call whose write callbacks come only when the test says (the client reads). */
class SlowCall extends EventEmitter {
  readonly written: Buffer[] = [];
  readonly callbacks: (() => void)[] = [];
  ended = false;

  write(message: Buffer, callback?: () => void): boolean {
    this.written.push(message);
    if (callback) this.callbacks.push(callback);
    return true; // as grpc-js does until 16 messages are queued
  }

  end(): void {
    this.ended = true;
  }

  /** Bytes written whose callback has not come. */
  get unacknowledged(): number {
    return this.written.slice(this.written.length - this.callbacks.length).reduce((n, b) => n + b.length, 0);
  }
}

class Numbers implements EventSource<number> {
  pulled = 0;
  constructor(private readonly count: number) {}
  next(): Pulled<number> {
    return this.pulled < this.count ? this.pulled++ : ENDED;
  }
  wait(): void {}
  close(): void {}
}

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

describe("writeStream and the bytes left in grpc-js", () => {
  const SIZE = 10 * 1024;

  it("stops pulling past MAX_BUFFERED_BYTES until grpc-js calls back, then writes the rest in order", async () => {
    const call = new SlowCall();
    const source = new Numbers(20);
    writeStream(call, source, (n: number) => Buffer.alloc(SIZE, n));
    const most = MAX_BUFFERED_BYTES + SIZE;
    expect(call.written.length).toBe(Math.ceil(MAX_BUFFERED_BYTES / SIZE));
    expect(source.pulled).toBe(call.written.length); // nothing pulled that is not written
    let peak = call.unacknowledged;
    while (call.callbacks.length > 0) {
      call.callbacks.shift()!();
      peak = Math.max(peak, call.unacknowledged);
      await tick();
    }
    expect(peak).toBeLessThanOrEqual(most);
    expect(call.written.map((b) => b[0])).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(call.ended).toBe(true);
  });

  it("a stalled call (no callback ever) holds at most MAX_BUFFERED_BYTES and one message", async () => {
    const call = new SlowCall();
    const source = new Numbers(1_000);
    writeStream(call, source, (n: number) => Buffer.alloc(SIZE, n % 256));
    await tick();
    expect(call.unacknowledged).toBeLessThanOrEqual(MAX_BUFFERED_BYTES + SIZE);
    expect(source.pulled).toBeLessThan(10);
    expect(call.ended).toBe(false);
  });

  it("messages that are not bytes are bounded by write() alone, as before", () => {
    const call = new SlowCall();
    const source = new Numbers(100);
    writeStream(call as never, source, (n: number) => ({ n }));
    expect(source.pulled).toBe(100);
    expect(call.callbacks).toEqual([]);
  });

  it("IDLE still waits for the source", () => {
    const call = new SlowCall();
    let waited = false;
    const source: EventSource<number> = { next: () => IDLE, wait: () => void (waited = true), close: () => {} };
    writeStream(call, source, (n: number) => Buffer.alloc(1, n));
    expect(waited).toBe(true);
  });
});
