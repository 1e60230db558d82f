// A PDF or image given by URL is fetched by the provider, not by us (docs/SECURITY.md "Media files"), so a
// PDF of more than 100 pages, an image over Anthropic's limits or a URL it cannot fetch is refused by the
// provider. The refused file stayed in the history and was sent again, and refused again, on every later
// call of the conversation until compaction or /new. Now the worker puts a note in its place (how to
// download and load it instead) and retries once; the note is stored with the turn, so later turns,
// also in a restarted worker, do not send the URL again. The fakes fetch URLs as Anthropic does.
import { createServer, type Server } from "node:http";
import sharp from "sharp";
import { describe, expect, it } from "vitest";
import type { ContentItem } from "@starling/protocol";
import { startFakeAnthropic } from "../fakes/anthropic-server.js";
import { startFakeOpenAI } from "../fakes/openai-server.js";
import { startFakeResponses } from "../fakes/responses-server.js";
import type { BaseReply, RecordedRequest } from "../fakes/scripted-server.js";
import { makePdfPages } from "../fixtures/media-files.js";
import type { WorkerUnderTest } from "./harness.js";
import { wireEnv, type WireModel } from "./wire-env.js";

/** A site serving the test's files (what a user would link to); unknown paths are 404. */
async function site(ctx: { onTestFinished: (fn: () => Promise<void>) => void }, files: Record<string, { type: string; bytes: Buffer }>): Promise<string> {
  const server: Server = createServer((req, res) => {
    const file = files[(req.url ?? "/").slice(1)];
    if (!file) return void res.writeHead(404).end();
    res.writeHead(200, { "content-type": file.type }).end(file.bytes);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  ctx.onTestFinished(() => new Promise((resolve) => server.close(() => resolve())));
  return `http://127.0.0.1:${(server.address() as { port: number }).port}`;
}

/** Sends one user message and returns how its turn ended: the answer's text, or the failure's message. */
async function say(worker: WorkerUnderTest, id: string, content: ContentItem[]): Promise<string> {
  const since = worker.mark();
  await worker.client.enqueue({ messageId: id, kind: "user", message: { role: "user", content } });
  // Of this message's turn: a restarted worker sends again the events of the last turn not yet acknowledged.
  const completed = worker.waitForEvent("turn_completed", (e) => e.messageIds?.includes(id) === true, { since, timeoutMs: 20_000 });
  const failed = worker.waitForEvent("turn_failed", (e) => e.messageIds?.includes(id) === true, { since, timeoutMs: 20_000 });
  void completed.catch(() => undefined);
  void failed.catch(() => undefined);
  const end = await Promise.race([completed, failed]);
  return end.type === "turn_completed" ? end.message.content.map((i) => (i.type === "text" ? i.text : "")).join("") : `failed: ${end.error.message}`;
}

/** Does the request carry `url` as a file for the provider to fetch (a whole JSON string: the note only mentions it)? */
const sendsUrl = (req: RecordedRequest, url: string): boolean => JSON.stringify(req.body).includes(JSON.stringify(url));
const notesOf = (req: RecordedRequest): string[] => (JSON.stringify(req.body).match(/\[File left out of this request\][^"]*/g) ?? []).map((n) => JSON.parse(`"${n}"`) as string);

type Case = { name: string; model: WireModel<BaseReply>; file: { name: string; type: string; bytes: () => Promise<Buffer> }; refusal: string; again: string };

/** Every call is answered "Answer <n>." (n: its index among the requests), unless the fake refuses it first. */
const answer = (_req: RecordedRequest, i: number) => ({ text: `Answer ${i}.` });
const anthropic = { providerType: "claude_code", modelName: "claude-sonnet-4-5", startFake: () => startFakeAnthropic({ apiKey: "test-key", responder: answer }) } as WireModel<BaseReply>;

const bigPdf = { name: "book.pdf", type: "application/pdf", bytes: async () => makePdfPages(150, "Book") };
const widePng = { name: "wide.png", type: "image/png", bytes: () => sharp({ create: { width: 8400, height: 8, channels: 3, background: { r: 9, g: 9, b: 9 } } }).png().toBuffer() };
const pdfAgain = "download it (file_download_start) and load it with pdf_load to have its pages counted";
const imageAgain = "download it (file_download_start) and load it with image_load to look at it";

const cases: Case[] = [
  {
    name: "claude_code, a 150-page PDF",
    model: anthropic,
    file: bigPdf,
    refusal: "Too much media: 150 document pages + 0 images > 100",
    again: pdfAgain,
  },
  {
    name: "claude_code, an 8400 px image",
    model: anthropic,
    file: widePng,
    refusal: "messages.0.content.1.image.source.url.data: At least one of the image dimensions exceed max allowed size: 8000 pixels",
    again: imageAgain,
  },
  {
    name: "a Claude model through OpenRouter chat completions, an 8400 px image",
    model: { providerType: "open_router_completion", modelName: "anthropic/claude-sonnet-4.5", startFake: () => startFakeOpenAI({ apiKey: "test-key", responder: answer }) } as WireModel<BaseReply>,
    file: widePng,
    refusal: "Anthropic (through OpenRouter): messages.1.content.1.image.source.url.data: At least one of the image dimensions exceed max allowed size: 8000 pixels",
    again: imageAgain,
  },
  {
    name: "a Claude model through OpenRouter Responses, a 150-page PDF",
    model: { providerType: "open_router_responses", modelName: "anthropic/claude-sonnet-4.5", startFake: () => startFakeResponses({ apiKey: "test-key", responder: answer }) } as WireModel<BaseReply>,
    file: bigPdf,
    refusal: "Anthropic (through OpenRouter): Too much media: 150 document pages + 0 images > 100",
    again: pdfAgain,
  },
];

describe.concurrent("a file given by URL that the provider refuses", () => {
  for (const c of cases) {
    it(`${c.name}: the turn is answered with a note in its place, and no later turn sends it (also after kill -9)`, { timeout: 60_000 }, async (ctx) => {
      const base = await site(ctx, { [c.file.name]: { type: c.file.type, bytes: await c.file.bytes() } });
      const url = `${base}/${c.file.name}`;
      const env = await wireEnv(ctx, c.model);
      const start = () => env.start({ model: { capabilities: ["chat", "image_in", "pdf_in"] } });
      const first = await start();

      // Every turn's outcome first: before, the refusal came back on each one (the conversation was wedged).
      const outcomes = [await say(first, "m1", [{ type: "text", text: "read this" }, { type: "file", uri: url, name: c.file.name, mediaType: c.file.type }])];
      outcomes.push(await say(first, "m2", [{ type: "text", text: "and now?" }]));
      first.client.kill("SIGKILL");
      await first.exited();
      const second = await start();
      outcomes.push(await say(second, "m3", [{ type: "text", text: "still there?" }]));
      expect(outcomes).toEqual(["Answer 1.", "Answer 2.", "Answer 3."]);

      const [refused, retried] = env.fake.requests;
      expect(sendsUrl(refused!, url), "the first request sent the URL").toBe(true);
      expect(sendsUrl(retried!, url), "the retry did not").toBe(false);
      const [note] = notesOf(retried!);
      expect(note).toContain(`uri: ${url}`);
      expect(note).toContain(`reason: the model's provider refused it (${c.refusal}`);
      expect(note).toContain(c.again);

      const requests = env.fake.requests;
      expect(requests.length, "one refused call, then one per turn").toBe(4);
      expect(requests.map((r) => sendsUrl(r, url))).toEqual([true, false, false, false]);
      expect(notesOf(requests.at(-1)!)).toEqual([note]);
      expect(second.eventsOf("turn_failed")).toEqual([]);
      expect(first.eventsOf("turn_failed")).toEqual([]);
    });
  }

  it("a refusal naming the URL it could not fetch: that file becomes the note, the other file by URL is still sent", { timeout: 60_000 }, async (ctx) => {
    const small = await sharp({ create: { width: 8, height: 8, channels: 3, background: { r: 1, g: 2, b: 3 } } }).png().toBuffer();
    const base = await site(ctx, { "small.png": { type: "image/png", bytes: small } });
    const env = await wireEnv(ctx, anthropic);
    const worker = await env.start({ model: { capabilities: ["chat", "image_in"] } });
    const image = (name: string): ContentItem => ({ type: "file", uri: `${base}/${name}`, name, mediaType: "image/png" });

    // The newest is the one that can be fetched: the choice follows the URL the refusal names, not the order.
    expect(await say(worker, "m1", [{ type: "text", text: "two pictures" }, image("gone.png"), image("small.png")])).toBe("Answer 1.");
    const retried = env.fake.requests.at(-1)!;
    expect(sendsUrl(retried, `${base}/small.png`)).toBe(true);
    expect(sendsUrl(retried, `${base}/gone.png`)).toBe(false);
    expect(notesOf(retried)).toEqual([expect.stringContaining(`uri: ${base}/gone.png`)]);
    expect(notesOf(retried)[0]).toContain(`Unable to download the file from ${base}/gone.png`);
    expect(env.fake.requests).toHaveLength(2);
  });

  it("a second refusal in the retried call fails the turn, which still stores the first note; the next turn replaces the second", { timeout: 60_000 }, async (ctx) => {
    const base = await site(ctx, {});
    const env = await wireEnv(ctx, anthropic);
    const start = () => env.start({ model: { capabilities: ["chat", "image_in"] } });
    const image = (name: string): ContentItem => ({ type: "file", uri: `${base}/${name}`, name, mediaType: "image/png" });
    const first = await start();

    const outcomes = [await say(first, "m1", [{ type: "text", text: "two pictures" }, image("gone1.png"), image("gone2.png")])];
    first.client.kill("SIGKILL");
    await first.exited();
    const second = await start();
    outcomes.push(await say(second, "m2", [{ type: "text", text: "again" }]));
    outcomes.push(await say(second, "m3", [{ type: "text", text: "and again" }]));
    expect(outcomes).toEqual([`failed: HTTP 400 from ${env.fake.url}: Unable to download the file from ${base}/gone2.png. Please verify the URL and try again.`, "Answer 3.", "Answer 4."]);
    // m1: refused for gone1, retried and refused for gone2; m2 (a new worker): gone1 stays a note, refused for gone2 once.
    expect(env.fake.requests.map((r) => [sendsUrl(r, `${base}/gone1.png`), sendsUrl(r, `${base}/gone2.png`)])).toEqual([
      [true, true],
      [false, true],
      [false, true],
      [false, false],
      [false, false],
    ]);
  });
});
