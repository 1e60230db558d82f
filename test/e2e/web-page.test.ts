// The chat page in headless Chromium (Debian's chromium, driven by playwright-core) against the real
// CLI: log in, send a message, see the reply rendered from Markdown, reload and see the same history.
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { chromium, type Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { lastUserText } from "./fixture.js";
import { startWebE2E, WEB_TOKEN, type WebE2E } from "./web-fixture.js";

const CHROMIUM = "/usr/bin/chromium";
const FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"];
const OUTPUT = join(import.meta.dirname, "..", "output");

async function launch(): Promise<Browser | string> {
  if (!existsSync(CHROMIUM)) return `${CHROMIUM} is not installed (apt-get install chromium)`;
  return chromium.launch({ executablePath: CHROMIUM, args: FLAGS }).catch((err: unknown) => `Chromium cannot start: ${(err as Error).message.split("\n")[0]}`);
}

const browser = await launch();
if (typeof browser === "string") console.warn(`web page test skipped: ${browser}`);

describe.skipIf(typeof browser === "string")("chat page", () => {
  let e2e: WebE2E;

  beforeAll(async () => {
    e2e = await startWebE2E((req) => ({ text: `**Bold** answer to _${lastUserText(req).split("\n").at(-1)}_ <img src=x onerror="window.pwned=1">` }));
    await e2e.start();
  }, 60_000);
  afterAll(async () => {
    if (typeof browser !== "string") await browser.close();
    await e2e?.close();
  });

  it("sends a message, shows the sanitised Markdown reply, and shows the same history after a reload", async () => {
    const page = await (browser as Browser).newPage();
    await page.goto(e2e.origin);
    await page.fill("#token", WEB_TOKEN);
    await page.click("#login button");
    await page.waitForSelector("#app:not([hidden])");
    await page.fill("#text", "hello page");
    await page.press("#text", "Enter");
    const reply = page.locator(".msg.assistant").first();
    await reply.waitFor({ timeout: 20_000 });
    expect(await reply.locator("strong").textContent()).toBe("Bold");
    expect(await reply.locator("em").textContent()).toBe("hello page");
    expect(await reply.innerHTML()).not.toContain("onerror");
    expect(await page.evaluate(() => (window as unknown as { pwned?: number }).pwned)).toBeUndefined();
    mkdirSync(OUTPUT, { recursive: true });
    await page.screenshot({ path: join(OUTPUT, "web-page.png") });

    await page.reload();
    await page.locator(".msg.assistant").first().waitFor();
    expect(await page.locator(".msg.user").allTextContents()).toEqual(["hello page"]);
    expect(await page.locator(".msg.assistant").count()).toBe(1);
    expect(await page.locator("#conversations li").count()).toBe(1);
    await page.close();
  }, 60_000);
});
