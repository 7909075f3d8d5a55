/**
 * What the gRPC listener counts of every call it handles, the way
 * go-grpc-prometheus counts them: calls ended by service, method and code,
 * and how long each took. It sits on the hot path as one grpc-js server
 * interceptor that forwards everything untouched and, when the call ends,
 * adds to plain per-method arrays: no labels are hashed and no metric library
 * is touched per call. The Prometheus series are read from these counts when
 * scraped (src/app/metrics.ts).
 *
 * A call ends when the server sends its status (the handler's answer, or
 * grpc-js's own such as a request that does not decode), or when the client
 * cancels it or its deadline passes first (CANCELLED, DEADLINE_EXCEEDED),
 * as go-grpc-prometheus sees a handler return with the context's error.
 * Unknown methods never reach an interceptor, so they are not counted (nor
 * are they by go-grpc-prometheus).
 *
 * Every call that ends with another code than OK is also told to `onEnd`
 * (for the debug log of refused calls), with what toGrpcError noted of an
 * internal error's cause.
 */
import { type Metadata, type ServerInterceptingCall, type ServerInterceptingCallInterface, type ServerInterceptor, status } from "@grpc/grpc-js";
import { internalCauseOf } from "./errors.js";

/** go-grpc-prometheus's (prometheus.DefBuckets) upper bounds of `grpc_server_handling_seconds`, in seconds. */
export const HANDLING_BUCKETS: readonly number[] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** The bounds in milliseconds, as the interceptor measures. */
const BUCKETS_MS = HANDLING_BUCKETS.map((s) => s * 1000);

/** gRPC's 17 codes. */
const CODES = 17;

/** `grpc_type` as go-grpc-prometheus names it. */
export type GrpcType = "unary" | "client_stream" | "server_stream" | "bidi_stream";

/**
 * A code's `grpc_code` label: what grpc-go's `codes.Code.String()` prints,
 * which go-grpc-prometheus uses (so dashboards and alerts written for it
 * match): `OK`, `Canceled`, `NotFound`, `InvalidArgument`, ...
 */
export const GRPC_CODE_LABELS: readonly string[] = [
  "OK",
  "Canceled",
  "Unknown",
  "InvalidArgument",
  "DeadlineExceeded",
  "NotFound",
  "AlreadyExists",
  "PermissionDenied",
  "ResourceExhausted",
  "FailedPrecondition",
  "Aborted",
  "OutOfRange",
  "Unimplemented",
  "Internal",
  "Unavailable",
  "DataLoss",
  "Unauthenticated",
];

/** One method's counts since the server started. */
export interface MethodCounts {
  /** `sr.v1.StatusReportService` */
  readonly service: string;
  /** `SetStatus` */
  readonly method: string;
  readonly type: GrpcType;
  /** Calls ended, by code (index = code). */
  readonly handled: number[];
  /** Calls ended per bucket of HANDLING_BUCKETS, not cumulative; the last entry is above the last bound (+Inf). */
  readonly buckets: number[];
  /** Seconds spent in all calls ended. */
  sumSeconds: number;
  count: number;
}

/** A call that ended with another code than OK. */
export interface CallEnd {
  /** `/sr.v1.StatusReportService/SetStatus` */
  readonly path: string;
  readonly code: status;
  /** The status message, as sent. */
  readonly details: string;
  /** The trailers sent, where the rich error details are (undefined when grpc-js ended the call itself). */
  readonly trailers: Metadata | undefined;
  /** What toGrpcError noted when it answered INTERNAL for a failure of ours. */
  readonly cause: unknown;
  readonly durationMs: number;
}

type Listener = Parameters<ServerInterceptingCallInterface["start"]>[0];
type Status = Parameters<ServerInterceptingCallInterface["sendStatus"]>[0];

function typeOf(requestStream: boolean, responseStream: boolean): GrpcType {
  if (requestStream) return responseStream ? "bidi_stream" : "client_stream";
  return responseStream ? "server_stream" : "unary";
}

/** The handler's listener, told first of a cancel (one object per call, no closures). */
class CancelListener implements Listener {
  constructor(
    private readonly call: CountingCall,
    private readonly listener: Listener,
  ) {}

  onReceiveMetadata(metadata: Metadata): void {
    this.listener.onReceiveMetadata(metadata);
  }

  onReceiveMessage(message: unknown): void {
    this.listener.onReceiveMessage(message);
  }

  onReceiveHalfClose(): void {
    this.listener.onReceiveHalfClose();
  }

  onCancel(): void {
    this.call.cancelled();
    this.listener.onCancel();
  }
}

/**
 * Forwards every call to the next one and notes its end once. A class, not
 * grpc-js's ServerInterceptingCall: that one builds a responder and a
 * listener chain per call, which this does not need.
 */
class CountingCall implements ServerInterceptingCallInterface {
  private readonly started = performance.now();
  private ended = false;

  constructor(
    private readonly next: ServerInterceptingCallInterface,
    private readonly counts: MethodCounts,
    private readonly path: string,
    private readonly stats: RpcStats,
  ) {}

  start(listener: Listener): void {
    this.next.start(new CancelListener(this, listener));
  }

  /** The client cancelled, or the deadline passed, before a status was sent. */
  cancelled(): void {
    if (this.ended) return;
    const deadline = this.next.getDeadline();
    const late = deadline instanceof Date ? deadline.getTime() <= Date.now() : deadline !== Infinity && deadline <= Date.now();
    this.end(late ? status.DEADLINE_EXCEEDED : status.CANCELLED, late ? "deadline exceeded" : "cancelled by the client", undefined);
  }

  sendMetadata(metadata: Metadata): void {
    this.next.sendMetadata(metadata);
  }

  sendMessage(message: unknown, callback: () => void): void {
    this.next.sendMessage(message, callback);
  }

  sendStatus(sent: Status): void {
    if (!this.ended) this.end(sent.code, sent.details, sent.metadata ?? undefined);
    this.next.sendStatus(sent);
  }

  startRead(): void {
    this.next.startRead();
  }

  getPeer() {
    return this.next.getPeer();
  }

  getDeadline() {
    return this.next.getDeadline();
  }

  getHost() {
    return this.next.getHost();
  }

  getAuthContext() {
    return this.next.getAuthContext();
  }

  getConnectionInfo() {
    return this.next.getConnectionInfo();
  }

  getMetricsRecorder() {
    return this.next.getMetricsRecorder();
  }

  private end(code: status, details: string, trailers: Metadata | undefined): void {
    this.ended = true;
    const ms = performance.now() - this.started;
    const counts = this.counts;
    counts.handled[code < CODES && code >= 0 ? code : status.UNKNOWN]++;
    let bucket = 0;
    while (bucket < BUCKETS_MS.length && ms > (BUCKETS_MS[bucket] as number)) bucket++;
    counts.buckets[bucket]++;
    counts.sumSeconds += ms / 1000;
    counts.count++;
    if (code !== status.OK) this.stats.ended({ path: this.path, code, details, trailers, cause: trailers && internalCauseOf(trailers), durationMs: ms });
  }
}

/** The counts of one gRPC server, and the interceptor that keeps them. */
export class RpcStats {
  private readonly byPath = new Map<string, MethodCounts>();
  private readonly listeners = new Set<(end: CallEnd) => void>();

  /** Add to the server's `interceptors` option. */
  readonly interceptor: ServerInterceptor = (descriptor, call) => {
    let counts = this.byPath.get(descriptor.path);
    if (counts === undefined) {
      counts = this.methodOf(descriptor.path, typeOf(descriptor.requestStream, descriptor.responseStream));
      this.byPath.set(descriptor.path, counts);
    }
    // grpc-js's type names its class, but it only uses the interface (server-interceptors.js).
    return new CountingCall(call, counts, descriptor.path, this) as unknown as ServerInterceptingCall;
  };

  /** Every method called so far, with its counts (live objects: read, do not keep). */
  methods(): Iterable<MethodCounts> {
    return this.byPath.values();
  }

  /** Hears every call that ends with another code than OK; returns the unsubscriber. */
  onEnd(listener: (end: CallEnd) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** @internal called by the interceptor. */
  ended(end: CallEnd): void {
    for (const listener of this.listeners) listener(end);
  }

  private methodOf(path: string, type: GrpcType): MethodCounts {
    // "/package.Service/Method"
    const slash = path.lastIndexOf("/");
    return {
      service: path.slice(1, slash),
      method: path.slice(slash + 1),
      type,
      handled: new Array<number>(CODES).fill(0),
      buckets: new Array<number>(BUCKETS_MS.length + 1).fill(0),
      sumSeconds: 0,
      count: 0,
    };
  }
}
