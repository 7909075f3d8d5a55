/**
 * The status page end to end in headless Chromium (browser.ts): what the
 * server renders, live changes set over gRPC, filters, selection and the
 * timeline surviving a reload, a server restart on the same reserved port,
 * axe-core, keyboard reachability, 375 px, 10,000 identifiers, and the token
 * prompt under auth. One browser for the file, the tests one after another.
 */
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SrClient } from "../../../clients/ts/index.js";
import { TOKENS, TOKEN_CONFIG } from "../../helpers/auth.js";
import { type TestServer, startServer } from "../../helpers/server.js";
import { AXE_SOURCE, type Browser, connection, launchBrowser, reservePort, screenshot, textOf } from "./browser.js";

// The page functions below run in the browser (the test build has no DOM types).
declare const document: any;
declare const window: any;
declare const location: any;

let browser: Browser;
let srv: TestServer;
let sr: SrClient;
let httpPort: number;
let base: string;

async function startMain(): Promise<void> {
  srv = await startServer((config) => {
    config.http = `127.0.0.1:${httpPort}`;
  });
  sr = new SrClient(srv.address);
}

beforeAll(async () => {
  browser = await launchBrowser();
  httpPort = await reservePort();
  base = `http://127.0.0.1:${httpPort}`;
  await startMain();
  await sr.registerGroup({ group: "billing", status: -1, details: "warming up" });
  await sr.registerIdentifier({ group: "billing", identifier: "db", reportCapacity: 20 });
  await sr.registerIdentifier({ group: "billing", identifier: "cache" });
  await sr.addReport({ group: "billing", identifier: "db", text: "connected to primary" });
  await sr.registerGroup({ group: "media" });
}, 60_000);

afterAll(async () => {
  sr?.close();
  await srv?.stop();
  await browser?.close();
});

/** A row's locator by group/identifier key. */
const row = (page: Page, key: string) => page.locator(`li[data-key="${key}"]`);

describe.sequential("the status page", () => {
  it("is rendered whole by the server, then shows a status set over gRPC without a reload", async () => {
    // Before any script: the HTML alone holds the state.
    const html = await (await fetch(`${base}/`)).text();
    expect(html).toContain('data-key="billing/db"');
    expect(html).toMatch(/<b data-count="notready">\d+<\/b> not ready/);
    expect(html).toContain('<span class="tag">internal</span>'); // core
    const page = await browser.newPage();
    await page.goto(`${base}/`);
    await connection(page, "live");
    await page.evaluate("window.__samePage = true");
    expect(await textOf(page, 'li[data-key="billing/db"] .badge')).toBe("✓ready");
    expect(await textOf(page, 'section[data-group="core"] .tag')).toBe("internal");
    await sr.setStatus({ group: "billing", identifier: "db", status: -5, details: "disk full" });
    await page.waitForFunction(() => document.querySelector('li[data-key="billing/db"]')?.classList.contains("notready"));
    expect(await textOf(page, 'li[data-key="billing/db"]')).toContain("not ready");
    expect(await textOf(page, 'li[data-key="billing/db"] .details')).toBe("disk full");
    expect(await textOf(page, 'section[data-group="billing"] .group-counts')).toBe("1 of 3 ready");
    expect(await page.evaluate("window.__samePage")).toBe(true);
    // A registration and a removal too.
    await sr.registerIdentifier({ group: "media", identifier: "encoder", status: -2, details: "no GPU" });
    await row(page, "media/encoder").waitFor();
    await sr.unregisterIdentifier({ group: "media", identifier: "encoder" });
    await row(page, "media/encoder").waitFor({ state: "detached" });
    // A lease: its ttl while armed, and "expired" once it ran out (the server's own write, seen live).
    await sr.registerIdentifier({ group: "media", identifier: "worker", status: 1, ttl: { seconds: 1n, nanos: 0 } });
    await page.waitForFunction(() => /lease 1s, expires in/.test(document.querySelector('li[data-key="media/worker"] .lease')?.textContent ?? ""));
    await page.waitForFunction(() => document.querySelector('li[data-key="media/worker"] .lease')?.textContent === "lease 1s, expired", undefined, { timeout: 5_000 });
    expect(await textOf(page, 'li[data-key="media/worker"] .details')).toBe("lease expired");
    expect(await textOf(page, 'li[data-key="media/worker"] .badge')).toBe("✕not ready");
    await screenshot(page, "live-change");
    await page.close();
  });

  it("filters, selects and shows the timeline, and a reload keeps all of it through the URL", async () => {
    await sr.setStatus({ group: "billing", identifier: "db", status: -5, details: "disk full" });
    const page = await browser.newPage();
    await page.goto(`${base}/`);
    await connection(page, "live");
    await page.selectOption("#f-group", "billing");
    await page.fill("#f-text", "d");
    await page.check("#f-notready");
    // billing: db (-5, "disk full") is not ready and has a "d"; main (-1, "warming up") has none; cache is ready.
    await page.waitForFunction(() => document.querySelector('[data-count="shown"]')?.textContent === "1");
    expect(await row(page, "billing/cache").isHidden()).toBe(true);
    expect(await row(page, "billing/main").isHidden()).toBe(true);
    expect(await row(page, "billing/db").isVisible()).toBe(true);
    expect(await page.locator('section[data-group="media"]').isHidden()).toBe(true);
    await page.click('li[data-key="billing/db"] a.name');
    await page.locator("#detail h2").waitFor();
    expect(await textOf(page, "#detail h2")).toBe("billing / db");
    expect(await textOf(page, "#detail .timeline")).toContain("connected to primary");
    await sr.addReport({ group: "billing", identifier: "db", text: "rotated the logs" });
    await page.waitForFunction(() => document.querySelector("#detail .timeline li")?.textContent.includes("rotated the logs"));
    await sr.setStatus({ group: "billing", identifier: "db", status: -6, details: "still full" });
    await page.waitForFunction(() => [...document.querySelectorAll("#detail .timeline")].some((t) => t.textContent.includes("-5 → -6")));
    const url = new URL(page.url());
    expect(Object.fromEntries(url.searchParams)).toEqual({ group: "billing", q: "d", notready: "1", sel: "billing/db" });
    await screenshot(page, "detail");

    await page.reload();
    await connection(page, "live");
    expect(await page.inputValue("#f-text")).toBe("d");
    expect(await page.isChecked("#f-notready")).toBe(true);
    expect(await page.inputValue("#f-group")).toBe("billing");
    expect(await textOf(page, "#detail h2")).toBe("billing / db");
    const timeline = await textOf(page, "#detail .timeline");
    expect(timeline.indexOf("rotated the logs")).toBeLessThan(timeline.indexOf("connected to primary")); // newest first
    expect(await textOf(page, '[data-count="shown"]')).toBe("1");
    // Closing the detail keeps the filters.
    await page.click("#detail a.close");
    await page.locator("#detail").waitFor({ state: "detached" });
    expect(Object.fromEntries(new URL(page.url()).searchParams)).toEqual({ group: "billing", q: "d", notready: "1" });
    await page.close();
  });

  it("shows a server restart on the same port as disconnected, then recovers by itself", async () => {
    const page = await browser.newPage();
    await page.goto(`${base}/`);
    await connection(page, "live");
    sr.close();
    await srv.stop();
    await connection(page, "disconnected");
    expect(await textOf(page, "#conn")).toMatch(/^Disconnected/);
    await screenshot(page, "disconnected");
    await startMain();
    await sr.registerGroup({ group: "after-restart", status: 1, details: "fresh registry" });
    // A new registry: its id differs, so the page gets a fresh snapshot (resync) and drops what is gone.
    await row(page, "after-restart/main").waitFor({ timeout: 15_000 });
    await connection(page, "live");
    expect(await row(page, "billing/db").count()).toBe(0);
    await sr.registerGroup({ group: "billing", status: -1, details: "warming up" });
    await sr.registerIdentifier({ group: "billing", identifier: "db", reportCapacity: 20, details: "x".repeat(300) });
    await sr.addReport({ group: "billing", identifier: "db", text: `a long report ${"without-any-space-".repeat(20)}` });
    await row(page, "billing/db").waitFor();
    await page.close();
  });

  it("has no serious accessibility violations (axe-core), light and dark", async () => {
    for (const scheme of ["light", "dark"] as const) {
      const page = await browser.newPage();
      await page.emulateMedia({ colorScheme: scheme });
      await page.goto(`${base}/?sel=billing%2Fdb`);
      await connection(page, "live");
      await page.locator("#detail").waitFor();
      await page.evaluate(AXE_SOURCE);
      const violations = (await page.evaluate(`axe.run(document, { resultTypes: ["violations"] }).then((r) =>
        r.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.slice(0, 3).map((n) => n.target.join(" ")) })))`)) as {
        id: string;
        impact: string;
      }[];
      const serious = violations.filter((v) => v.impact === "serious" || v.impact === "critical");
      expect(serious, `${scheme}: ${JSON.stringify(serious)}`).toEqual([]);
      await screenshot(page, `axe-${scheme}`);
      await page.close();
    }
  });

  it("lets every control be reached and used by keyboard", async () => {
    const page = await browser.newPage();
    await page.goto(`${base}/`);
    await connection(page, "live");
    // Nothing focusable is taken out of the tab order.
    expect(await page.evaluate(`[...document.querySelectorAll("a[href], button, input, select")].filter((e) => e.tabIndex < 0 || e.disabled).length`)).toBe(0);
    const reached = new Set<string>();
    for (let i = 0; i < 40; i++) {
      await page.keyboard.press("Tab");
      reached.add(
        (await page.evaluate(`(() => { const e = document.activeElement; return e.id || (e.closest("li[data-key]")?.dataset.key ?? e.className ?? e.tagName); })()`)) as string,
      );
    }
    for (const control of ["f-group", "f-text", "f-notready", "f-apply", "billing/db", "core/main", "after-restart/main"]) expect([...reached], control).toContain(control);
    // The skip link comes first and leads to the list.
    await page.goto(`${base}/`);
    await connection(page, "live");
    await page.keyboard.press("Tab");
    expect(await page.evaluate("document.activeElement.className")).toBe("skip");
    // A row opens its detail with Enter, focus moves there, and Close is next in line.
    await page.focus('li[data-key="billing/db"] a.name');
    await page.keyboard.press("Enter");
    await page.waitForFunction(() => document.activeElement?.id === "detail");
    await page.keyboard.press("Tab");
    expect(await page.evaluate("document.activeElement.classList.contains('close')")).toBe(true);
    await page.keyboard.press("Enter");
    await page.locator("#detail").waitFor({ state: "detached" });
    expect(await page.evaluate(`document.activeElement.closest("li")?.dataset.key`)).toBe("billing/db");
    // The filter controls work from the keyboard alone.
    await page.focus("#f-notready");
    await page.keyboard.press("Space");
    await page.waitForFunction(() => new URL(location.href).searchParams.get("notready") === "1");
    await page.close();
  });

  it("fits a 375 px wide screen without overflowing", async () => {
    const page = await browser.newPage({ width: 375, height: 812 });
    await page.goto(`${base}/?sel=billing%2Fdb`);
    await connection(page, "live");
    await page.locator("#detail").waitFor();
    const overflow = await page.evaluate(`(() => {
      const width = document.documentElement.clientWidth;
      const wide = [...document.querySelectorAll("body *")].filter((e) => {
        const r = e.getBoundingClientRect();
        return r.width > 0 && r.right > width + 0.5;
      }).map((e) => e.tagName + "." + e.className).slice(0, 5);
      return { width, scroll: document.documentElement.scrollWidth, wide };
    })()`);
    expect(overflow).toEqual({ width: 375, scroll: 375, wide: [] });
    await screenshot(page, "narrow-375");
    await page.close();
  });
});

describe.sequential("the status page at scale and under auth", () => {
  it("loads 10,000 identifiers and filters them (counts asserted)", async () => {
    const big = await startServer((config) => {
      config.http = "127.0.0.1:0";
    });
    try {
      // 100 groups of main + 99 identifiers; every 7th not ready.
      for (let g = 0; g < 100; g++) {
        const group = `grp-${String(g).padStart(2, "0")}`;
        big.registry.registerGroup({ group });
        for (let j = 1; j < 100; j++) big.registry.registerIdentifier({ group, identifier: `svc-${j}`, status: j % 7 === 0 ? -1 : 1, details: `instance ${j}` });
      }
      const notReady = 100 * 14; // j = 7, 14, ..., 98 in each group
      const page = await browser.newPage();
      const started = Date.now();
      await page.goto(`http://${big.httpAddress}/`);
      await page.waitForFunction(() => window.srPage?.identifiers === 10001 && document.getElementById("conn").dataset.state === "live", undefined, { timeout: 20_000 });
      const loaded = Date.now() - started;
      // 10,000 plus core/main.
      expect(await textOf(page, '[data-count="identifiers"]')).toBe("10001");
      expect(await textOf(page, '[data-count="notready"]')).toBe(String(notReady));
      expect(await textOf(page, '[data-count="groups"]')).toBe("101");
      const filterTo = async (fill: () => Promise<unknown>, shown: number) => {
        const t = Date.now();
        await fill();
        await page.waitForFunction((n) => document.querySelector('[data-count="shown"]')?.textContent === String(n), shown, { timeout: 10_000 });
        expect(await page.locator("li.row:not([hidden])").count()).toBe(shown);
        return Date.now() - t;
      };
      const text = await filterTo(() => page.fill("#f-text", "svc-42"), 100);
      await filterTo(() => page.check("#f-notready"), 100);
      await filterTo(() => page.fill("#f-text", "svc-43"), 0);
      await filterTo(() => page.fill("#f-text", ""), notReady);
      await filterTo(() => page.selectOption("#f-group", "grp-05"), 14);
      await filterTo(() => page.uncheck("#f-notready"), 100);
      console.log(`10,000 identifiers: loaded and live in ${loaded} ms, text filter in ${text} ms`);
      await page.close();
    } finally {
      await big.stop();
    }
  }, 60_000);

  it("asks for a token under auth, keeps it for the tab, and reads with an Authorization header", async () => {
    const authed = await startServer((config) => {
      config.http = "127.0.0.1:0";
      config.tokens = TOKEN_CONFIG;
    });
    try {
      authed.registry.registerGroup({ group: "secret", status: -1, details: "hidden until a token" });
      const page = await browser.newPage();
      const url = `http://${authed.httpAddress}/`;
      await page.goto(url);
      await page.locator("#token-form").waitFor();
      expect(await page.locator('li[data-key="secret/main"]').count()).toBe(0);
      expect(await page.evaluate("document.activeElement.id")).toBe("token");
      await screenshot(page, "token-prompt");
      await page.fill("#token", "not-a-token");
      await page.keyboard.press("Enter");
      await page.waitForFunction(() => document.getElementById("token-error")?.textContent.includes("refused"));
      await page.fill("#token", TOKENS.dash);
      await page.click("#token-form button");
      await connection(page, "live");
      await row(page, "secret/main").waitFor();
      expect(await page.locator("#token-form").isHidden()).toBe(true);
      expect(await page.evaluate(`sessionStorage.getItem("sr-token")`)).toBe(TOKENS.dash);
      // A change arrives over the header-authenticated stream.
      authed.registry.setStatus({ group: "secret", identifier: "", status: 1, details: "ready now" });
      await page.waitForFunction(() => document.querySelector('li[data-key="secret/main"]')?.classList.contains("ready"));
      // The token is kept for the tab: a reload asks nothing.
      await page.reload();
      await connection(page, "live");
      await row(page, "secret/main").waitFor();
      expect(await page.locator("#token-form").isHidden()).toBe(true);
      await page.close();
    } finally {
      await authed.stop();
    }
  }, 60_000);
});
