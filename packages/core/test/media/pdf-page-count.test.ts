// Anthropic counts the pages of inlined PDFs with the images against one cap of 100 per request ("Too
// much media: 150 document pages + 0 images > 100"): a conversation holding a 150-page PDF, or PDFs and
// images past 100 together, was refused on every later call until compaction or /new. The newest
// images and PDFs are kept within the 100; an older PDF that no longer fits becomes a note saying how to
// load it again; one PDF over 100 pages alone becomes its extracted text. The fake server counts
// document pages as the API does.
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import sharp from "sharp";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { FileItem, ModelConfig, TranscriptItem, TranscriptMessage } from "@starling/protocol";
import { startFakeAnthropic } from "../../../../test/fakes/anthropic-server.js";
import { startFakeOpenAI } from "../../../../test/fakes/openai-server.js";
import { startFakeResponses } from "../../../../test/fakes/responses-server.js";
import { makePdfPages } from "../../../../test/fixtures/media-files.js";
import { normalizeMessages, PDF_TEXT_HEADER } from "../../src/media/normalize.js";
import { LEFT_OUT_HEADER } from "../../src/media/request-media-cap.js";
import { createProvider } from "../../src/providers/index.js";
import { createModelConfig, createRequest, ENV, message, signal } from "../providers/helpers.js";

let dir: string;
const closers: Array<() => Promise<void>> = [];
const capabilities = ["chat", "image_in", "pdf_in"] as ModelConfig["capabilities"];
const pdf = (name: string): FileItem => ({ type: "file", uri: pathToFileURL(join(dir, name)).href, name, mediaType: "application/pdf" });
const png = (name: string): FileItem => ({ type: "file", uri: pathToFileURL(join(dir, name)).href, name, mediaType: "image/png" });
const turn = (text: string, ...files: FileItem[]): TranscriptMessage => message("user", [{ type: "text", text }, ...files]);

/** Normalises `history` for a Claude model on a fake Anthropic (or OpenRouter, chat or Responses), sends it, and returns what the request carried. */
async function sendToClaude(history: TranscriptMessage[], via: "anthropic" | "openrouter" | "openrouter-responses" = "anthropic"): Promise<{ files: string[]; texts: string[] }> {
  const start = via === "anthropic" ? startFakeAnthropic : via === "openrouter" ? startFakeOpenAI : startFakeResponses;
  const fake = await start({ apiKey: "sk-test-secret-123", replies: [{ text: "Read." }] });
  closers.push(() => fake.close());
  const config =
    via === "anthropic"
      ? createModelConfig(fake.url, { provider_type: "claude_code", model_name: "claude-sonnet-4-5", capabilities })
      : createModelConfig(fake.url, { provider_type: via === "openrouter" ? "open_router_completion" : "open_router_responses", model_name: "anthropic/claude-sonnet-4.5", capabilities });
  const normalized = await normalizeMessages(config, history);
  await createProvider(config, ENV).complete(createRequest(normalized), { signal: signal() });
  const items: TranscriptItem[] = normalized.flatMap((m) => m.content);
  return {
    files: items.flatMap((i) => (i.type === "file" ? [i.name ?? "?"] : [])),
    texts: items.flatMap((i) => (i.type === "text" ? [i.text] : [])),
  };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "starling-pdf-pages-"));
  await writeFile(join(dir, "book.pdf"), makePdfPages(150, "Book"));
  await writeFile(join(dir, "old.pdf"), makePdfPages(60, "Old"));
  await writeFile(join(dir, "new.pdf"), makePdfPages(50, "New"));
  for (let i = 0; i < 3; i++) {
    await writeFile(join(dir, `p${i}.png`), await sharp({ create: { width: 8, height: 8, channels: 3, background: { r: i, g: 0, b: 0 } } }).png().toBuffer());
  }
});

afterEach(async () => {
  while (closers.length) await closers.pop()!();
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("PDF pages in a request to a Claude model", () => {
  it("a 150-page PDF goes as its extracted text, and the later calls are answered", async () => {
    const sent = await sendToClaude([turn("read this", pdf("book.pdf")), message("assistant", [{ type: "text", text: "Done." }]), turn("and page 120?")]);
    expect(sent.files).toEqual([]);
    const text = sent.texts.find((t) => t.startsWith(PDF_TEXT_HEADER));
    expect(text).toContain(`path: ${join(dir, "book.pdf")}`);
    expect(text).toContain("pages: 150");
    expect(text).toContain("reason: the PDF has 150 pages and the model's provider takes at most 100 pages and images in one request; this is the text extracted from it");
    expect(text).toContain("Book page 120");
  });

  it("PDFs and images past 100 together: the newest kept, the older PDF becomes a note saying how to load it again", async () => {
    const history = [turn("old report", pdf("old.pdf")), turn("new report", pdf("new.pdf")), turn("photos", png("p0.png"), png("p1.png"), png("p2.png"))];
    const sent = await sendToClaude(history);
    expect(sent.files).toEqual(["new.pdf", "p0.png", "p1.png", "p2.png"]);
    expect(sent.texts.filter((t) => t.startsWith(LEFT_OUT_HEADER))).toEqual([
      [
        LEFT_OUT_HEADER,
        `path: ${join(dir, "old.pdf")}`,
        "name: old.pdf",
        "media_type: application/pdf",
        "reason: the model's provider takes at most 100 images and PDF pages in one request and newer ones took the room (this PDF has 60 pages); load it again (image_load, pdf_load, audio_load) to look at it in a later step",
      ].join("\n"),
    ]);
  });

  it("a Claude model through OpenRouter: the same count (OpenRouter forwards the PDFs to Anthropic)", async () => {
    const sent = await sendToClaude([turn("old report", pdf("old.pdf")), turn("new report", pdf("new.pdf"))], "openrouter");
    expect(sent.files).toEqual(["new.pdf"]);
    expect(sent.texts.filter((t) => t.startsWith(LEFT_OUT_HEADER))).toEqual([expect.stringContaining("name: old.pdf")]);
  });

  it("other providers get the 150-page PDF inlined (their cap counts images only)", async () => {
    const config = createModelConfig("http://127.0.0.1:1/v1/chat/completions", { model_name: "openai/gpt-5", capabilities });
    const out = await normalizeMessages(config, [turn("read this", pdf("book.pdf"))]);
    expect(out[0]!.content[1]).toMatchObject({ type: "file", name: "book.pdf", mediaType: "application/pdf" });
  });
});

describe("PDFs given by URL to a Claude model (the provider fetches them: their pages are not known here)", () => {
  let site: Server;
  let base: string;
  const urlPdf = (name: string): FileItem => ({ type: "file", uri: `${base}/${name}`, name, mediaType: "application/pdf" });

  beforeAll(async () => {
    site = createServer((req, res) => {
      void readFile(join(dir, (req.url ?? "/").slice(1))).then(
        (bytes) => res.writeHead(200, { "content-type": "application/pdf" }).end(bytes),
        () => res.writeHead(404).end(),
      );
    });
    await new Promise<void>((resolve) => site.listen(0, "127.0.0.1", resolve));
    base = `http://127.0.0.1:${(site.address() as { port: number }).port}`;
  });

  afterAll(async () => {
    await new Promise((resolve) => site.close(resolve));
  });

  it("one counts as the whole 100: an older one with newer media becomes a note with its URL and how to have it counted", async () => {
    const sent = await sendToClaude([turn("old report", urlPdf("old.pdf")), turn("new report", pdf("new.pdf"))]);
    expect(sent.files).toEqual(["new.pdf"]);
    expect(sent.texts.filter((t) => t.startsWith(LEFT_OUT_HEADER))).toEqual([
      [
        LEFT_OUT_HEADER,
        `uri: ${base}/old.pdf`,
        "name: old.pdf",
        "media_type: application/pdf",
        "reason: the model's provider takes at most 100 images and PDF pages in one request and newer ones took the room (a PDF given by URL counts as 100: its pages are not known before the provider fetches it); download it (file_download_start) and load it with pdf_load to have its pages counted",
      ].join("\n"),
    ]);
  });

  it("the newest one is sent, and the older images and PDFs are left out", async () => {
    const history = [turn("photos", png("p0.png"), png("p1.png"), png("p2.png")), turn("new report", pdf("new.pdf")), turn("by link", urlPdf("old.pdf"))];
    const sent = await sendToClaude(history);
    expect(sent.files).toEqual(["old.pdf"]);
    expect(sent.texts.filter((t) => t.startsWith(LEFT_OUT_HEADER))).toHaveLength(4);
  });

  it("through OpenRouter: Responses (file_url) counts it the same; chat completions sends the URL as text, so it takes no room", async () => {
    const history = [turn("old report", urlPdf("old.pdf")), turn("new report", pdf("new.pdf"))];
    const responses = await sendToClaude(history, "openrouter-responses");
    expect(responses.files).toEqual(["new.pdf"]);
    expect(responses.texts.filter((t) => t.startsWith(LEFT_OUT_HEADER))).toEqual([expect.stringContaining(`uri: ${base}/old.pdf`)]);
    const chat = await sendToClaude(history, "openrouter");
    expect(chat.files).toEqual(["old.pdf", "new.pdf"]);
  });
});
