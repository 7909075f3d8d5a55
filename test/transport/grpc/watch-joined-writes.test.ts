/**
 * Joined writes (src/transport/grpc/stream-writer.ts with `join`, and
 * src/transport/grpc/framed.ts): a WatchStatus stream keeps one write in
 * flight, and each write carries every message its watcher has ready, framed
 * once and joined. First the writer on a stand-in call, then the wire: a
 * watcher that fell behind gets everything, in order, several messages to a
 * DATA frame, each one intact.
 */
import { EventEmitter } from "node:events";
import { describe, expect, it } from "vitest";
import { ENDED, type EventSource, IDLE, type Pulled } from "../../../src/domain/watch/source.js";
import { FRAME_PREFIX_BYTES, type Framed, framedWrites, joinFramed, setPrefix } from "../../../src/transport/grpc/framed.js";
import { BATCH_BYTES, writeStream } from "../../../src/transport/grpc/stream-writer.js";
import { rawWatch } from "../../helpers/raw-watch.js";
import { startServer } from "../../helpers/server.js";
import { waitFor } from "../../helpers/wait.js";

/** A call whose write callbacks come only when the test says (the client reads). */
class SlowCall extends EventEmitter {
  readonly written: Framed[] = [];
  readonly callbacks: (() => void)[] = [];
  ended = false;
  failed: unknown;

  constructor() {
    super();
    this.on("error", (error: unknown) => {
      this.failed = error;
      this.ended = true;
    });
  }

  write(message: Framed, callback?: () => void): boolean {
    this.written.push(message);
    if (callback) this.callbacks.push(callback);
    return true;
  }

  end(): void {
    this.ended = true;
  }

  /** The messages of every write, in order, by their first byte after the prefix. */
  get messages(): number[][] {
    return this.written.map((w) => {
      const out: number[] = [];
      for (let at = 0; at < w.bytes.length; at += FRAME_PREFIX_BYTES + w.bytes.readUInt32BE(at + 1)) {
        out.push(w.bytes[at + FRAME_PREFIX_BYTES] as number);
      }
      return out;
    });
  }
}

/** A source the test fills; it wakes its consumer when filled. */
class Queue implements EventSource<number | Error> {
  readonly items: (number | Error | typeof ENDED)[] = [];
  private wake: (() => void) | undefined;
  next(): Pulled<number | Error> {
    const item = this.items.shift();
    if (item === undefined) return IDLE;
    if (item === ENDED) return ENDED;
    if (item instanceof Error) throw item;
    return item;
  }
  wait(wake: () => void): void {
    this.wake = wake;
  }
  close(): void {}
  push(...items: (number | Error | typeof ENDED)[]): void {
    this.items.push(...items);
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }
}

/** A framed message of `size` payload bytes, all `n`. */
const framed = (size: number) => (n: number | Error) => setPrefix(Buffer.alloc(FRAME_PREFIX_BYTES + size, n as number));

function started(size = 10) {
  const call = new SlowCall();
  const source = new Queue();
  writeStream(call, source, framed(size), joinFramed);
  return { call, source };
}

describe("the stream writer, joining", () => {
  it("writes a message at once when nothing is in flight, and holds the rest in the source until its callback", () => {
    const { call, source } = started();
    source.push(1);
    expect(call.messages).toEqual([[1]]);
    source.push(2, 3, 4);
    expect(call.messages).toEqual([[1]]);
    expect(source.items).toEqual([2, 3, 4]); // not pulled while a write is in flight
    call.callbacks.shift()!();
    expect(call.messages).toEqual([[1], [2, 3, 4]]); // everything ready, in one write
    call.callbacks.shift()!();
    expect(call.written).toHaveLength(2);
  });

  it("joins at most BATCH_BYTES of ready messages, in order, and writes a larger one alone", () => {
    const size = 1_000;
    const { call, source } = started(size);
    const count = 3 * Math.ceil(BATCH_BYTES / size);
    source.push(...Array.from({ length: count }, (_, i) => i));
    while (call.callbacks.length > 0) call.callbacks.shift()!();
    expect(call.messages.flat()).toEqual(Array.from({ length: count }, (_, i) => i));
    for (const w of call.written) expect(w.bytes.length).toBeLessThan(BATCH_BYTES + FRAME_PREFIX_BYTES + size);
    expect(call.written.length).toBeLessThan(count / 5);

    const big = started(BATCH_BYTES * 2);
    big.source.push(7, 8);
    while (big.call.callbacks.length > 0) big.call.callbacks.shift()!();
    expect(big.call.messages).toEqual([[7], [8]]);
  });

  it("writes what it pulled before the source ended, then ends the call", () => {
    const { call, source } = started();
    source.push(1);
    source.push(2, 3, ENDED);
    expect(call.ended).toBe(false);
    call.callbacks.shift()!();
    expect(call.messages).toEqual([[1], [2, 3]]);
    expect(call.ended).toBe(true);
  });

  it("writes what it pulled before a throw, then ends the call with the error", () => {
    const { call, source } = started();
    source.push(1);
    source.push(2, 3, new Error("a bug"), 4);
    call.callbacks.shift()!();
    expect(call.messages).toEqual([[1], [2, 3]]);
    expect(call.failed).toMatchObject({ details: "internal error" });
  });
});

describe("framed writes on grpc-js", () => {
  it("the hook is in place with this grpc-js (an upgrade that moved it fails here)", () => {
    expect(framedWrites()).toBe(true);
  });

  it("a watcher that fell behind gets every change in order, several to a DATA frame, each intact", async () => {
    const srv = await startServer();
    try {
      srv.registry.registerGroup({ group: "load" });
      srv.registry.registerIdentifier({ group: "load", identifier: "a" });
      // Reads nothing until resumed: its HTTP/2 window (64 KiB) fills after about 60 of these changes.
      const stuck = await rawWatch(srv.address, { group: "load", includeDetails: true });
      await waitFor(() => srv.hub.watcherCount === 1, 10_000, "the watcher");
      const start = srv.registry.revision;
      const CHANGES = 400; // under the default budget of 1,000 messages and 4 MiB
      for (let n = 0; n < CHANGES; n++) {
        srv.registry.setStatus({ group: "load", identifier: "a", status: n % 2 ? 1 : -1, details: `${n} `.padEnd(1_000, "x") });
      }
      await waitFor(() => (srv.hub.list()[0]?.pending ?? 0) > 100, 10_000, "changes to queue behind the full window");
      stuck.resume();
      await waitFor(() => stuck.events.filter((e) => e.event?.$case === "statusChanged").length === CHANGES, 10_000, "every change");
      const changes = stuck.events.filter((e) => e.event?.$case === "statusChanged");
      expect(changes.map((e) => Number(e.revision))).toEqual(Array.from({ length: CHANGES }, (_, n) => start + n + 1));
      for (const [n, e] of changes.entries()) {
        expect(e.event?.$case === "statusChanged" && (e.event.value.details ?? "").startsWith(`${n} `)).toBe(true);
      }
      expect(stuck.events.some((e) => e.event?.$case === "snapshot" && e.event.value.resync)).toBe(false);
      // Joined on the wire: some DATA frame carried more than one message.
      expect(stuck.mostMessagesInAChunk).toBeGreaterThan(1);
      stuck.close();
    } finally {
      await srv.stop();
    }
  });

});
