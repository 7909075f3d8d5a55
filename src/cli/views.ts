/** How statuses and reports read in a table or a watch line. */
import type { IdentifierStatus, Report } from "../../clients/ts/index.js";
import { type Paint, durationText, safeText, table } from "./output.js";

export function readiness(ready: boolean, paint: Paint): string {
  return ready ? paint.ready("ready") : paint.notReady("not ready");
}

/** RFC 3339 to the second, UTC. */
export function timeText(time: Date | undefined): string {
  return time ? time.toISOString().replace(/\.\d{3}Z$/, "Z") : "";
}

function leaseText(status: IdentifierStatus): string {
  if (!status.leaseTtl) return "";
  const until = status.leaseExpireTime ? ` until ${timeText(status.leaseExpireTime)}` : "";
  return `${durationText(status.leaseTtl)}${until}`;
}

export const STATUS_HEADER = ["GROUP", "IDENTIFIER", "STATUS", "READY", "UPDATED", "LEASE", "DETAILS"] as const;

export function statusRow(status: IdentifierStatus, paint: Paint): string[] {
  return [
    status.group,
    status.identifier,
    String(status.status),
    readiness(status.ready, paint),
    timeText(status.updateTime),
    leaseText(status),
    safeText(status.details ?? ""),
  ];
}

export function statusTable(statuses: readonly IdentifierStatus[], paint: Paint): string {
  return table(STATUS_HEADER, statuses.map((s) => statusRow(s, paint)));
}

export const REPORT_HEADER = ["GROUP", "IDENTIFIER", "SEQUENCE", "TIME", "TEXT"] as const;

export function reportRow(group: string, identifier: string, report: Report): string[] {
  return [group, identifier, String(report.sequence), timeText(report.time), safeText(report.text)];
}
