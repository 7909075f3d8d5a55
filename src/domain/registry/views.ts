import { ALL } from "../names.js";
import type { GroupRecord, IdentifierRecord, StatusView } from "./types.js";

export const AGGREGATED_DETAILS = "aggregated";

/** What a reader sees of one identifier. */
export function statusView(group: GroupRecord, identifier: IdentifierRecord): StatusView {
  const view: StatusView = {
    group: group.name,
    identifier: identifier.name,
    status: identifier.status,
    details: identifier.details,
    ready: identifier.status > 0,
    revision: identifier.revision,
    updateTime: identifier.updateTime,
  };
  // A copy: a change's view keeps the deadline it had, whatever refreshes follow.
  const lease = identifier.lease;
  if (lease?.armed) view.lease = { ttlMs: lease.ttlMs, expireTime: lease.expireTime };
  return view;
}

/** The group aggregated (`all`): ready unless a member is below zero; an empty group is ready. */
export function aggregateView(group: GroupRecord): StatusView {
  let ready = true;
  let revision = 0;
  let updateTime = 0;
  for (const identifier of group.identifiers.values()) {
    if (identifier.status < 0) ready = false;
    if (identifier.revision > revision) revision = identifier.revision;
    if (identifier.updateTime > updateTime) updateTime = identifier.updateTime;
  }
  if (group.identifiers.size === 0) {
    revision = group.revision;
    updateTime = group.createTime;
  }
  return {
    group: group.name,
    identifier: ALL,
    status: ready ? 1 : -1,
    details: AGGREGATED_DETAILS,
    ready,
    revision,
    updateTime,
  };
}
