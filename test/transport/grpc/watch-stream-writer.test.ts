/**
 * The one stream writer (src/transport/grpc/stream-writer.ts): backpressure,
 * every way a stream ends, and that none leaves a listener behind or lets an
 * error escape. First on a stand-in call, then on real grpc-js streams.
 */
import { EventEmitter } from "node:events";
import { Metadata, Server, ServerCredentials, type ServerWritableStream, type ServiceError, credentials, status } from "@grpc/grpc-js";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import {
  type HealthCheckRequest,
  type HealthCheckResponse,
  HealthCheckResponse_ServingStatus as Serving,
  HealthClient,
} from "../../../gen/ts/health/v1/health.js";
import { SrError } from "../../../src/domain/errors.js";
import { ENDED, type EventSource, IDLE, type Pulled } from "../../../src/domain/watch/source.js";
import type { GrpcError } from "../../../src/transport/grpc/errors.js";
import { healthDefinition } from "../../../src/transport/grpc/health.js";
import { writeStream } from "../../../src/transport/grpc/stream-writer.js";
import { type TestServer, startServer } from "../../helpers/server.js";
import { SrClient } from "../../../clients/ts/index.js";
import { waitFor } from "../../helpers/wait.js";

const WRITER_EVENTS = ["cancelled", "error", "drain"] as const;
const listeners = (call: EventEmitter) => WRITER_EVENTS.map((e) => call.listenerCount(e));

/** Stands in for a grpc-js ServerWritableStream: like it, it turns an emitted error into its status. */
class FakeCall extends EventEmitter {
  readonly written: number[] = [];
  /** Writes accepted before write() answers false. */
  room = Number.POSITIVE_INFINITY;
  ended = false;
  status: GrpcError | undefined;

  constructor() {
    super();
    this.on("error", (error: GrpcError) => {
      this.status = error;
      this.end();
    });
  }

  write(message: number): boolean {
    this.written.push(message);
    return this.written.length < this.room;
  }

  end(): void {
    this.ended = true;
  }
}

/** A source of the numbers pushed into it, recording how it was used. */
class ListSource implements EventSource<number> {
  readonly items: (number | Error)[] = [];
  ended = false;
  closed = 0;
  private wake: (() => void) | undefined;

  push(...items: (number | Error)[]): void {
    this.items.push(...items);
    this.fire();
  }

  end(): void {
    this.ended = true;
    this.fire();
  }

  get waiting(): boolean {
    return this.wake !== undefined;
  }

  next(): Pulled<number> {
    const item = this.items.shift();
    if (item instanceof Error) throw item;
    if (item !== undefined) return item;
    return this.ended ? ENDED : IDLE;
  }

  wait(wake: () => void): void {
    this.wake = wake;
  }

  close(): void {
    this.closed++;
  }

  private fire(): void {
    const wake = this.wake;
    this.wake = undefined;
    if (wake) queueMicrotask(wake);
  }
}

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

let unhandled: unknown[];
const onUnhandled = (reason: unknown) => unhandled.push(reason);
beforeEach(() => {
  unhandled = [];
  process.on("unhandledRejection", onUnhandled);
});
afterEach(async () => {
  await tick();
  process.off("unhandledRejection", onUnhandled);
  expect(unhandled).toEqual([]);
  vi.restoreAllMocks();
});

describe("writeStream on a stand-in call", () => {
  function started(room = Number.POSITIVE_INFINITY) {
    const call = new FakeCall();
    call.room = room;
    const before = listeners(call);
    const source = new ListSource();
    writeStream(call, source, (n: number) => n * 10);
    return { call, source, before };
  }

  it("writes what the source has, waits for it, and ends the stream when it ends", async () => {
    const { call, source, before } = started();
    source.push(1, 2);
    await tick();
    expect(call.written).toEqual([10, 20]);
    expect(source.waiting).toBe(true);
    source.push(3);
    source.end();
    await tick();
    expect(call.written).toEqual([10, 20, 30]);
    expect(call.ended).toBe(true);
    expect(call.status).toBeUndefined();
    expect(source.closed).toBe(1);
    expect(listeners(call)).toEqual(before);
  });

  it("stops pulling while write() answers false, and goes on at drain", async () => {
    const { call, source } = started(2);
    source.push(1, 2, 3, 4);
    await tick();
    expect(call.written).toEqual([10, 20]);
    expect(source.items).toEqual([3, 4]); // not pulled while the stream is full
    call.room = Number.POSITIVE_INFINITY;
    call.emit("drain");
    expect(call.written).toEqual([10, 20, 30, 40]);
  });

  it.each(["cancelled", "error"] as const)("on %s while waiting for the source: closes it, removes every listener, writes nothing more", async (how) => {
    const { call, source, before } = started();
    source.push(1);
    await tick();
    if (how === "cancelled") call.emit("cancelled");
    else call.emit("error", { code: status.UNAVAILABLE, details: "gone" });
    expect(source.closed).toBe(1);
    expect(listeners(call)).toEqual(before);
    source.push(2);
    await tick();
    expect(call.written).toEqual([10]);
    expect(call.ended).toBe(how === "error"); // an error is the call's own ending, not the writer's
  });

  it("on cancel while waiting for drain: closes the source and removes every listener", async () => {
    const { call, source, before } = started(1);
    source.push(1, 2);
    await tick();
    expect(listeners(call)).not.toEqual(before);
    call.emit("cancelled");
    expect(source.closed).toBe(1);
    expect(listeners(call)).toEqual(before);
    call.emit("drain");
    expect(call.written).toEqual([10]);
    expect(call.ended).toBe(false);
  });

  it("a throw after the stream started ends it with INTERNAL, not an unhandled error", async () => {
    vi.spyOn(console, "error").mockImplementation(() => {});
    const { call, source, before } = started();
    source.push(1, new Error("a bug"));
    await tick();
    expect(call.written).toEqual([10]);
    expect(call.status).toMatchObject({ code: status.INTERNAL, details: "internal error" });
    expect(call.ended).toBe(true);
    expect(source.closed).toBe(1);
    expect(listeners(call)).toEqual(before);
  });

  it("an SrError thrown after the stream started ends it with that error's own status", async () => {
    const { call, source } = started();
    source.push(new SrError("SHUTTING_DOWN", "the server is shutting down"));
    await tick();
    expect(call.status).toMatchObject({ code: status.UNAVAILABLE, details: "the server is shutting down" });
    expect(source.closed).toBe(1);
  });

  it("a throw in the encoder ends the stream with INTERNAL too", () => {
    vi.spyOn(console, "error").mockImplementation(() => {});
    const call = new FakeCall();
    const source = new ListSource();
    source.push(1);
    writeStream(call, source, () => {
      throw new TypeError("cannot encode");
    });
    expect(call.status?.code).toBe(status.INTERNAL);
    expect(source.closed).toBe(1);
  });
});

describe("writeStream on grpc-js", () => {
  let server: Server;
  let client: HealthClient;
  let source: ListSource;
  let serverCall: ServerWritableStream<HealthCheckRequest, HealthCheckResponse> | undefined;
  let before: number[];

  beforeEach(async () => {
    source = new ListSource();
    serverCall = undefined;
    server = new Server();
    server.addService(healthDefinition, {
      check: () => {},
      list: () => {},
      watch: (call: ServerWritableStream<HealthCheckRequest, HealthCheckResponse>) => {
        serverCall = call;
        before = listeners(call);
        writeStream(call, source, (n: number) => ({ status: n }));
      },
    });
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
    );
    client = new HealthClient(`127.0.0.1:${port}`, credentials.createInsecure());
  });

  afterEach(() => {
    client.close();
    server.forceShutdown();
  });

  function watch() {
    const received: Serving[] = [];
    let error: ServiceError | undefined;
    const stream = client.watch({ service: "" }, new Metadata());
    stream.on("data", (m: HealthCheckResponse) => received.push(m.status));
    stream.on("error", (e: ServiceError) => {
      error = e;
    });
    return { stream, received, error: () => error };
  }

  it("a throw after the first message ends the stream with INTERNAL", async () => {
    vi.spyOn(console, "error").mockImplementation(() => {});
    const w = watch();
    source.push(Serving.SERVING);
    await waitFor(() => w.received.length === 1, 5_000, "the first message");
    source.push(new Error("a bug after the start"));
    const error = await waitFor(() => w.error(), 5_000, "the stream's status");
    expect(error.code).toBe(status.INTERNAL);
    expect(error.details).toBe("internal error");
    expect(w.received).toEqual([Serving.SERVING]);
    expect(source.closed).toBe(1);
  });

  it("a client cancel closes the source and leaves no listener of the writer on the call", async () => {
    const w = watch();
    source.push(Serving.SERVING);
    await waitFor(() => w.received.length === 1, 5_000, "the first message");
    expect(listeners(serverCall as ServerWritableStream<HealthCheckRequest, HealthCheckResponse>)).not.toEqual(before);
    w.stream.cancel();
    await waitFor(() => source.closed === 1, 5_000, "the source to be closed");
    expect(listeners(serverCall as ServerWritableStream<HealthCheckRequest, HealthCheckResponse>)).toEqual(before);
  });
});

describe("WatchStatus, when its watcher throws after the stream started", () => {
  let srv: TestServer;
  let sr: SrClient;

  beforeEach(async () => {
    srv = await startServer();
    sr = new SrClient(srv.address);
  });

  afterEach(() => {
    sr.close();
    srv.forceStop();
  });

  it("ends the stream with INTERNAL after the snapshot and frees the watcher", async () => {
    vi.spyOn(console, "error").mockImplementation(() => {});
    const watch = srv.hub.watch.bind(srv.hub);
    vi.spyOn(srv.hub, "watch").mockImplementation((request, owner) => {
      const watcher = watch(request, owner);
      const next = watcher.next.bind(watcher);
      let calls = 0;
      watcher.next = () => {
        if (++calls > 1) throw new Error("a bug after the snapshot");
        return next();
      };
      return watcher;
    });
    const events: string[] = [];
    const failure = await (async () => {
      try {
        for await (const m of sr.watch({ group: "core" }, { resume: false })) events.push(m.event?.$case ?? "none");
      } catch (error) {
        return error as ServiceError;
      }
      return undefined;
    })();
    expect(events).toEqual(["snapshot"]);
    expect(failure?.code).toBe(status.INTERNAL);
    await waitFor(() => srv.hub.watcherCount === 0, 5_000, "the watcher to be freed");
  });
});
