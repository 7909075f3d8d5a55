import {
  type ServerUnaryCall,
  type ServerWritableStream,
  type UntypedServiceImplementation,
  type sendUnaryData,
} from "@grpc/grpc-js";
import {
  HealthCheckRequest,
  HealthCheckResponse_ServingStatus as Serving,
  HealthService,
  type HealthCheckResponse,
  type HealthListRequest,
  type HealthListResponse,
} from "../../../gen/ts/health/v1/health.js";
import { SrError } from "../../domain/errors.js";
import { CORE_GROUP } from "../../domain/core.js";
import { ALL, MAIN, MAX_NAME_BYTES, foldName, utf8Length } from "../../domain/names.js";
import type { Registry } from "../../domain/registry/registry.js";
import type { WatchHub } from "../../domain/watch/hub.js";
import type { LatestValueWatcher } from "../../domain/watch/latest.js";
import { withStrictUtf8 } from "./codec.js";
import type { Admission } from "./admission.js";
import { toGrpcError } from "./errors.js";
import { writeStream } from "./stream-writer.js";

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
  if (SERVER_SERVICE_NAMES.includes(service)) return { group: CORE_GROUP, identifier: MAIN };
  const slash = service.indexOf("/");
  if (slash < 0) return { group: service, identifier: ALL };
  return { group: service.slice(0, slash), identifier: service.slice(slash + 1) };
}

/** What makes a health name unknown: it names nothing, or could never name anything. */
const UNKNOWN_SERVICE = new Set(["GROUP_NOT_FOUND", "IDENTIFIER_NOT_FOUND", "NAME_INVALID", "NAME_RESERVED", "UTF8_INVALID"]);

/**
 * A name as an error echoes it. One too long to name anything is cut: echoed
 * whole (in the message and the details, twice more) it could outgrow the
 * client's header limit, and the answer would never arrive.
 */
function shown(name: string, maxBytes = MAX_NAME_BYTES): string {
  const bytes = utf8Length(name);
  return bytes <= maxBytes ? name : `${[...name].slice(0, 32).join("")}... (${bytes} bytes)`;
}

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
 * grpc.health.v1 answered from the registry (docs/model.md, Health and reflection). A Watch is a
 * latest-value watcher of the hub (docs/watch.md): it sends the serving status
 * at once, then only when it changes, and counts toward the hub's watcher quotas.
 */
export class HealthAdapter {
  constructor(
    private readonly registry: Registry,
    private readonly hub: WatchHub,
    private readonly gate: Admission,
  ) {}

  get watchCount(): number {
    return this.hub.latestWatcherCount;
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
            throw new SrError(known ? "IDENTIFIER_NOT_FOUND" : "GROUP_NOT_FOUND", `service '${shown(call.request.service, 2 * MAX_NAME_BYTES + 1)}': unknown group or identifier`, {
              group: shown(target.group),
              ...(known ? { identifier: shown(target.identifier) } : {}),
            });
          }
          callback(null, { status: serving });
        } catch (error) {
          callback(toGrpcError(error));
        }
      },
      watch: (call: ServerWritableStream<HealthCheckRequest, HealthCheckResponse>) => {
        let watcher: LatestValueWatcher<Serving>;
        try {
          gate.admit(call.metadata, { open: true });
          const target = targetOf(call.request.service);
          // "" would select every group; a name like "/x" names none, and no group is called "/".
          const group = target.group === "" ? "/" : target.group;
          // One identifier wakes only on its own changes; the aggregate (`all`) on any of its group's.
          const identifier = foldName(target.identifier) === ALL ? "" : target.identifier || MAIN;
          watcher = this.hub.watchLatest({ group, identifier }, call.getPeer(), () => servingOf(registry, target) ?? Serving.SERVICE_UNKNOWN);
        } catch (error) {
          call.emit("error", toGrpcError(error));
          return;
        }
        writeStream(call, watcher, (serving) => ({ status: serving }));
      },
      list: (call: ServerUnaryCall<HealthListRequest, HealthListResponse>, callback: sendUnaryData<HealthListResponse>) => {
        try {
          gate.admit(call.metadata, { open: true });
          const aggregates = registry.aggregates();
          if (aggregates.length + 1 > HEALTH_LIST_LIMIT) {
            throw new SrError("LIMIT_REACHED", `health List answers at most ${HEALTH_LIST_LIMIT} services ("" and every group); this server has ${aggregates.length} groups`, { limit: "health_list" });
          }
          // Names are data: on a plain object, a group named `__proto__` would set the prototype, not an entry.
          const statuses: Record<string, HealthCheckResponse> = Object.create(null);
          statuses[""] = { status: servingOf(registry, targetOf("")) ?? Serving.SERVICE_UNKNOWN };
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
