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
} from "./gen/sr/v1/sr.js";

export * from "./gen/sr/v1/sr.js";
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

interface MessageFns<T> {
  fromPartial(object: DeepPartial<T>): T;
}

export class SrClient {
  /** The generated grpc-js client, for anything the wrapper does not cover. */
  readonly raw: StatusReportServiceClient;
  private readonly token: string | undefined;

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
   * Streams WatchStatus until `signal` aborts (the iteration then simply ends)
   * or the stream fails (the iteration throws the gRPC error).
   */
  async *watch(request: DeepPartial<WatchStatusRequest>, opts: CallOpts = {}): AsyncGenerator<WatchStatusResponse> {
    const { signal } = opts;
    if (signal?.aborted) return;
    const call: ClientReadableStream<WatchStatusResponse> = this.raw.watchStatus(
      WatchStatusRequest.fromPartial(request),
      this.metadata(),
      this.callOptions(opts),
    );
    const onAbort = () => call.cancel();
    signal?.addEventListener("abort", onAbort, { once: true });
    try {
      for await (const message of call) yield message as WatchStatusResponse;
    } catch (error) {
      if (signal?.aborted && (error as ServiceError).code === status.CANCELLED) return;
      throw error;
    } finally {
      signal?.removeEventListener("abort", onAbort);
      call.cancel();
    }
  }

  close(): void {
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
