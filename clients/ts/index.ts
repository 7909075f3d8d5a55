/**
 * A small typed client for the Status/Report service: promises for unary
 * calls, an async iterable for watching (stopped with an AbortSignal).
 *
 *   const sr = new SrClient("127.0.0.1:50051");
 *   await sr.registerGroup({ group: "billing" });
 *   await sr.setStatus({ group: "billing", status: -1, details: "warming up" });
 *   for await (const event of sr.watch({ group: "billing" }, { signal })) { ... }
 */
import {
  type CallOptions,
  type ChannelCredentials,
  type ChannelOptions,
  type ClientReadableStream,
  Metadata,
  type ServiceError,
  credentials as grpcCredentials,
  status,
} from "@grpc/grpc-js";
import {
  AddReportRequest,
  type AddReportResponse,
  CheckStatusRequest,
  type CheckStatusResponse,
  type DeepPartial,
  GetStatusRequest,
  type GetStatusResponse,
  ListIdentifiersRequest,
  type ListIdentifiersResponse,
  ListReportsRequest,
  type ListReportsResponse,
  ListStatusRequest,
  type ListStatusResponse,
  RegisterGroupRequest,
  type RegisterGroupResponse,
  RegisterIdentifierRequest,
  type RegisterIdentifierResponse,
  SetStatusRequest,
  type SetStatusResponse,
  StatusReportServiceClient,
  UnregisterGroupRequest,
  type UnregisterGroupResponse,
  UnregisterIdentifierRequest,
  type UnregisterIdentifierResponse,
  WatchStatusRequest,
  type WatchStatusResponse,
} from "../../gen/ts/sr/v1/sr.js";

export * from "../../gen/ts/sr/v1/sr.js";
export { status as GrpcStatus } from "@grpc/grpc-js";

export interface SrClientOptions {
  /** Defaults to insecure (plaintext) credentials. */
  credentials?: ChannelCredentials;
  /** Sent as `authorization: Bearer <token>` on every call. */
  token?: string;
  channelOptions?: ChannelOptions;
}

export interface CallOpts {
  /** Milliseconds until the call fails with DEADLINE_EXCEEDED. */
  timeoutMs?: number;
  signal?: AbortSignal;
}

export interface WatchOpts extends CallOpts {
  /** Reconnect and resume after a dropped stream (default true). */
  resume?: boolean;
  /** Called once a fresh snapshot (parts marked `resync`) replaced the state seen so far. */
  onResync?: () => void;
  /** Reconnection delays: doubled from `initialMs` up to `maxMs`, each jittered by ±50%. */
  backoff?: { initialMs: number; maxMs: number };
}

/** Initial metadata naming the registry instance behind a watch, so a resume never crosses registries. */
export const REGISTRY_ID_HEADER = "sr-registry-id";

/**
 * Stream failures worth a reconnect: the connection or the server, not the
 * request. RESOURCE_EXHAUSTED (a watcher limit) is surfaced, not waited out.
 */
const RETRYABLE = new Set<number>([
  status.CANCELLED,
  status.UNKNOWN,
  status.ABORTED,
  status.INTERNAL,
  status.UNAVAILABLE,
]);

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

interface MessageFns<T> {
  fromPartial(object: DeepPartial<T>): T;
}

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
  }

  getStatus = this.unary<GetStatusRequest, GetStatusResponse>("getStatus", GetStatusRequest);
  listStatus = this.unary<ListStatusRequest, ListStatusResponse>("listStatus", ListStatusRequest);
  listReports = this.unary<ListReportsRequest, ListReportsResponse>("listReports", ListReportsRequest);
  listIdentifiers = this.unary<ListIdentifiersRequest, ListIdentifiersResponse>("listIdentifiers", ListIdentifiersRequest);
  checkStatus = this.unary<CheckStatusRequest, CheckStatusResponse>("checkStatus", CheckStatusRequest);
  registerGroup = this.unary<RegisterGroupRequest, RegisterGroupResponse>("registerGroup", RegisterGroupRequest);
  unregisterGroup = this.unary<UnregisterGroupRequest, UnregisterGroupResponse>("unregisterGroup", UnregisterGroupRequest);
  registerIdentifier = this.unary<RegisterIdentifierRequest, RegisterIdentifierResponse>(
    "registerIdentifier",
    RegisterIdentifierRequest,
  );
  unregisterIdentifier = this.unary<UnregisterIdentifierRequest, UnregisterIdentifierResponse>(
    "unregisterIdentifier",
    UnregisterIdentifierRequest,
  );
  setStatus = this.unary<SetStatusRequest, SetStatusResponse>("setStatus", SetStatusRequest);
  addReport = this.unary<AddReportRequest, AddReportResponse>("addReport", AddReportRequest);

  /**
   * Streams WatchStatus as one uninterrupted sequence until `signal` aborts
   * (the iteration then simply ends).
   *
   * When the stream drops (connection lost, server restarting), it reconnects
   * by itself with exponential backoff and jitter and resumes after the last
   * revision it delivered, so nothing is missed or repeated. When resuming is
   * impossible (the history no longer reaches back, or a different registry
   * answers), it starts over with a fresh snapshot whose parts carry
   * `resync: true`, and calls `onResync`: drop what you built and rebuild from
   * that snapshot. Errors that retrying cannot fix (a bad request, a missing
   * permission) end the iteration by throwing the gRPC error.
   */
  async *watch(request: DeepPartial<WatchStatusRequest>, opts: WatchOpts = {}): AsyncGenerator<WatchStatusResponse> {
    const { signal } = opts;
    const resume = opts.resume ?? true;
    const base = WatchStatusRequest.fromPartial(request);
    let after = base.startRevision; // resume point: last revision fully delivered
    let registryId: string | undefined;
    let resync = false; // the next snapshot replaces what the caller saw
    let inSnapshot = false;
    let failures = 0;
    while (!signal?.aborted && !this.closed) {
      const call: ClientReadableStream<WatchStatusResponse> = this.raw.watchStatus(
        { ...base, startRevision: after },
        this.metadata(),
        this.callOptions(opts),
      );
      this.watches.add(call);
      let otherRegistry = false;
      call.on("metadata", (metadata: Metadata) => {
        const id = metadata.get(REGISTRY_ID_HEADER)[0];
        if (typeof id !== "string") return;
        if (registryId !== undefined && id !== registryId && after !== undefined) {
          // Another registry (a restarted server): our revisions mean nothing there.
          otherRegistry = true;
          call.cancel();
        }
        registryId = id;
      });
      const onAbort = () => call.cancel();
      signal?.addEventListener("abort", onAbort, { once: true });
      let failure: ServiceError | undefined;
      try {
        for await (const message of call as AsyncIterable<WatchStatusResponse>) {
          failures = 0;
          const event = message.event;
          if (event?.$case === "snapshot") {
            inSnapshot = !event.value.last;
            if (resync) event.value.resync = true;
            if (event.value.last) {
              if (resync || event.value.resync) opts.onResync?.();
              resync = false;
              after = message.revision;
            }
          } else if (!inSnapshot) {
            after = message.revision;
          }
          yield message;
        }
      } catch (error) {
        failure = error as ServiceError;
      } finally {
        signal?.removeEventListener("abort", onAbort);
        this.watches.delete(call);
        call.cancel();
      }
      if (signal?.aborted || this.closed) return;
      if (otherRegistry) {
        after = undefined;
        resync = true;
        continue;
      }
      if (!resume) {
        if (failure) throw failure;
        return;
      }
      if (failure && !RETRYABLE.has(failure.code)) {
        const stale = failure.code === status.OUT_OF_RANGE || (failure.code === status.INVALID_ARGUMENT && /start_revision/.test(failure.details ?? ""));
        // A resume point the server cannot serve (too old, or from another registry's future):
        // start over from a fresh snapshot. Anything else is the caller's to fix.
        if (!stale || after === undefined) throw failure;
        after = undefined;
        resync = true;
        continue;
      }
      if (inSnapshot) {
        // Dropped mid-snapshot: the parts seen so far are not a whole state.
        inSnapshot = false;
        after = undefined;
        resync = true;
      }
      failures++;
      await backoff(failures, opts.backoff, signal);
    }
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

  private unary<Req, Res>(method: keyof StatusReportServiceClient, fns: MessageFns<Req>) {
    return (request: DeepPartial<Req>, opts: CallOpts = {}): Promise<Res> =>
      new Promise<Res>((resolve, reject) => {
        const fn = this.raw[method] as unknown as (
          req: Req,
          metadata: Metadata,
          options: CallOptions,
          callback: (error: ServiceError | null, response: Res) => void,
        ) => { cancel(): void };
        const call = fn.call(this.raw, fns.fromPartial(request), this.metadata(), this.callOptions(opts), (error, response) =>
          error ? reject(error) : resolve(response),
        );
        opts.signal?.addEventListener("abort", () => call.cancel(), { once: true });
      });
  }
}
