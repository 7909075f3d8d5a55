import {
  type ServerUnaryCall,
  type ServerWritableStream,
  type UntypedServiceImplementation,
  type sendUnaryData,
  status as grpcStatus,
} from "@grpc/grpc-js";
import {
  HealthCheckRequest,
  HealthCheckResponse_ServingStatus as Serving,
  HealthService,
  type HealthCheckResponse,
  type HealthListRequest,
  type HealthListResponse,
} from "../../../gen/ts/health/v1/health.js";
import { SrError, limitReached } from "../../domain/errors.js";
import { ALL, MAIN, foldName } from "../../domain/names.js";
import type { Registry } from "../../domain/registry/registry.js";
import { withStrictUtf8 } from "./codec.js";
import type { Admission } from "./admission.js";
import { toGrpcError } from "./errors.js";

/** The service names that mean the server itself (`core`/`main`). */
export const SERVER_SERVICE_NAMES = ["", "sr.v1.StatusReportService"];
export const HEALTH_LIST_LIMIT = 1000;

/** What a health service name points at: a group aggregated, or one identifier. */
interface Target {
  group: string;
  identifier: string;
}

/** `""` and the service's own name are core/main; `group` the group aggregated; `group/identifier` one identifier. */
export function targetOf(service: string): Target {
  if (SERVER_SERVICE_NAMES.includes(service)) return { group: "core", identifier: MAIN };
  const slash = service.indexOf("/");
  if (slash < 0) return { group: service, identifier: ALL };
  return { group: service.slice(0, slash), identifier: service.slice(slash + 1) };
}

/** What makes a health name unknown: it names nothing, or could never name anything. */
const UNKNOWN_SERVICE = new Set(["GROUP_NOT_FOUND", "IDENTIFIER_NOT_FOUND", "NAME_INVALID", "NAME_RESERVED", "UTF8_INVALID"]);

/** SERVING, NOT_SERVING, or undefined when the name is unknown (or not a valid name). */
function servingOf(registry: Registry, target: Target): Serving | undefined {
  try {
    return registry.checkStatus(target).ready ? Serving.SERVING : Serving.NOT_SERVING;
  } catch (error) {
    if (error instanceof SrError && UNKNOWN_SERVICE.has(error.reason)) return undefined;
    throw error;
  }
}

export const healthDefinition = withStrictUtf8(HealthService, { check: HealthCheckRequest, watch: HealthCheckRequest });

/**
 * One health Watch stream. It holds at most one pending value: the latest
 * serving status, written when the stream has drained and only when it differs
 * from the last one sent, so a stuck reader costs nothing and never sees a repeat.
 */
class HealthWatch {
  private lastSent: Serving | undefined;
  private blocked = false;
  private ended = false;
  readonly groupKey: string;

  constructor(
    private readonly registry: Registry,
    private readonly call: ServerWritableStream<HealthCheckRequest, HealthCheckResponse>,
    private readonly target: Target,
  ) {
    this.groupKey = foldName(target.group);
  }

  update(): void {
    if (this.blocked || this.ended) return;
    const serving = servingOf(this.registry, this.target) ?? Serving.SERVICE_UNKNOWN;
    if (serving === this.lastSent) return;
    this.lastSent = serving;
    if (!this.call.write({ status: serving })) {
      this.blocked = true;
      this.call.once("drain", () => {
        this.blocked = false;
        this.update();
      });
    }
  }

  end(): void {
    if (this.ended) return;
    this.update();
    this.ended = true;
    this.call.end();
  }
}

/** grpc.health.v1 answered from the registry (SPEC section 4). */
export class HealthAdapter {
  private readonly watches = new Set<HealthWatch>();
  private readonly unsubscribe: () => void;

  private readonly perConnection = new Map<string, number>();

  constructor(
    private readonly registry: Registry,
    private readonly gate: Admission,
    private readonly limits: { maxWatchers: number; maxWatchersPerConnection: number },
  ) {
    this.unsubscribe = registry.onChange((change) => {
      for (const watch of this.watches) if (watch.groupKey === change.groupKey) watch.update();
    });
  }

  get watchCount(): number {
    return this.watches.size;
  }

  /** Sends every watch its final status and ends it (graceful stop). */
  endAll(): void {
    for (const watch of this.watches) watch.end();
    this.watches.clear();
    this.perConnection.clear();
    this.unsubscribe();
  }

  implementation(): UntypedServiceImplementation {
    const { registry, gate } = this;
    return {
      check: (call: ServerUnaryCall<HealthCheckRequest, HealthCheckResponse>, callback: sendUnaryData<HealthCheckResponse>) => {
        try {
          gate.admit(call.metadata, { open: true });
          const target = targetOf(call.request.service);
          const serving = servingOf(registry, target);
          if (serving === undefined) {
            const known = registry.isInternal(target.group) !== undefined;
            throw new SrError(known ? "IDENTIFIER_NOT_FOUND" : "GROUP_NOT_FOUND", `service '${call.request.service}': unknown group or identifier`, {
              group: target.group,
              ...(known ? { identifier: target.identifier } : {}),
            });
          }
          callback(null, { status: serving });
        } catch (error) {
          callback(toGrpcError(error));
        }
      },
      watch: (call: ServerWritableStream<HealthCheckRequest, HealthCheckResponse>) => {
        try {
          gate.admit(call.metadata, { open: true });
          const { maxWatchers, maxWatchersPerConnection } = this.limits;
          if (this.watches.size >= maxWatchers) {
            throw limitReached("limits.max_watchers", `the server serves its maximum of ${maxWatchers} health watch streams`);
          }
          if ((this.perConnection.get(call.getPeer()) ?? 0) >= maxWatchersPerConnection) {
            throw limitReached(
              "limits.max_watchers_per_connection",
              `this connection holds its maximum of ${maxWatchersPerConnection} health watch streams`,
            );
          }
        } catch (error) {
          call.emit("error", toGrpcError(error));
          return;
        }
        const peer = call.getPeer();
        const watch = new HealthWatch(registry, call, targetOf(call.request.service));
        this.watches.add(watch);
        this.perConnection.set(peer, (this.perConnection.get(peer) ?? 0) + 1);
        const forget = () => {
          if (!this.watches.delete(watch)) return;
          const left = (this.perConnection.get(peer) ?? 1) - 1;
          if (left > 0) this.perConnection.set(peer, left);
          else this.perConnection.delete(peer);
        };
        call.on("cancelled", forget);
        call.on("error", forget);
        call.on("finish", forget);
        watch.update();
      },
      list: (call: ServerUnaryCall<HealthListRequest, HealthListResponse>, callback: sendUnaryData<HealthListResponse>) => {
        try {
          gate.admit(call.metadata, { open: true });
          const aggregates = registry.aggregates();
          if (aggregates.length + 1 > HEALTH_LIST_LIMIT) {
            throw new SrError("LIMIT_REACHED", `health List answers at most ${HEALTH_LIST_LIMIT} services ("" and every group); this server has ${aggregates.length} groups`, { limit: "health_list" });
          }
          const statuses: Record<string, HealthCheckResponse> = {
            "": { status: servingOf(registry, targetOf("")) ?? Serving.SERVICE_UNKNOWN },
          };
          for (const aggregate of aggregates) {
            statuses[aggregate.group] = { status: aggregate.ready ? Serving.SERVING : Serving.NOT_SERVING };
          }
          callback(null, { statuses });
        } catch (error) {
          callback(toGrpcError(error));
        }
      },
    };
  }
}
