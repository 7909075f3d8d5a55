/**
 * The status page as the server renders it: the whole current state (every
 * group and identifier, the counts, the selected identifier's detail) in the
 * HTML, so the page is complete before any script runs. The markup comes from
 * assets/view.js, which the browser uses for the changes (docs/page.md).
 */
import type { RegistryReader, StatusView } from "../../../domain/registry/registry.js";
import { statusView } from "../../../domain/registry/views.js";
import {
  type Entry,
  type Filters,
  type GroupHead,
  detailHtml,
  esc,
  groupHtml,
  groupOptionsHtml,
  keyOf,
  matches,
  summaryHtml,
} from "./assets/view.js";

/** How the page was asked for: `open` (no auth), `granted` (this request may read), `required` (a token is asked for). */
export type PageAccess = "open" | "granted" | "required";

export function entryOf(view: StatusView, capacity?: number, lastReport?: { sequence: number; time: number; text: string }): Entry {
  return {
    group: view.group,
    identifier: view.identifier,
    status: view.status,
    details: view.details,
    ready: view.ready,
    revision: view.revision,
    updateTime: view.updateTime,
    leaseTtlMs: view.lease?.ttlMs,
    leaseExpireTime: view.lease?.expireTime,
    lastReport,
    capacity,
  };
}

interface PageState {
  revision: number;
  groups: { head: GroupHead; entries: Entry[] }[];
  internal: string[];
  detail?: { entry: Entry; reports: { sequence: number; time: number; text: string }[] } | undefined;
}

/** The registry read whole, in list order, with each identifier's last report. */
function stateOf(reader: RegistryReader, filters: Filters): PageState {
  const groups: PageState["groups"] = [];
  const internal: string[] = [];
  let detail: PageState["detail"];
  for (const group of reader.groupsInOrder()) {
    if (group.internal) internal.push(group.name);
    const entries: Entry[] = [];
    for (const identifier of reader.identifiersInOrder(group)) {
      const ring = identifier.reports;
      const reports = ring.size > 0 ? ring.list() : [];
      const last = reports[reports.length - 1];
      const entry = entryOf(statusView(group, identifier), ring.capacity, last);
      entries.push(entry);
      if (filters.selected !== "" && keyOf(group.name, identifier.name) === filters.selected) detail = { entry, reports };
    }
    groups.push({ head: { name: group.name, internal: group.internal }, entries });
  }
  return { revision: reader.revision, groups, internal, detail };
}

const TOKEN_FORM = `<form class="token" id="token-form" aria-labelledby="token-title">
<h2 id="token-title">This server needs a token</h2>
<p>Enter a reader token. It is kept for this tab only (sessionStorage) and sent as an <code>Authorization</code> header.</p>
<label for="token">Token</label>
<input id="token" name="token" type="password" autocomplete="off" spellcheck="false" required>
<button type="submit">Show the status</button>
<p class="token-error" id="token-error" role="alert"></p>
</form>`;

/** The whole page. `filters` come from the URL; `access` says whether the state is rendered or a token asked for. */
export function renderPage(reader: RegistryReader, registryId: string, filters: Filters, access: PageAccess, now = Date.now()): string {
  const withState = access !== "required";
  const state = withState ? stateOf(reader, filters) : undefined;
  const internal = withState ? (state as PageState).internal : reader.groupsInOrder().filter((g) => g.internal).map((g) => g.name);
  let body = "";
  let summary = "";
  let detail = "";
  let options = groupOptionsHtml([], filters.group);
  let shown = "";
  if (state) {
    const all = state.groups.flatMap((g) => g.entries);
    const ready = all.filter((e) => e.ready).length;
    summary = summaryHtml({ total: all.length, ready, notReady: all.length - ready, groups: state.groups.length });
    body = state.groups.map((g) => groupHtml(g.head, g.entries, now, filters)).join("");
    options = groupOptionsHtml(
      state.groups.map((g) => g.head),
      filters.group,
    );
    if (state.detail) detail = detailHtml(state.detail.entry, state.detail.reports, [], now, filters);
    const visible = all.filter((e) => matches(e, filters)).length;
    shown = `Showing <b data-count="shown">${visible}</b> of ${all.length}`;
  } else {
    body = '<p class="empty" id="locked">The status is shown once a token is given.</p>';
  }
  const conn = state
    ? `As of revision ${state.revision} (${new Date(now).toISOString().slice(0, 19).replace("T", " ")}Z); live updates need JavaScript.`
    : "Waiting for a token.";
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>Status</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/page/style.css">
<script type="module" src="/page/app.js"></script>
</head>
<body data-access="${access}" data-registry="${esc(registryId)}" data-revision="${state?.revision ?? ""}" data-internal="${esc(JSON.stringify(internal))}">
<a class="skip" href="#list">Skip to the list</a>
<header class="top">
<div class="title"><h1>Status</h1><p class="conn" id="conn" role="status" data-state="static">${esc(conn)}</p></div>
<p class="summary" id="summary" aria-live="off">${summary}</p>
</header>
${access === "required" ? TOKEN_FORM : ""}
<form class="filters" id="filters" role="search" action="/" method="get" aria-label="Filter identifiers">
<div class="field"><label for="f-group">Group</label><select id="f-group" name="group">${options}</select></div>
<div class="field grow"><label for="f-text">Text</label><input id="f-text" name="q" type="search" value="${esc(filters.text)}" placeholder="name, details or status" autocomplete="off"></div>
<div class="field check"><input id="f-notready" name="notready" type="checkbox" value="1"${filters.notReady ? " checked" : ""}><label for="f-notready">Not ready only</label></div>
<button type="submit" id="f-apply">Apply</button>
<p class="shown" id="shown" aria-live="polite">${shown}</p>
</form>
<main class="layout${detail ? " has-detail" : ""}" id="main">
<div class="detail-slot" id="detail-slot">${detail}</div>
<div class="list" id="list" tabindex="-1">${body}</div>
</main>
</body>
</html>
`;
}
