// The status page's markup and rules, shared by the server (which renders the
// whole state into the HTML) and the browser (which renders the changes), so
// a row looks the same whoever drew it. Plain ES module, no DOM, no Node:
// strings in, strings out. Types for the server: view.d.ts.

/** Names compare ASCII-case-insensitively (docs/model.md): the folded name. */
export function fold(name) {
  return name.replace(/[A-Z]+/g, (s) => s.toLowerCase());
}

/** One identifier's key: folded group, "/", folded identifier (a group name holds no "/"). */
export function keyOf(group, identifier) {
  return `${fold(group)}/${fold(identifier)}`;
}

/** Code point order (JS `<` compares UTF-16 units). */
function compareCodePoints(a, b) {
  const x = [...a];
  const y = [...b];
  const n = Math.min(x.length, y.length);
  for (let i = 0; i < n; i++) {
    const d = x[i].codePointAt(0) - y[i].codePointAt(0);
    if (d !== 0) return d;
  }
  return x.length - y.length;
}

/** List order: `main` first, then by the folded name's code points. */
export function compareIdentifiers(a, b) {
  const fa = fold(a);
  const fb = fold(b);
  if (fa === fb) return 0;
  if (fa === "main") return -1;
  if (fb === "main") return 1;
  return compareCodePoints(fa, fb);
}

export function compareGroups(a, b) {
  return compareCodePoints(fold(a), fold(b));
}

const ESCAPES = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
export function esc(text) {
  return String(text).replace(/[&<>"']/g, (c) => ESCAPES[c]);
}

/** A time as UTC, to the second: 2026-12-02 01:04:28Z. */
export function formatTime(ms) {
  if (!Number.isFinite(ms)) return "";
  return `${new Date(ms).toISOString().slice(0, 19).replace("T", " ")}Z`;
}

/** A duration, two units at most: 45s, 2m 5s, 1h 30m, 3d 4h. */
export function formatDuration(ms) {
  let s = Math.max(0, Math.round(ms / 1000));
  const d = Math.floor(s / 86400);
  s -= d * 86400;
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  if (d) return h ? `${d}d ${h}h` : `${d}d`;
  if (h) return m ? `${h}h ${m}m` : `${h}h`;
  if (m) return s ? `${m}m ${s}s` : `${m}m`;
  return `${s}s`;
}

/**
 * What the page shows of a lease: undefined without one. `expired` once its
 * deadline has passed (the server then writes the expired status, a change
 * the page sees; a refresh is no change, so a deadline passed with no such
 * change reads "renewed").
 */
export function leaseText(entry, now) {
  if (entry.leaseTtlMs === undefined) return undefined;
  const ttl = `lease ${formatDuration(entry.leaseTtlMs)}`;
  if (entry.leaseExpired) return { text: `${ttl}, expired`, expired: true };
  const left = (entry.leaseExpireTime ?? 0) - now;
  if (left > 0) return { text: `${ttl}, expires in ${formatDuration(left)}`, expired: false };
  if (left > -2000) return { text: `${ttl}, expired`, expired: true };
  return { text: `${ttl}, renewed`, expired: false };
}

/** The readiness mark: an icon and a word (never colour alone). */
export function badgeHtml(ready) {
  return ready
    ? '<span class="badge ok"><span class="icon" aria-hidden="true">✓</span>ready</span>'
    : '<span class="badge bad"><span class="icon" aria-hidden="true">✕</span>not ready</span>';
}

/** The filters of the page: `group` (folded, "" for all), `text`, `notReady`; and the selection (a key or ""). */
export function parseFilters(search) {
  const get = (name) => search.get(name) ?? "";
  const flag = get("notready");
  return { group: fold(get("group")), text: get("q"), notReady: flag === "1" || flag === "true", selected: selectedKey(get("sel")) };
}

/** `sel=group/identifier` (split at the first "/": a group name holds none). */
function selectedKey(sel) {
  const slash = sel.indexOf("/");
  if (slash <= 0 || slash === sel.length - 1) return "";
  return keyOf(sel.slice(0, slash), sel.slice(slash + 1));
}

/** The query string that keeps `filters` (and a selection given as names). */
export function queryOf(filters, selection) {
  const parts = [];
  if (filters.group) parts.push(`group=${encodeURIComponent(filters.group)}`);
  if (filters.text) parts.push(`q=${encodeURIComponent(filters.text)}`);
  if (filters.notReady) parts.push("notready=1");
  if (selection) parts.push(`sel=${encodeURIComponent(`${selection.group}/${selection.identifier}`)}`);
  return parts.length ? `?${parts.join("&")}` : "?";
}

/** Whether an identifier is shown under `filters`. */
export function matches(entry, filters) {
  if (filters.group && fold(entry.group) !== filters.group) return false;
  if (filters.notReady && entry.ready) return false;
  if (filters.text) {
    // What the text is looked for in, made once per state of the entry (whoever changes it clears `hay`).
    entry.hay ??= `${entry.group}\n${entry.identifier}\n${entry.details ?? ""}\n${entry.status}`.toLowerCase();
    if (!entry.hay.includes(filters.text.toLowerCase())) return false;
  }
  return true;
}

/** One identifier's row. */
export function rowHtml(entry, now, filters) {
  const key = keyOf(entry.group, entry.identifier);
  const lease = leaseText(entry, now);
  const report = entry.lastReport;
  const href = queryOf(filters, entry);
  const details =
    entry.details === undefined
      ? '<span class="details none">no details</span>'
      : entry.details === ""
        ? '<span class="details none">empty details</span>'
        : `<span class="details">${esc(entry.details)}</span>`;
  return (
    `<li class="row ${entry.ready ? "ready" : "notready"}${filters.selected === key ? " selected" : ""}" data-key="${esc(key)}"${matches(entry, filters) ? "" : " hidden"}>` +
    `${badgeHtml(entry.ready)}` +
    // The group is part of the link's name for screen readers: every group has a `main`.
    `<a class="name" href="${esc(href)}"${filters.selected === key ? ' aria-current="true"' : ""}><span class="visually-hidden">${esc(entry.group)} / </span>${esc(entry.identifier)}</a>` +
    `<span class="status">status <b>${entry.status}</b></span>` +
    details +
    (lease ? `<span class="lease${lease.expired ? " expired" : ""}">${esc(lease.text)}</span>` : "") +
    (report
      ? `<span class="report"><span class="label">last report</span> <time datetime="${new Date(report.time).toISOString()}">${formatTime(report.time)}</time> ${esc(report.text)}</span>`
      : "") +
    "</li>"
  );
}

/** Counts of a group's identifiers. */
export function groupCounts(entries) {
  let ready = 0;
  for (const e of entries) if (e.ready) ready++;
  return { total: entries.length, ready, notReady: entries.length - ready };
}

/** A group's heading: its name, internal or not, aggregate readiness (an empty group is ready), counts. */
export function groupHeaderHtml(group, counts) {
  const ready = counts.notReady === 0;
  return (
    `<h2 class="group-title" id="g-${esc(fold(group.name))}">` +
    `<span class="group-name">${esc(group.name)}</span>` +
    (group.internal ? '<span class="tag">internal</span>' : "") +
    `${badgeHtml(ready)}` +
    `<span class="group-counts">${counts.ready} of ${counts.total} ready</span>` +
    "</h2>"
  );
}

/** A group with its rows. */
export function groupHtml(group, entries, now, filters) {
  const visible = entries.some((e) => matches(e, filters)) || (entries.length === 0 && !filters.text && !filters.notReady && (!filters.group || filters.group === fold(group.name)));
  return (
    `<section class="group" data-group="${esc(fold(group.name))}" aria-labelledby="g-${esc(fold(group.name))}"${visible ? "" : " hidden"}>` +
    groupHeaderHtml(group, groupCounts(entries)) +
    `<ul class="rows">${entries.map((e) => rowHtml(e, now, filters)).join("")}</ul>` +
    "</section>"
  );
}

/** The counts at the top. */
export function summaryHtml(totals) {
  return (
    `<span class="count ok"><span class="icon" aria-hidden="true">✓</span><b data-count="ready">${totals.ready}</b> ready</span>` +
    `<span class="count bad"><span class="icon" aria-hidden="true">✕</span><b data-count="notready">${totals.notReady}</b> not ready</span>` +
    `<span class="count"><b data-count="identifiers">${totals.total}</b> identifiers in <b data-count="groups">${totals.groups}</b> groups</span>`
  );
}

/** The group filter's options. */
export function groupOptionsHtml(groups, selected) {
  return (
    `<option value=""${selected ? "" : " selected"}>All groups</option>` +
    groups.map((g) => `<option value="${esc(fold(g.name))}"${selected === fold(g.name) ? " selected" : ""}>${esc(g.name)}</option>`).join("")
  );
}

/** The detail of one identifier: its state, its reports as a timeline (newest first) and the status changes seen. */
export function detailHtml(entry, reports, changes, now, filters) {
  const lease = leaseText(entry, now);
  const close = queryOf(filters, undefined);
  const item = (label, value) => `<div><dt>${label}</dt><dd>${value}</dd></div>`;
  const timeline = reports.length
    ? `<ol class="timeline">${[...reports]
        .reverse()
        .map((r) => `<li><time datetime="${new Date(r.time).toISOString()}">${formatTime(r.time)}</time> <span class="seq">#${r.sequence}</span> ${esc(r.text)}</li>`)
        .join("")}</ol>`
    : '<p class="empty">No reports.</p>';
  const seen = changes.length
    ? `<ol class="timeline">${[...changes]
        .reverse()
        .map(
          (c) =>
            `<li><time datetime="${new Date(c.time).toISOString()}">${formatTime(c.time)}</time> ${esc(c.text)}</li>`,
        )
        .join("")}</ol>`
    : '<p class="empty">None since the page opened.</p>';
  return (
    '<section class="detail" id="detail" aria-labelledby="detail-title" tabindex="-1">' +
    `<div class="detail-head"><h2 id="detail-title"><span class="group-name">${esc(entry.group)}</span> / ${esc(entry.identifier)}</h2>` +
    `<a class="close" href="${esc(close)}">Close<span class="visually-hidden"> the detail of ${esc(entry.identifier)}</span></a></div>` +
    "<dl>" +
    item("Readiness", badgeHtml(entry.ready)) +
    item("Status", `<b>${entry.status}</b>`) +
    item("Details", entry.details === undefined ? '<span class="none">no details</span>' : entry.details === "" ? '<span class="none">empty</span>' : esc(entry.details)) +
    item("Lease", lease ? esc(lease.text) : '<span class="none">none</span>') +
    item("Updated", entry.updateTime ? formatTime(entry.updateTime) : "") +
    item("Revision", String(entry.revision)) +
    "</dl>" +
    `<h3>Reports${entry.capacity !== undefined ? ` <span class="muted">(keeps ${entry.capacity})</span>` : ""}</h3>${timeline}` +
    `<h3>Status changes seen</h3>${seen}` +
    "</section>"
  );
}

/** What a status change reads as in the detail's list. */
export function changeText(oldStatus, status, details) {
  const word = (s) => (s > 0 ? "ready" : "not ready");
  const what = oldStatus === status ? `details changed (status ${status}, ${word(status)})` : `${oldStatus} → ${status} (${word(oldStatus)} → ${word(status)})`;
  return details === undefined ? what : `${what}: ${details}`;
}
