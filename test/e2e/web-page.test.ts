// The chat page in headless Chromium (Debian's chromium, driven by playwright-core) against the real
// CLI: log in, send a message, see the reply rendered from Markdown, reload and see the same history;
// the answer growing as the model writes it; the progress panel while a tool runs and the cancel
// button stopping it; attachments of a reply as a download link (and an image preview).
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { afterTool, lastUserText } from "./fixture.js";
import { until } from "./host-harness.js";
import type { RecordedRequest, ScriptedReply } from "../fakes/openai-server.js";
import { slowReply, startWebE2E, WEB_TOKEN, type WebE2E } from "./web-fixture.js";
import { hostPid } from "../fixtures/host-pid.js";

const CHROMIUM = "/usr/bin/chromium";
const FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"];
const OUTPUT = join(import.meta.dirname, "..", "output");
/** A 1×1 PNG. */
const PNG = Buffer.from("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==", "base64");
const BINARY = Buffer.from(Array.from({ length: 3000 }, (_, i) => (i * 37 + 11) % 256));

async function launch(): Promise<Browser | string> {
  if (!existsSync(CHROMIUM)) return `${CHROMIUM} is not installed (apt-get install chromium)`;
  return chromium.launch({ executablePath: CHROMIUM, args: FLAGS }).catch((err: unknown) => `Chromium cannot start: ${(err as Error).message.split("\n")[0]}`);
}

const said = (req: RecordedRequest) => lastUserText(req).split("\n").at(-1) ?? "";

function reply(req: RecordedRequest): ScriptedReply {
  const text = said(req);
  if (text === "run long") {
    if (afterTool(req)) return { text: "The long job ended." };
    return { toolCalls: [{ name: "shell", arguments: { command: "echo $$ > sleeper.pid; exec sleep 30", wait_ms: 120_000 } }] };
  }
  if (text === "send files") return { text: "Here they are:\n<attachment>pic.png</attachment>\n<attachment>data/blob.bin</attachment>" };
  if (text === "write slowly") return slowReply("This answer is written slowly, piece by piece, so you can watch it grow.", 5, 150);
  return { text: `**Bold** answer to _${text}_ <img src=x onerror="window.pwned=1">` };
}

const browser = await launch();
if (typeof browser === "string") console.warn(`web page test skipped: ${browser}`);

describe.skipIf(typeof browser === "string")("chat page", () => {
  let e2e: WebE2E;
  let conv = "";

  beforeAll(async () => {
    e2e = await startWebE2E(reply);
    await e2e.start();
  }, 60_000);
  afterAll(async () => {
    if (typeof browser !== "string") await browser.close();
    await e2e?.close();
  });

  /** A fresh browser context, logged in, showing the latest conversation. */
  async function openPage(): Promise<Page> {
    const page = await (browser as Browser).newPage();
    await page.goto(e2e.origin);
    await page.fill("#token", WEB_TOKEN);
    await page.click("#login button");
    await page.waitForSelector("#app:not([hidden])");
    return page;
  }

  async function send(page: Page, text: string): Promise<void> {
    await page.fill("#text", text);
    await page.press("#text", "Enter");
  }

  it("sends a message, shows the sanitised Markdown reply, and shows the same history after a reload", async () => {
    const page = await openPage();
    await send(page, "hello page");
    const reply = page.locator(".msg.assistant").first();
    await reply.waitFor({ timeout: 20_000 });
    expect(await reply.locator("strong").textContent()).toBe("Bold");
    expect(await reply.locator("em").textContent()).toBe("hello page");
    expect(await reply.innerHTML()).not.toContain("onerror");
    expect(await page.evaluate(() => (window as unknown as { pwned?: number }).pwned)).toBeUndefined();
    mkdirSync(OUTPUT, { recursive: true });
    await page.screenshot({ path: join(OUTPUT, "web-page.png") });
    conv = new URL(page.url()).hash.slice(1);
    expect(conv).toMatch(/^web-/);

    await page.reload();
    await page.locator(".msg.assistant").first().waitFor();
    expect(await page.locator(".msg.user").allTextContents()).toEqual(["hello page"]);
    expect(await page.locator(".msg.assistant").count()).toBe(1);
    expect(await page.locator("#conversations li").count()).toBe(1);
    await page.close();
  }, 60_000);

  it("shows the answer growing as the model writes it, then the final message in its place", async () => {
    const page = await openPage();
    await send(page, "write slowly");
    const live = page.locator("#live");
    await live.waitFor({ timeout: 20_000 });
    const partial = (await live.textContent()) ?? "";
    const final = "This answer is written slowly, piece by piece, so you can watch it grow.";
    expect(final.startsWith(partial.trim())).toBe(true);
    const last = page.locator(".msg.assistant").last();
    await page.waitForFunction((text) => [...document.querySelectorAll(".msg.assistant")].at(-1)?.textContent?.trim() === text, final, { timeout: 20_000 });
    expect((await last.textContent())?.trim()).toBe(final);
    expect(await live.count()).toBe(0);
    await page.close();
  }, 60_000);

  it("shows the running tool in the progress panel, and the cancel button stops it", async () => {
    const page = await openPage();
    await send(page, "run long");
    await page.waitForFunction(() => /running shell/.test(document.getElementById("progress")?.textContent ?? ""), undefined, { timeout: 20_000 });
    expect(await page.locator("#progress").isVisible()).toBe(true);
    const pidFile = join(e2e.workdir, "conversations", conv, "sleeper.pid");
    const written = Number(await until(() => existsSync(pidFile) && readFileSync(pidFile, "utf8").trim(), 20_000, "the sleep to start"));
    // Written in the command's PID namespace (subprocess mode): the same process as this test sees it.
    const pid = hostPid(written, join(e2e.workdir, "conversations", conv));
    await page.click("#cancel");
    await page.locator(".msg.notice", { hasText: "Cancelled the running turn" }).waitFor({ timeout: 20_000 });
    await page.locator("#progress").waitFor({ state: "hidden", timeout: 20_000 });
    const alive = () => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    await until(() => !alive(), 20_000, `the cancelled tool's process ${pid} to end`);
    expect(await page.locator(".msg.assistant", { hasText: "The long job ended." }).count()).toBe(0);
    await page.close();
  }, 60_000);

  it("shows a reply's attachments as download links (an image also inline) that download the right bytes", async () => {
    for (const [path, bytes] of [["pic.png", PNG], ["data/blob.bin", BINARY]] as const) {
      const res = await e2e.call(`/api/conversations/${conv}/workspace/file?path=${path}`, { method: "POST", body: bytes, headers: { "content-type": "application/octet-stream" } });
      expect(res.status).toBe(201);
    }
    const page = await openPage();
    await send(page, "send files");
    const links = page.locator(".msg.file a.file");
    await page.waitForFunction(() => document.querySelectorAll(".msg.file a.file").length === 2, undefined, { timeout: 20_000 });
    expect(await links.allTextContents()).toEqual(["📎 pic.png", "📎 blob.bin"]);
    await page.waitForFunction(() => (document.querySelector(".msg.file img") as HTMLImageElement | null)?.naturalWidth === 1, undefined, { timeout: 20_000 });
    const [download] = await Promise.all([page.waitForEvent("download"), links.nth(1).click()]);
    expect(download.suggestedFilename()).toBe("blob.bin");
    expect(readFileSync(await download.path())).toEqual(BINARY);
    await page.screenshot({ path: join(OUTPUT, "web-page-files.png") });
    await page.close();
  }, 60_000);
});
