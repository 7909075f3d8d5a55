/**
 * Headless Chromium for the status page's tests: Debian's /usr/bin/chromium
 * driven by playwright-core (`npx playwright install` cannot download a
 * browser here), with the flags below and a fresh profile directory in
 * /dev/shm for every run; screenshots under tmp/screenshots/.
 * A missing browser is a failure that says how to install it, never a skip.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { createServer } from "node:net";
import path from "node:path";
import { type BrowserContext, type Page, chromium } from "playwright-core";
import { repoRoot } from "../../helpers/process.js";

export const CHROMIUM = "/usr/bin/chromium";
export const SCREENSHOTS = path.join(repoRoot, "tmp/screenshots");
const FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];

export interface Browser {
  context: BrowserContext;
  newPage(viewport?: { width: number; height: number }): Promise<Page>;
  close(): Promise<void>;
}

export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: install chromium (apt-get install chromium, or sudo bash scripts/install-browser.sh)`);
  }
  const profile = mkdtempSync(path.join(existsSync("/dev/shm") ? "/dev/shm" : path.join(repoRoot, "tmp"), "sr-page-profile-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: FLAGS,
    viewport: { width: 1280, height: 900 },
    timeout: 20_000,
  });
  mkdirSync(SCREENSHOTS, { recursive: true });
  return {
    context,
    async newPage(viewport) {
      const page = await context.newPage();
      // Within the test's own timeout, so a wait that fails says what it waited for.
      page.setDefaultTimeout(10_000);
      if (viewport) await page.setViewportSize(viewport);
      page.on("pageerror", (error) => console.error("page error:", error));
      return page;
    },
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

export async function screenshot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: false });
}

/** axe-core's source, evaluated in the page (Runtime.evaluate is not subject to the page's CSP). */
export const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");

/** A free loopback port, reserved by binding it once (the server restart test binds it twice). */
export function reservePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => resolve(port));
    });
  });
}

/** Resolves once the page's connection reads `state` (live, disconnected, ...). */
export async function connection(page: Page, state: string, timeout = 10_000): Promise<void> {
  // A function, not a string: the page's CSP forbids eval, which a polled string would need.
  await page.waitForFunction((wanted) => (globalThis as any).document.getElementById("conn")?.dataset.state === wanted, state, { timeout });
}

/** The text of the first element matching `selector`, trimmed. */
export async function textOf(page: Page, selector: string): Promise<string> {
  return ((await page.locator(selector).first().textContent()) ?? "").replace(/\s+/g, " ").trim();
}
