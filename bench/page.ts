/**
 * The status page: what 10,000 identifiers and 100 changes a second cost the
 * browser, and how long a write takes to reach the screen.
 *
 *   npx tsx bench/page.ts [--smoke] [--rounds 3] [--write | --no-write]
 *
 * Our server (`node dist/src/main.js`, HTTP on an ephemeral port) pinned to
 * core 0, declaring 10,000 identifiers in 100 groups (every 7th not ready);
 * headless Chromium (test/e2e/page/browser.ts) and the gRPC writer in this
 * process. Each round opens a fresh page and measures:
 * - load: navigation to the server-rendered page parsed (DOMContentLoaded),
 *   and to live (the /events snapshot applied and drawn: the page's
 *   `sr:snapshot-drawn` mark);
 * - filter: a text filter, "not ready only" and clearing the text, each from
 *   the input event to the next frame after the page's redraw (in the page);
 * - write to screen at 100 changes/s: SetStatus over gRPC, spread over the
 *   identifiers, to the row showing the new status (a MutationObserver in
 *   the page stamps it; one clock, this machine's). Target: under 100 ms.
 * `--smoke`: 500 identifiers, 20 changes/s for 1 s, one round.
 */
import { SrClient } from "../clients/ts/index.js";
import { type Browser, launchBrowser } from "../test/e2e/page/browser.js";
import { type Server, startSr } from "./lib/procs.js";
import { type Column, flags, log, publish, table } from "./lib/report.js";
import { median, percentile, sleep } from "./lib/stats.js";

// What runs in the page (this build has no DOM types).
declare const document: any;
declare const window: any;
declare const performance: any;
declare const requestAnimationFrame: any;
declare const MutationObserver: any;
declare const Event: any;

const f = flags(3);
const GROUPS = f.smoke ? 5 : 100;
const PER_GROUP = 100; // main and 99 more
const IDENTIFIERS = GROUPS * PER_GROUP;
const RATE = f.smoke ? 20 : 100;
const WRITE_SECONDS = f.smoke ? 1 : 5;

interface Row extends Record<string, unknown> {
  round: number;
  identifiers: number;
  parsedMs: number;
  liveMs: number;
  filterTextMs: number;
  filterNotReadyMs: number;
  filterClearMs: number;
  changes: number;
  latencyP50Ms: number;
  latencyP95Ms: number;
  latencyMaxMs: number;
}

function config(): Record<string, unknown> {
  const groups = Array.from({ length: GROUPS }, (_, g) => ({
    name: `grp-${String(g).padStart(2, "0")}`,
    identifiers: Array.from({ length: PER_GROUP - 1 }, (_, i) => ({ name: `svc-${i + 1}`, status: (i + 1) % 7 === 0 ? -1 : 1, details: `instance ${i + 1}` })),
  }));
  return { http: "127.0.0.1:0", groups, limits: { max_identifiers: IDENTIFIERS + 1_000, max_groups: GROUPS + 10 } };
}

/** Runs in the page: sets a filter control, resolves with ms from the input event to the frame after the redraw. */
async function timeFilter(page: import("playwright-core").Page, control: "text" | "notready", value: string | boolean): Promise<{ ms: number; shown: string }> {
  return page.evaluate(
    async ([control, value]) => {
      const t0 = performance.now();
      if (control === "text") {
        const input = document.getElementById("f-text");
        input.value = value;
        input.dispatchEvent(new Event("input"));
      } else {
        const box = document.getElementById("f-notready");
        box.checked = value;
        box.dispatchEvent(new Event("change"));
      }
      // The page redraws in the next frame; the one after it is when that redraw has been painted.
      await new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)));
      return { ms: performance.now() - t0, shown: document.querySelector('[data-count="shown"]')?.textContent ?? "" };
    },
    [control, value] as [string, string | boolean],
  );
}

async function round(r: number, server: Server, httpAddress: string, browser: Browser, sr: SrClient, names: [string, string][]): Promise<Row> {
  const page = await browser.newPage();
  try {
    await page.goto(`http://${httpAddress}/`, { waitUntil: "domcontentloaded", timeout: 60_000 });
    await page.waitForFunction(
      (n) => window.srPage?.identifiers === n && document.getElementById("conn").dataset.state === "live" && performance.getEntriesByName("sr:snapshot-drawn").length > 0,
      IDENTIFIERS + 1, // core/main too
      { timeout: 60_000 },
    );
    const load = (await page.evaluate(() => {
      const nav = performance.getEntriesByType("navigation")[0];
      return { parsed: nav.domContentLoadedEventEnd, live: performance.getEntriesByName("sr:snapshot-drawn")[0].startTime };
    })) as { parsed: number; live: number };

    const text = await timeFilter(page, "text", "svc-42");
    if (text.shown !== String(GROUPS)) throw new Error(`text filter shows ${text.shown}, not ${GROUPS}`);
    await timeFilter(page, "text", "");
    const notReady = await timeFilter(page, "notready", true);
    const expectedNotReady = GROUPS * Math.floor((PER_GROUP - 1) / 7) + 0; // core/main is ready by now
    if (notReady.shown !== String(expectedNotReady)) throw new Error(`not ready only shows ${notReady.shown}, not ${expectedNotReady}`);
    await timeFilter(page, "notready", false);
    await timeFilter(page, "text", "svc-42");
    const clear = await timeFilter(page, "text", "");

    // Write to screen: statuses ±(1000 + i), so each change is recognisable on the page, its sign
    // kept so that every round (and its filter counts) starts from the same readiness.
    await page.evaluate(() => {
      window.__seen = new Map();
      new MutationObserver((records: any[]) => {
        const at = Date.now();
        for (const record of records)
          for (const node of record.addedNodes) {
            const status = Math.abs(Number(node.querySelector?.(".status b")?.textContent));
            if (status >= 1000 && !window.__seen.has(status)) window.__seen.set(status, at);
          }
      }).observe(document.getElementById("list"), { childList: true, subtree: true });
    });
    const count = RATE * WRITE_SECONDS;
    const sent: number[] = [];
    const base = 1000 + r * count * 2;
    const start = Date.now();
    const calls: Promise<unknown>[] = [];
    for (let i = 0; i < count; i++) {
      const due = start + (i * 1000) / RATE;
      const wait = due - Date.now();
      if (wait > 0) await sleep(wait); // pacing the writer, not synchronisation
      const [group, identifier] = names[(i * 7919) % names.length] as [string, string];
      sent[i] = Date.now();
      const ready = identifier === "main" || Number(identifier.slice(4)) % 7 !== 0;
      calls.push(sr.setStatus({ group, identifier, status: ready ? base + i : -(base + i) }));
    }
    await Promise.all(calls);
    await page.waitForFunction((n) => window.__seen.size >= n, count, { timeout: 30_000 });
    const seen = (await page.evaluate(() => [...window.__seen.entries()])) as [number, number][];
    const latencies = seen.map(([status, at]) => at - (sent[status - base] as number)).sort((a, b) => a - b);
    return {
      round: r,
      identifiers: IDENTIFIERS,
      parsedMs: load.parsed,
      liveMs: load.live,
      filterTextMs: text.ms,
      filterNotReadyMs: notReady.ms,
      filterClearMs: clear.ms,
      changes: count,
      latencyP50Ms: percentile(latencies, 50),
      latencyP95Ms: percentile(latencies, 95),
      latencyMaxMs: latencies.at(-1) ?? 0,
    };
  } finally {
    await page.close();
    void server;
  }
}

const rows: Row[] = [];
const server = await startSr({ config: config() });
const http = (await server.proc.waitForLine(/HTTP listening on (\S+)/)).match[1] as string;
const browser = await launchBrowser();
const sr = new SrClient(server.address);
try {
  const names: [string, string][] = [];
  for (let g = 0; g < GROUPS; g++) for (let i = 0; i < PER_GROUP; i++) names.push([`grp-${String(g).padStart(2, "0")}`, i === 0 ? "main" : `svc-${i}`]);
  for (let r = 0; r < f.rounds; r++) {
    const row = await round(r, server, http, browser, sr, names);
    rows.push(row);
    log(
      `page r${r}: ${IDENTIFIERS} identifiers parsed ${row.parsedMs.toFixed(0)} ms, live ${row.liveMs.toFixed(0)} ms; filter ${row.filterTextMs.toFixed(0)} ms; ` +
        `write to screen p50 ${row.latencyP50Ms.toFixed(0)} ms, p95 ${row.latencyP95Ms.toFixed(0)} ms at ${RATE}/s`,
    );
  }
} finally {
  sr.close();
  await browser.close();
  await server.proc.stop();
}

const medianOf = (key: keyof Row) => median(rows.map((row) => row[key] as number));
const medians: Row = {
  round: -1,
  identifiers: IDENTIFIERS,
  parsedMs: medianOf("parsedMs"),
  liveMs: medianOf("liveMs"),
  filterTextMs: medianOf("filterTextMs"),
  filterNotReadyMs: medianOf("filterNotReadyMs"),
  filterClearMs: medianOf("filterClearMs"),
  changes: RATE * WRITE_SECONDS,
  latencyP50Ms: medianOf("latencyP50Ms"),
  latencyP95Ms: medianOf("latencyP95Ms"),
  latencyMaxMs: medianOf("latencyMaxMs"),
};
const columns: Column<Row>[] = [
  { title: "identifiers", value: (r) => r.identifiers },
  { title: "HTML parsed, ms", value: (r) => r.parsedMs },
  { title: "live, ms", value: (r) => r.liveMs },
  { title: "text filter, ms", value: (r) => r.filterTextMs },
  { title: "not ready only, ms", value: (r) => r.filterNotReadyMs },
  { title: "clear filter, ms", value: (r) => r.filterClearMs },
  { title: `write to screen p50 at ${RATE}/s, ms`, value: (r) => r.latencyP50Ms },
  { title: "p95, ms", value: (r) => r.latencyP95Ms },
  { title: "max, ms", value: (r) => r.latencyMaxMs },
];
publish(f, {
  scenario: "page",
  title: "Status page: 10,000 identifiers in the browser",
  data: { medians, runs: rows },
  body: [
    table(columns, [medians]),
    "",
    `Headless Chromium (Debian's, driven by playwright-core) on the same machine as the server (pinned to core 0; the browser is not pinned). ` +
      `Load: from navigation to the server-rendered HTML parsed, and to live (the /events snapshot applied and drawn). ` +
      `Filters: from the input event to the frame after the redraw, measured in the page. ` +
      `Write to screen: ${RATE * WRITE_SECONDS} SetStatus calls over gRPC at ${RATE}/s, each to the page's row showing it (a MutationObserver's stamp); the target is under 100 ms.`,
  ].join("\n"),
});
