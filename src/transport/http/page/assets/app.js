// The status page in the browser: reads GET /events (fetch streaming, so a
// token can go in an Authorization header and Last-Event-ID on every
// connection), keeps the state, and renders what changed once per animation
// frame. The markup is view.js's, as the server's. docs/page.md has the design.
import {
  changeText,
  compareGroups,
  compareIdentifiers,
  detailHtml,
  fold,
  groupCounts,
  groupHeaderHtml,
  groupHtml,
  groupOptionsHtml,
  keyOf,
  leaseText,
  matches,
  parseFilters,
  queryOf,
  rowHtml,
  summaryHtml,
} from "./view.js";

const EVENTS = "/events?include_details=true&include_reports=true&include_registrations=true";
const TOKEN_KEY = "sr-token";
/** No byte for this long (the server writes a keep-alive every 15 s): the stream is stale, reconnect. */
const STALE_MS = 35_000;
const RETRY_MIN_MS = 250;
const RETRY_MAX_MS = 5_000;
/** Status changes kept per identifier for the detail. */
const CHANGES_KEPT = 200;

const body = document.body;
const $ = (id) => document.getElementById(id);
const list = $("list");
const detailSlot = $("detail-slot");
const conn = $("conn");
const summary = $("summary");
const shown = $("shown");
const groupSelect = $("f-group");
const textInput = $("f-text");
const notReadyBox = $("f-notready");

const internalGroups = new Set(JSON.parse(body.dataset.internal || "[]").map(fold));

// ---- state ----
/** key -> entry (view.js's Entry), every identifier. */
let entries = new Map();
/** folded group -> { name, internal, keys: sorted keys }. */
let groups = new Map();
/** key -> reports, oldest first. */
let reports = new Map();
/** key -> status changes seen since the page opened (kept across resyncs). */
const changes = new Map();
let filters = parseFilters(new URLSearchParams(location.search));
let lastId = "";
let haveState = false;

// ---- render scheduling: everything that changed is drawn once per frame ----
const dirtyRows = new Set();
const dirtyGroups = new Set();
let dirtyAll = false;
let dirtyFilter = false;
let dirtyDetail = false;
let frame = 0;
function schedule() {
  if (!frame) frame = requestAnimationFrame(flush);
}

function sortedGroups() {
  return [...groups.values()].sort((a, b) => compareGroups(a.name, b.name));
}

function groupEntries(g) {
  return g.keys.map((k) => entries.get(k));
}

function totals() {
  let ready = 0;
  for (const e of entries.values()) if (e.ready) ready++;
  return { total: entries.size, ready, notReady: entries.size - ready, groups: groups.size };
}

const template = document.createElement("template");
function element(html) {
  template.innerHTML = html;
  return template.content.firstElementChild;
}

/** The drawn rows and group sections by key, so an update touches one element without a query. */
let rowEls = new Map();
let sectionEls = new Map();
function rowOf(key) {
  return rowEls.get(key);
}
function sectionOf(gkey) {
  return sectionEls.get(gkey);
}
function indexSection(section) {
  sectionEls.set(section.dataset.group, section);
  for (const row of section.querySelectorAll("li.row")) rowEls.set(row.dataset.key, row);
}
function indexAll() {
  rowEls = new Map();
  sectionEls = new Map();
  for (const section of list.querySelectorAll("section.group")) indexSection(section);
}

function flush() {
  frame = 0;
  const now = Date.now();
  if (dirtyAll) {
    const adopted = adopt;
    if (adopt) {
      // The server drew this very state (same registry, same revision): keep its markup.
      adopt = false;
    } else {
      list.innerHTML = sortedGroups()
        .map((g) => groupHtml(g, groupEntries(g), now, filters))
        .join("");
      groupSelect.innerHTML = groupOptionsHtml(sortedGroups(), filters.group);
    }
    indexAll();
    if (adopted) applyFilter(); // the filters may have changed since the server drew them
    dirtyAll = false;
    dirtyFilter = false;
    dirtyRows.clear();
    dirtyGroups.clear();
    dirtyDetail = true;
  }
  for (const gkey of dirtyGroups) {
    const g = groups.get(gkey);
    const old = sectionOf(gkey);
    if (old) for (const row of old.querySelectorAll("li.row")) rowEls.delete(row.dataset.key);
    if (!g) {
      old?.remove();
      sectionEls.delete(gkey);
      continue;
    }
    const fresh = element(groupHtml(g, groupEntries(g), now, filters));
    if (old) old.replaceWith(fresh);
    else {
      // In list order among the sections drawn.
      const next = sortedGroups().find((o) => compareGroups(o.name, g.name) > 0 && sectionOf(fold(o.name)));
      list.insertBefore(fresh, next ? sectionOf(fold(next.name)) : null);
    }
    indexSection(fresh);
    for (const k of g.keys) dirtyRows.delete(k);
  }
  if (dirtyGroups.size) groupSelect.innerHTML = groupOptionsHtml(sortedGroups(), filters.group);
  const touched = new Set();
  for (const key of dirtyRows) {
    const entry = entries.get(key);
    const old = rowOf(key);
    if (!entry || !old) continue;
    const fresh = element(rowHtml(entry, now, filters));
    const focused = old.contains(document.activeElement);
    old.replaceWith(fresh);
    rowEls.set(key, fresh);
    // A keyboard user on this row stays on it.
    if (focused) fresh.querySelector("a.name")?.focus({ preventScroll: true });
    touched.add(fold(entry.group));
  }
  for (const gkey of touched) {
    if (dirtyGroups.has(gkey)) continue;
    const g = groups.get(gkey);
    const section = sectionOf(gkey);
    if (!g || !section) continue;
    section.querySelector("h2").replaceWith(element(groupHeaderHtml(g, groupCounts(groupEntries(g)))));
    if (!dirtyFilter) section.hidden = !sectionVisible(g);
  }
  dirtyRows.clear();
  dirtyGroups.clear();
  if (dirtyFilter && haveState) applyFilter();
  setHtml(summary, summaryHtml(totals()));
  updateShown();
  if (dirtyDetail) renderDetail(now);
  dirtyDetail = false;
  if (marking) {
    performance.mark(marking);
    marking = "";
  }
}

/** A performance mark to set once the next frame is drawn (the benchmark reads them). */
let marking = "";

function sectionVisible(g) {
  if (g.keys.length === 0) return !filters.text && !filters.notReady && (!filters.group || filters.group === fold(g.name));
  return g.keys.some((k) => matches(entries.get(k), filters));
}

/** The row drawn as selected, if any. */
let selectedRow;
/** Shows and hides rows and groups without redrawing them. */
function applyFilter() {
  dirtyFilter = false;
  for (const g of groups.values()) {
    const section = sectionOf(fold(g.name));
    if (!section) continue;
    let any = false;
    for (const key of g.keys) {
      const row = rowEls.get(key);
      const show = matches(entries.get(key), filters);
      if (row && row.hidden === show) row.hidden = !show;
      if (show) any = true;
    }
    const hide = g.keys.length ? !any : !sectionVisible(g);
    if (section.hidden !== hide) section.hidden = hide;
  }
  markSelected();
}

function markSelected() {
  const row = filters.selected ? rowEls.get(filters.selected) : undefined;
  if (row === selectedRow && row?.classList.contains("selected")) return;
  for (const old of list.querySelectorAll("li.row.selected")) {
    old.classList.remove("selected");
    old.querySelector("a.name")?.removeAttribute("aria-current");
  }
  selectedRow = row;
  if (row) {
    row.classList.add("selected");
    row.querySelector("a.name")?.setAttribute("aria-current", "true");
  }
}

/** Only what differs is written (a live region re-announces any write). */
function setHtml(el, html) {
  if (el.innerHTML !== html) el.innerHTML = html;
}

function updateShown() {
  if (!haveState) return;
  let visible = 0;
  for (const e of entries.values()) if (matches(e, filters)) visible++;
  setHtml(shown, `Showing <b data-count="shown">${visible}</b> of ${entries.size}`);
}

function renderDetail(now) {
  const entry = filters.selected ? entries.get(filters.selected) : undefined;
  const main = $("main");
  if (!entry) {
    if (filters.selected && haveState) {
      detailSlot.innerHTML = `<section class="detail" id="detail" tabindex="-1"><p class="empty">That identifier is not (or no longer) registered.</p><a class="close" href="${queryOf(filters, undefined)}">Close</a></section>`;
      main.classList.add("has-detail");
    } else if (!filters.selected) {
      detailSlot.innerHTML = "";
      main.classList.remove("has-detail");
    }
    return;
  }
  const focusedClose = document.activeElement?.classList.contains("close") && detailSlot.contains(document.activeElement);
  const focusedDetail = document.activeElement?.id === "detail";
  const html = detailHtml(entry, reports.get(filters.selected) ?? [], changes.get(filters.selected) ?? [], now, filters);
  if (detailSlot.innerHTML !== html) detailSlot.innerHTML = html;
  main.classList.add("has-detail");
  if (focusedClose) detailSlot.querySelector("a.close")?.focus({ preventScroll: true });
  else if (focusedDetail) $("detail")?.focus({ preventScroll: true });
}

// ---- state changes ----
function entryOf(s) {
  return {
    group: s.group ?? "",
    identifier: s.identifier ?? "",
    status: s.status ?? 0,
    details: s.details,
    ready: s.ready === true,
    revision: Number(s.revision ?? 0),
    updateTime: s.updateTime ? Date.parse(s.updateTime) : 0,
    leaseTtlMs: s.leaseTtl === undefined ? undefined : durationMs(s.leaseTtl),
    leaseExpireTime: s.leaseExpireTime ? Date.parse(s.leaseExpireTime) : undefined,
    lastReport: undefined,
    capacity: undefined,
  };
}

function durationMs(text) {
  return Math.round(Number(String(text).replace(/s$/, "")) * 1000);
}

function reportOf(r) {
  return { sequence: Number(r.sequence ?? 0), time: r.time ? Date.parse(r.time) : 0, text: r.text ?? "" };
}

function addEntry(entry) {
  const key = keyOf(entry.group, entry.identifier);
  const gkey = fold(entry.group);
  let g = groups.get(gkey);
  if (!g) groups.set(gkey, (g = { name: entry.group, internal: internalGroups.has(gkey), keys: [] }));
  const old = entries.get(key);
  if (old) {
    entry.lastReport = old.lastReport;
    entry.capacity = old.capacity;
  } else {
    // Sorted insert: main first, then by folded name.
    let lo = 0;
    let hi = g.keys.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (compareIdentifiers(entries.get(g.keys[mid]).identifier, entry.identifier) < 0) lo = mid + 1;
      else hi = mid;
    }
    g.keys.splice(lo, 0, key);
  }
  entries.set(key, entry);
  return key;
}

let snapshotParts = [];
/** Set when the first snapshot is of the state the server rendered into the page. */
let adopt = false;
let firstSnapshot = true;
function applySnapshotPart(revision, snap) {
  snapshotParts.push(snap);
  if (!snap.last) return;
  const parts = snapshotParts;
  snapshotParts = [];
  entries = new Map();
  groups = new Map();
  reports = new Map();
  for (const part of parts) {
    for (const s of part.identifiers ?? []) addEntry(entryOf(s));
    for (const gr of part.reports ?? []) {
      for (const ir of gr.identifiers ?? []) {
        const key = keyOf(gr.group ?? "", ir.identifier ?? "");
        const list = reports.get(key) ?? [];
        for (const r of ir.reports ?? []) list.push(reportOf(r));
        reports.set(key, list);
        const entry = entries.get(key);
        if (entry) {
          entry.capacity = ir.capacity ?? 0;
          entry.lastReport = list[list.length - 1];
        }
      }
    }
  }
  adopt = firstSnapshot && body.dataset.access !== "required" && body.dataset.registry === lastIdRegistry() && body.dataset.revision === String(revision);
  firstSnapshot = false;
  haveState = true;
  dirtyAll = true;
  marking = "sr:snapshot-drawn";
  schedule();
}

function lastIdRegistry() {
  const colon = lastId.lastIndexOf(":");
  return colon > 0 ? lastId.slice(0, colon) : "";
}

function noteChange(key, text) {
  const list = changes.get(key) ?? [];
  list.push({ time: Date.now(), text });
  if (list.length > CHANGES_KEPT) list.splice(0, list.length - CHANGES_KEPT);
  changes.set(key, list);
}

function touch(key) {
  dirtyRows.add(key);
  if (key === filters.selected) dirtyDetail = true;
  schedule();
}

function applyEvent(message) {
  const revision = Number(message.revision ?? 0);
  if (message.snapshot) return applySnapshotPart(revision, message.snapshot);
  if (!haveState) return;
  if (message.statusChanged) {
    const c = message.statusChanged;
    const key = keyOf(c.group, c.identifier);
    const entry = entries.get(key);
    if (!entry) return;
    const status = c.status ?? 0;
    const old = c.oldStatus ?? 0;
    // A change after its lease's deadline is the server writing the expired status. The lease is then
    // disarmed; a later write may arm a new one, which StatusChanged does not carry (a resync or a reload shows it).
    if (entry.leaseExpired) {
      entry.leaseTtlMs = undefined;
      entry.leaseExpireTime = undefined;
      entry.leaseExpired = false;
    } else if (entry.leaseExpireTime !== undefined && Date.now() >= entry.leaseExpireTime - 1000) {
      entry.leaseExpired = true;
    }
    entry.status = status;
    entry.details = c.details;
    entry.hay = undefined;
    entry.ready = c.ready === true;
    entry.revision = revision;
    entry.updateTime = Date.now();
    noteChange(key, changeText(old, status, c.details));
    touch(key);
  } else if (message.reportAdded) {
    const c = message.reportAdded;
    const key = keyOf(c.group, c.identifier);
    const entry = entries.get(key);
    if (!entry) return;
    const report = reportOf(c.report ?? {});
    const list = reports.get(key) ?? [];
    list.push(report);
    if (entry.capacity !== undefined && list.length > entry.capacity) list.splice(0, list.length - entry.capacity);
    reports.set(key, list);
    entry.lastReport = report;
    entry.revision = revision;
    touch(key);
  } else if (message.registered) {
    const entry = entryOf(message.registered);
    const known = entries.has(keyOf(entry.group, entry.identifier));
    const key = addEntry(entry);
    if (!known) reports.set(key, []);
    noteChange(key, `registered with status ${entry.status}`);
    dirtyGroups.add(fold(entry.group));
    if (key === filters.selected) dirtyDetail = true;
    schedule();
  } else if (message.unregistered) {
    const c = message.unregistered;
    const gkey = fold(c.group ?? "");
    const g = groups.get(gkey);
    if (!g) return;
    const gone = c.identifier ? [keyOf(c.group, c.identifier)] : [...g.keys];
    for (const key of gone) {
      entries.delete(key);
      reports.delete(key);
      if (key === filters.selected) dirtyDetail = true;
    }
    if (c.identifier) g.keys = g.keys.filter((k) => k !== gone[0]);
    else groups.delete(gkey);
    dirtyGroups.add(gkey);
    schedule();
  }
}

// ---- the connection ----
let token = sessionStorage.getItem(TOKEN_KEY) ?? "";
let attempt = 0;
let controller;
let lastByte = 0;

function setConn(state, text) {
  conn.dataset.state = state;
  conn.textContent = text;
  body.dataset.conn = state;
}

/** Counts connections: a superseded one's ending schedules nothing. */
let generation = 0;

async function connect() {
  const gen = ++generation;
  clearTimeout(retryTimer);
  controller?.abort();
  controller = new AbortController();
  const retry = (text) => {
    if (gen === generation) scheduleRetry(text);
  };
  const headers = { Accept: "text/event-stream" };
  if (token) headers.Authorization = `Bearer ${token}`;
  if (lastId) headers["Last-Event-ID"] = lastId;
  setConn(haveState ? "reconnecting" : "connecting", haveState ? "Reconnecting…" : "Connecting…");
  let res;
  try {
    res = await fetch(EVENTS, { headers, cache: "no-store", signal: controller.signal });
  } catch {
    return retry("Disconnected: the server cannot be reached.");
  }
  if (gen !== generation) return;
  if (res.status === 401) {
    const why = (await res.text()).trim();
    askToken(token ? `The token was refused (${why}).` : "");
    return;
  }
  if (!res.ok) {
    const why = (await res.text()).trim();
    return retry(`Disconnected: the server answered ${res.status} (${why}).`);
  }
  if (token) sessionStorage.setItem(TOKEN_KEY, token);
  hideToken();
  attempt = 0;
  setConn("live", "Live");
  lastByte = Date.now();
  try {
    await readEvents(res.body);
    retry("Disconnected: the stream ended.");
  } catch (error) {
    if (error?.name === "AbortError" && stale) retry("Stale: no message from the server; reconnecting.");
    else retry("Disconnected: the connection was lost.");
  }
}

async function readEvents(stream) {
  const reader = stream.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  let data = [];
  let id;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    lastByte = Date.now();
    if (stale) {
      stale = false;
      setConn("live", "Live");
    }
    buffer += value;
    const lines = buffer.split(/\r\n|\r|\n/);
    buffer = lines.pop();
    for (const line of lines) {
      if (line === "") {
        if (data.length) {
          const message = JSON.parse(data.join("\n"));
          // A snapshot's id is its last part's: a drop before it resumes from the id before the snapshot.
          if (id !== undefined && (!message.snapshot || message.snapshot.last)) lastId = id;
          applyEvent(message);
        }
        data = [];
        id = undefined;
        continue;
      }
      if (line.startsWith(":")) continue; // keep-alive
      const colon = line.indexOf(":");
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
      if (field === "data") data.push(value);
      else if (field === "id") id = value;
    }
  }
}

let retryTimer = 0;
function scheduleRetry(text) {
  const delay = Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** attempt) * (0.75 + Math.random() * 0.5);
  attempt++;
  snapshotParts = [];
  setConn("disconnected", `${text} Retrying in ${Math.ceil(delay / 1000)} s.`);
  clearTimeout(retryTimer);
  retryTimer = setTimeout(connect, delay);
}

let stale = false;
setInterval(() => {
  if (conn.dataset.state === "live" && Date.now() - lastByte > STALE_MS) {
    stale = true;
    setConn("stale", "Stale: nothing heard from the server lately.");
    controller?.abort();
  }
  // Lease countdowns.
  const now = Date.now();
  let any = false;
  for (const [key, entry] of entries) {
    if (entry.leaseTtlMs !== undefined && leaseText(entry, now)) {
      dirtyRows.add(key);
      any = true;
    }
  }
  if (any) {
    if (filters.selected && entries.get(filters.selected)?.leaseTtlMs !== undefined) dirtyDetail = true;
    schedule();
  }
}, 1000);

// ---- the token prompt (with auth) ----
function askToken(error) {
  sessionStorage.removeItem(TOKEN_KEY);
  token = "";
  let form = $("token-form");
  if (!form) {
    form = element(
      '<form class="token" id="token-form" aria-labelledby="token-title"><h2 id="token-title">This server needs a token</h2><p>Enter a reader token. It is kept for this tab only (sessionStorage) and sent as an <code>Authorization</code> header.</p><label for="token">Token</label><input id="token" name="token" type="password" autocomplete="off" spellcheck="false" required><button type="submit">Show the status</button><p class="token-error" id="token-error" role="alert"></p></form>',
    );
    $("filters").before(form);
  }
  form.hidden = false;
  $("token-error").textContent = error;
  setConn("locked", "Waiting for a token.");
  form.onsubmit = (event) => {
    event.preventDefault();
    token = $("token").value.trim();
    if (token) connect();
  };
  $("token").focus();
}

function hideToken() {
  const form = $("token-form");
  if (form) form.hidden = true;
  $("locked")?.remove();
}

// ---- filters, selection and the URL ----
function setFilters(next, push) {
  filters = next;
  marking = "sr:filtered";
  const url = `${location.pathname}${queryOf(filters, selectionNames())}`.replace(/\?$/, "");
  if (push) history.pushState(null, "", url);
  else history.replaceState(null, "", url);
  dirtyFilter = true;
  dirtyDetail = true;
  schedule();
}

function selectionNames() {
  if (!filters.selected) return undefined;
  const entry = entries.get(filters.selected);
  if (entry) return { group: entry.group, identifier: entry.identifier };
  const sel = new URLSearchParams(location.search).get("sel") ?? "";
  const slash = sel.indexOf("/");
  return slash > 0 ? { group: sel.slice(0, slash), identifier: sel.slice(slash + 1) } : undefined;
}

function readControls() {
  return { ...filters, group: groupSelect.value, text: textInput.value, notReady: notReadyBox.checked };
}

groupSelect.addEventListener("change", () => setFilters(readControls(), false));
notReadyBox.addEventListener("change", () => setFilters(readControls(), false));
textInput.addEventListener("input", () => setFilters(readControls(), false));
$("filters").addEventListener("submit", (event) => {
  event.preventDefault();
  setFilters(readControls(), false);
});

document.addEventListener("click", (event) => {
  if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  const link = event.target.closest?.("a.name, a.close");
  if (!link || !list.contains(link) && !detailSlot.contains(link)) return;
  event.preventDefault();
  const params = new URLSearchParams(new URL(link.href).search);
  const selected = parseFilters(params).selected;
  const previous = filters.selected;
  setFilters({ ...filters, selected }, true);
  if (selected) {
    // Focus moves to the detail once drawn, so keyboard users land on it.
    requestAnimationFrame(() => $("detail")?.focus());
  } else {
    requestAnimationFrame(() => (rowOf(previous)?.querySelector("a.name") ?? textInput).focus());
  }
});

window.addEventListener("popstate", () => {
  filters = parseFilters(new URLSearchParams(location.search));
  groupSelect.value = filters.group;
  textInput.value = filters.text;
  notReadyBox.checked = filters.notReady;
  dirtyFilter = true;
  dirtyDetail = true;
  schedule();
});

// For tests and the benchmark: what the page holds.
window.srPage = {
  get revision() {
    return Number(lastId.split(":").pop() || 0);
  },
  get identifiers() {
    return entries.size;
  },
  get connection() {
    return conn.dataset.state;
  },
};

if (body.dataset.access === "required" && !token) askToken("");
else connect();
