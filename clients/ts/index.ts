/**
 * A small typed client for the Status/Report service: promises for unary
 * calls, an async iterable for watching (stopped with an AbortSignal).
 *
 *   const sr = new SrClient("127.0.0.1:50051");
 *   await sr.registerGroup({ group: "billing" });
 *   await sr.setStatus({ group: "billing", status: -1, details: "warming up" });
 *   for await (const event of sr.watch({ group: "billing" }, { signal })) { ... }
 *
 * A failed call rejects with an SrError: grpc-js's `code` and `details`, plus
 * the server's stable `reason` (errors.ts) to branch on. `publish` keeps a
 * status alive with a lease (publisher.ts).
 *
 * This directory is also the package `status-report-client`: its build
 * (tsconfig.build.json) compiles it with the generated code and
 * src/protocol/wire.ts into dist/, and README.md is its documentation.
 */
import {
  type CallOptions,
  type ChannelCredentials,
  type ChannelOptions,
  type ClientReadableStream,
  Metadata,
  type ServiceError,
  credentials as grpcCredentials,
} from "@grpc/grpc-js";
import { type DeepPartial, StatusReportServiceClient, WatchStatusRequest, type WatchStatusResponse } from "../../gen/ts/sr/v1/sr.js";
import { REGISTRY_ID_HEADER } from "../../src/protocol/wire.js";
import { SrError, isServiceError } from "./errors.js";
import { type PublishOptions, type PublishRequest, type Publisher, publish } from "./publisher.js";
import { type Connect, ResumeMachine } from "./resume.js";
import { type CallOpts, UNARY_RPCS, type UnaryMethods, type UnaryRpc } from "./unary.js";

export * from "../../gen/ts/sr/v1/sr.js";
export { status as GrpcStatus } from "@grpc/grpc-js";
export { REGISTRY_ID_HEADER, type Reason, isReason } from "../../src/protocol/wire.js";
export { type ErrorDetails, SrError, decodeErrorDetails } from "./errors.js";
export type { CallOpts, UnaryMethods } from "./unary.js";
export {
  type LeaseCalls,
  type PublishOptions,
  type PublishRequest,
  Publisher,
  type PublisherClock,
  type PublisherState,
  publish,
  realClock,
} from "./publisher.js";

export interface SrClientOptions {
  /** Defaults to insecure (plaintext) credentials. */
  credentials?: ChannelCredentials;
  /** Sent as `authorization: Bearer <token>` on every call. */
  token?: string;
  channelOptions?: ChannelOptions;
}

export interface WatchOpts extends CallOpts {
  /** Reconnect and resume after a dropped stream (default true). */
  resume?: boolean;
  /** Called once a fresh snapshot (parts marked `resync`) replaced the state seen so far. */
  onResync?: () => void;
  /** Reconnection delays: doubled from `initialMs` up to `maxMs`, each jittered by ±50%. */
  backoff?: { initialMs: number; maxMs: number };
}

function backoff(attempt: number, settings = { initialMs: 100, maxMs: 5_000 }, signal?: AbortSignal): Promise<void> {
  const base = Math.min(settings.maxMs, settings.initialMs * 2 ** (attempt - 1));
  const delay = base * (0.5 + Math.random());
  return new Promise((resolve) => {
    const timer = setTimeout(done, delay);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}

/** The unary methods (getStatus, setStatus, ...), one per unary RPC of the schema. */
export interface SrClient extends UnaryMethods {}

export class SrClient {
  /** The generated grpc-js client, for anything the wrapper does not cover. */
  readonly raw: StatusReportServiceClient;
  private readonly token: string | undefined;
  /** Open watch calls: grpc-js lets calls outlive close(), so close() cancels them. */
  private readonly watches = new Set<ClientReadableStream<WatchStatusResponse>>();
  private closed = false;

  constructor(address: string, options: SrClientOptions = {}) {
    this.raw = new StatusReportServiceClient(
      address,
      options.credentials ?? grpcCredentials.createInsecure(),
      options.channelOptions,
    );
    this.token = options.token;
    // Own properties bound to this client, so `const { setStatus } = sr` works.
    for (const rpc of UNARY_RPCS) {
      Object.assign(this, { [rpc.name]: (request: unknown, opts?: CallOpts) => this.unary(rpc, request, opts) });
    }
  }

  /**
   * Streams WatchStatus as one uninterrupted sequence until `signal` aborts
   * (the iteration then simply ends; at once when it already has).
   *
   * When the stream drops (connection lost, server restarting), it reconnects
   * by itself with exponential backoff and jitter and resumes after the last
   * revision it delivered, so nothing is missed or repeated. When resuming is
   * impossible (the history no longer reaches back, or a different registry
   * answers), it starts over with a fresh snapshot whose parts carry
   * `resync: true`, and calls `onResync` before its first part: drop what you built and rebuild from
   * that snapshot. Errors that retrying cannot fix (a bad request, a missing
   * permission, a watcher limit) end the iteration by throwing an SrError.
   * The decisions are ResumeMachine's (resume.ts); this loop carries them out.
   */
  async *watch(request: DeepPartial<WatchStatusRequest>, opts: WatchOpts = {}): AsyncGenerator<WatchStatusResponse> {
    const { signal } = opts;
    const machine = new ResumeMachine<SrError>(WatchStatusRequest.fromPartial(request), opts.resume ?? true);
    let next: Connect = machine.start();
    for (;;) {
      if (next.backoffAttempt > 0) await backoff(next.backoffAttempt, opts.backoff, signal);
      if (signal?.aborted || this.closed) return;
      const call = this.raw.watchStatus(next.request, this.metadata(), this.callOptions(opts));
      this.watches.add(call);
      call.on("metadata", (metadata: Metadata) => {
        const id = metadata.get(REGISTRY_ID_HEADER)[0];
        if (typeof id === "string" && machine.registry(id).do === "cancel") call.cancel();
      });
      const onAbort = () => call.cancel();
      signal?.addEventListener("abort", onAbort, { once: true });
      let failure: SrError | undefined;
      try {
        for await (const message of call as AsyncIterable<WatchStatusResponse>) {
          const delivery = machine.message(message);
          if (delivery.do === "skip") continue;
          if (delivery.resynced) opts.onResync?.();
          yield delivery.message;
        }
      } catch (error) {
        if (!isServiceError(error)) throw error;
        failure = SrError.from(error);
      } finally {
        signal?.removeEventListener("abort", onAbort);
        this.watches.delete(call);
        call.cancel();
      }
      if (signal?.aborted || this.closed) return;
      const after = failure ? machine.failed(failure) : machine.ended();
      if (after.do === "throw") throw after.error;
      if (after.do === "stop") return;
      next = after;
    }
  }

  /**
   * Sets the status with a lease (`ttlMs`) and keeps the lease alive with
   * RefreshLease until `stop()`, without ever writing the status again
   * (publisher.ts). Rejects with the first SetStatus's SrError.
   */
  publish(request: PublishRequest, options?: PublishOptions): Promise<Publisher> {
    return publish(this, request, options);
  }

  /** Closes the channel, ending every watch of this client (their iterations simply end). */
  close(): void {
    this.closed = true;
    for (const call of this.watches) call.cancel();
    this.watches.clear();
    this.raw.close();
  }

  /** Metadata carrying the bearer token, if any. */
  metadata(): Metadata {
    const metadata = new Metadata();
    if (this.token) metadata.set("authorization", `Bearer ${this.token}`);
    return metadata;
  }

  private callOptions(opts: CallOpts): CallOptions {
    return opts.timeoutMs === undefined ? {} : { deadline: Date.now() + opts.timeoutMs };
  }

  /** One unary call; its abort listener lives exactly as long as the call. */
  private unary(rpc: UnaryRpc, request: unknown, opts: CallOpts = {}): Promise<unknown> {
    const { signal } = opts;
    // Already aborted: nothing is sent (a listener added now would never fire).
    if (signal?.aborted) return Promise.reject(SrError.cancelled());
    return new Promise((resolve, reject) => {
      let call: { cancel(): void } | undefined;
      const onAbort = () => call?.cancel();
      signal?.addEventListener("abort", onAbort, { once: true });
      const settle = (error: ServiceError | null, response?: unknown) => {
        signal?.removeEventListener("abort", onAbort);
        if (error) reject(SrError.from(error));
        else resolve(response);
      };
      try {
        const message = rpc.fromPartial(request);
        const { path, requestSerialize, responseDeserialize } = rpc;
        call = this.raw.makeUnaryRequest(path, requestSerialize, responseDeserialize, message, this.metadata(), this.callOptions(opts), settle);
      } catch (error) {
        // Not sent (a closed client, a request that does not fit its message): no listener may stay behind.
        signal?.removeEventListener("abort", onAbort);
        throw error;
      }
    });
  }
}
