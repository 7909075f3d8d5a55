// The JSON shapes every language's test programs print (srtest.py, srtest
// and the behaviour runners), built here from ts-proto messages. No vitest
// import: the TypeScript behaviour runner (a plain process) uses it too.
import type { IdentifierStatus, WatchStatusResponse } from "../../gen/ts/sr/v1/sr.js";

export type EventJson = Record<string, unknown>;

function statusJson(s: IdentifierStatus): EventJson {
  return { group: s.group, identifier: s.identifier, status: s.status, details: s.details ?? null };
}

/** A ts-proto watch message in the JSON shape srtest.py and srtest (Go) print. */
export function eventJson(m: WatchStatusResponse): EventJson {
  const revision = Number(m.revision);
  const ev = m.event;
  if (!ev) return { revision, type: null };
  switch (ev.$case) {
    case "snapshot":
      return { revision, type: "snapshot", last: ev.value.last, resync: ev.value.resync, identifiers: ev.value.identifiers.map(statusJson) };
    case "statusChanged": {
      const c = ev.value;
      return {
        revision,
        type: "status_changed",
        group: c.group,
        identifier: c.identifier,
        status: c.status,
        old_status: c.oldStatus,
        details: c.details ?? null,
        ready: c.ready,
      };
    }
    case "reportAdded":
      return {
        revision,
        type: "report_added",
        group: ev.value.group,
        identifier: ev.value.identifier,
        sequence: Number(ev.value.report?.sequence ?? 0n),
        text: ev.value.report?.text ?? "",
      };
    case "registered": {
      const { group, identifier, status, details } = statusJson(ev.value);
      return { revision, type: "registered", group, identifier, status, details };
    }
    case "unregistered":
      return { revision, type: "unregistered", group: ev.value.group, identifier: ev.value.identifier };
    case "progress":
      return { revision, type: "progress" };
  }
}

