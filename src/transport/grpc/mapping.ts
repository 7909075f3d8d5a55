import type { Change, GroupReportsPage, LeaseView, StatusView } from "../../domain/registry/registry.js";
import type { LeaseWrite } from "../../domain/leases/leases.js";
import type { Duration } from "../../../gen/ts/google/protobuf/duration.js";
import type { ReportEntry } from "../../domain/report-ring.js";
import type { WatchEvent } from "../../domain/watch/watcher.js";
import type {
  GroupReports,
  IdentifierStatus,
  Report,
  WatchStatusResponse,
} from "../../../gen/ts/sr/v1/sr.js";

/**
 * A Duration in whole milliseconds, rounded away from zero so that no non-zero
 * duration becomes 0 (which disarms) and a lease is never shorter than asked.
 * The domain checks the range, naming the field.
 */
export function durationToMs(duration: Duration | undefined): number | undefined {
  if (duration === undefined) return undefined;
  const ms = Number(duration.seconds) * 1000 + duration.nanos / 1e6;
  return ms > 0 ? Math.ceil(ms) : ms < 0 ? Math.floor(ms) : 0;
}

export function msToDuration(ms: number): Duration {
  const whole = Math.round(ms);
  return { seconds: BigInt(Math.trunc(whole / 1000)), nanos: (whole % 1000) * 1_000_000 };
}

/** The `ttl` and `remove_after` of SetStatus, RegisterGroup and RegisterIdentifier. */
export function leaseWriteOf(req: { ttl?: Duration | undefined; removeAfter?: Duration | undefined }): LeaseWrite {
  return { ttlMs: durationToMs(req.ttl), removeAfterMs: durationToMs(req.removeAfter) };
}

/** An armed lease's fields, as IdentifierStatus and RefreshLeaseResponse carry them (none when disarmed). */
export function toLeaseFields(lease: LeaseView | undefined): { leaseTtl?: Duration; leaseExpireTime?: Date } {
  return lease ? { leaseTtl: msToDuration(lease.ttlMs), leaseExpireTime: new Date(lease.expireTime) } : {};
}

/** Domain values to the generated protobuf types (numbers become uint64 bigints). */
export function toIdentifierStatus(view: StatusView): IdentifierStatus {
  return {
    group: view.group,
    identifier: view.identifier,
    status: view.status,
    details: view.details,
    ready: view.ready,
    revision: BigInt(view.revision),
    updateTime: new Date(view.updateTime),
    ...toLeaseFields(view.lease),
  };
}

export function toReport(entry: ReportEntry): Report {
  return { sequence: BigInt(entry.sequence), time: new Date(entry.time), text: entry.text };
}

export function toGroupReports(page: GroupReportsPage): GroupReports {
  return {
    group: page.group,
    identifiers: page.identifiers.map((i) => ({
      identifier: i.identifier,
      capacity: i.capacity,
      reports: i.reports.map(toReport),
    })),
  };
}

function changeEvent(change: Change): WatchStatusResponse["event"] {
  switch (change.kind) {
    case "status":
      return {
        $case: "statusChanged",
        value: {
          group: change.group,
          identifier: change.identifier,
          status: change.status,
          oldStatus: change.oldStatus,
          details: change.details,
          ready: change.status > 0,
        },
      };
    case "report":
      return {
        $case: "reportAdded",
        value: { group: change.group, identifier: change.identifier, report: toReport(change.report) },
      };
    case "registered":
      return { $case: "registered", value: toIdentifierStatus(change.status) };
    case "unregistered":
      return { $case: "unregistered", value: { group: change.group, identifier: change.identifier } };
  }
}

export function toWatchResponse(event: WatchEvent): WatchStatusResponse {
  const revision = BigInt(event.revision);
  switch (event.kind) {
    case "snapshot":
      return {
        revision,
        event: {
          $case: "snapshot",
          value: {
            identifiers: event.identifiers.map(toIdentifierStatus),
            resync: event.resync,
            last: event.last,
            reports: event.reports.map(toGroupReports),
          },
        },
      };
    case "change":
      return { revision, event: changeEvent(event.change) };
    case "progress":
      return { revision, event: { $case: "progress", value: {} } };
  }
}
