// Images within 8000 px that Anthropic still refuses (over 5 MB of base64; over 2000 px in a request of
// more than 20 images) are fitted before the request goes out: the fake Anthropic server refuses them as
// the API does, and a refused image in history would fail every later call of the conversation.
import { randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import sharp from "sharp";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { FileItem, ModelConfig, TranscriptMessage } from "@starling/protocol";
import { startFakeAnthropic, type FakeAnthropic } from "../../../../test/fakes/anthropic-server.js";
import { startFakeOpenAI } from "../../../../test/fakes/openai-server.js";
import { startFakeResponses } from "../../../../test/fakes/responses-server.js";
import { normalizeMessages } from "../../src/media/normalize.js";
import { createProvider } from "../../src/providers/index.js";
import { createModelConfig, createRequest, ENV, message, signal } from "../providers/helpers.js";

let dir: string;
let fake: FakeAnthropic | undefined;
const file = (name: string, mediaType: string): FileItem => ({ type: "file", uri: pathToFileURL(join(dir, name)).href, name, mediaType });
const claude = (url: string, extra: Partial<ModelConfig> = {}): ModelConfig =>
  createModelConfig(url, { provider_type: "claude_code", model_name: "claude-sonnet-4-5", capabilities: ["chat", "image_in"], ...extra });
/** A photo-like worst case for JPEG: every pixel random. */
const noiseJpeg = (width: number, height: number, quality: number): Promise<Buffer> =>
  sharp(randomBytes(width * height * 3), { raw: { width, height, channels: 3 } }).jpeg({ quality }).toBuffer();

interface SentImage {
  mediaType: string;
  base64Chars: number;
  width: number;
  height: number;
}

/** Normalises `messages` for `config`, sends them to the fake Anthropic server and returns the images it got. */
async function sendToClaude(config: ModelConfig, messages: TranscriptMessage[]): Promise<SentImage[]> {
  await createProvider(config, ENV).complete(createRequest(await normalizeMessages(config, messages)), { signal: signal() });
  const body = fake!.requests.at(-1)!.body as { messages: Array<{ content: Array<{ type: string; source?: { media_type: string; data: string } }> }> };
  const blocks = body.messages.flatMap((m) => m.content).filter((b) => b.type === "image");
  return Promise.all(
    blocks.map(async ({ source }) => {
      const meta = await sharp(Buffer.from(source!.data, "base64")).metadata();
      return { mediaType: source!.media_type, base64Chars: source!.data.length, width: meta.width!, height: meta.height! };
    }),
  );
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "starling-provider-images-"));
  await writeFile(join(dir, "photo.jpg"), await noiseJpeg(2400, 1700, 97));
  await writeFile(join(dir, "wide.png"), await sharp({ create: { width: 2600, height: 400, channels: 3, background: "#3366cc" } }).png().toBuffer());
  await writeFile(join(dir, "panorama.png"), await sharp({ create: { width: 8400, height: 300, channels: 3, background: "#cc6633" } }).png().toBuffer());
  await writeFile(join(dir, "small.gif"), await sharp({ create: { width: 64, height: 48, channels: 3, background: "#33cc66" } }).gif().toBuffer());
});

afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("images an Anthropic model would refuse", () => {
  it("a photo over 5 MB of base64 is re-encoded under it, at its size, and the request is accepted", async () => {
    fake = await startFakeAnthropic({ apiKey: "sk-test-secret-123", replies: [{ text: "A noisy photo." }] });
    const sent = await sendToClaude(claude(fake.url), [message("user", [{ type: "text", text: "what is this?" }, file("photo.jpg", "image/jpeg")])]);
    expect(sent).toHaveLength(1);
    expect(sent[0]!.base64Chars).toBeLessThanOrEqual(5 * 1024 * 1024);
    expect(sent[0]).toMatchObject({ mediaType: "image/jpeg", width: 2400, height: 1700 });
  });

  it("a model taking only PNG gets the photo as a smaller PNG under 5 MB", async () => {
    fake = await startFakeAnthropic({ apiKey: "sk-test-secret-123", replies: [{ text: "A noisy photo." }] });
    const pngOnly = claude(fake.url, { multimodal_input: { image: { transport: "inline_base64", supported_media_types: ["image/png"] } } });
    const [png] = await sendToClaude(pngOnly, [message("user", [file("photo.jpg", "image/jpeg")])]);
    expect(png!.mediaType).toBe("image/png");
    expect(png!.base64Chars).toBeLessThanOrEqual(5 * 1024 * 1024);
    expect(png!.width / png!.height).toBeCloseTo(2400 / 1700, 1);
  });

  it("in a request of more than 20 images each is shrunk to 2000 px; with 20 they keep their size", async () => {
    fake = await startFakeAnthropic({ apiKey: "sk-test-secret-123", replies: [{ text: "Twenty." }, { text: "Twenty-one." }] });
    const turns = (n: number) => Array.from({ length: n }, (_, i) => message("user", [{ type: "text", text: `picture ${i}` }, file("wide.png", "image/png")]));
    const twenty = await sendToClaude(claude(fake.url), turns(20));
    expect(twenty.map((s) => `${s.width}x${s.height}`)).toEqual(Array(20).fill("2600x400"));
    const many = await sendToClaude(claude(fake.url), turns(21));
    expect(many.map((s) => `${s.width}x${s.height}`)).toEqual(Array(21).fill("2000x308"));
  });

  it("a Claude model through OpenRouter gets the same fitting (OpenRouter forwards its images to Anthropic)", async () => {
    const chat = await startFakeOpenAI({ apiKey: "sk-test-secret-123", replies: [{ text: "Seen." }] });
    const responses = await startFakeResponses({ apiKey: "sk-test-secret-123", replies: [{ text: "Seen." }] });
    try {
      const history = [message("user", [file("photo.jpg", "image/jpeg")]), ...Array.from({ length: 21 }, () => message("user", [file("wide.png", "image/png")]))];
      for (const [url, provider_type] of [[chat.url, "open_router_completion"], [responses.url, "open_router_responses"]] as const) {
        const config = createModelConfig(url, { provider_type, model_name: "anthropic/claude-sonnet-4.5", capabilities: ["chat", "image_in"] });
        const normalized = await normalizeMessages(config, history);
        await createProvider(config, ENV).complete(createRequest(normalized), { signal: signal() });
        const uris = normalized.flatMap((m) => m.content).map((i) => (i.type === "file" ? i.uri : ""));
        expect(uris[0]!.length - uris[0]!.indexOf(",") - 1).toBeLessThanOrEqual(5 * 1024 * 1024);
        const wide = await sharp(Buffer.from(uris[1]!.slice(uris[1]!.indexOf(",") + 1), "base64")).metadata();
        expect(`${wide.width}x${wide.height}`).toBe("2000x308");
      }
    } finally {
      await chat.close();
      await responses.close();
    }
  });

  it("other providers get the same images as they are (they refuse neither)", async () => {
    const openai = createModelConfig("http://127.0.0.1:1/v1/chat/completions", { capabilities: ["chat", "image_in"] });
    const history = [
      message("user", [file("photo.jpg", "image/jpeg")]),
      ...Array.from({ length: 21 }, () => message("user", [file("wide.png", "image/png")])),
    ];
    const out = await normalizeMessages(openai, history);
    const uris = out.flatMap((m) => m.content).map((i) => (i.type === "file" ? i.uri : ""));
    const bytesOf = (uri: string) => Buffer.from(uri.slice(uri.indexOf(",") + 1), "base64");
    expect(bytesOf(uris[0]!).length).toBeGreaterThan((5 * 1024 * 1024 * 3) / 4);
    expect((await sharp(bytesOf(uris[1]!)).metadata()).width).toBe(2600);
  });
});

describe("a file_reference image transport (the file sent as it is) to an Anthropic model", () => {
  const asIs = { multimodal_input: { image: { transport: "file_reference" as const } } };

  it("a photo over 5 MB of base64 is re-encoded under it, at its size, and the request is accepted", async () => {
    fake = await startFakeAnthropic({ apiKey: "sk-test-secret-123", replies: [{ text: "A noisy photo." }] });
    const sent = await sendToClaude(claude(fake.url, asIs), [message("user", [{ type: "text", text: "what is this?" }, file("photo.jpg", "image/jpeg")])]);
    expect(sent).toHaveLength(1);
    expect(sent[0]!.base64Chars).toBeLessThanOrEqual(5 * 1024 * 1024);
    expect(sent[0]).toMatchObject({ mediaType: "image/jpeg", width: 2400, height: 1700 });
  });

  it("an image over 8000 px is shrunk to 8000, and to 2000 in a request of more than 20 images", async () => {
    fake = await startFakeAnthropic({ apiKey: "sk-test-secret-123", replies: [{ text: "Wide." }, { text: "Many." }] });
    const [one] = await sendToClaude(claude(fake.url, asIs), [message("user", [file("panorama.png", "image/png")])]);
    expect(one).toMatchObject({ mediaType: "image/png", width: 8000, height: 286 });
    const turns = Array.from({ length: 21 }, (_, i) => message("user", [{ type: "text", text: `picture ${i}` }, file("wide.png", "image/png")]));
    const many = await sendToClaude(claude(fake.url, asIs), turns);
    expect(many.map((s) => `${s.width}x${s.height}`)).toEqual(Array(21).fill("2000x308"));
  });

  it("an image within the limits is still sent byte for byte in its own format (what file_reference is for)", async () => {
    fake = await startFakeAnthropic({ apiKey: "sk-test-secret-123", replies: [{ text: "Green." }] });
    // supported_media_types says PNG only: an inline transport would re-encode the GIF, file_reference does not.
    const config = claude(fake.url, { multimodal_input: { image: { transport: "file_reference", supported_media_types: ["image/png"] } } });
    await sendToClaude(config, [message("user", [file("small.gif", "image/gif"), file("wide.png", "image/png")])]);
    const body = fake.requests.at(-1)!.body as { messages: Array<{ content: Array<{ type: string; source?: { media_type: string; data: string } }> }> };
    const sources = body.messages.flatMap((m) => m.content).flatMap((b) => (b.type === "image" ? [b.source!] : []));
    expect(sources).toEqual([
      { type: "base64", media_type: "image/gif", data: (await readFile(join(dir, "small.gif"))).toString("base64") },
      { type: "base64", media_type: "image/png", data: (await readFile(join(dir, "wide.png"))).toString("base64") },
    ]);
  });

  it("a Claude model through OpenRouter gets the same fitting; other providers get the file as it is", async () => {
    const chat = await startFakeOpenAI({ apiKey: "sk-test-secret-123", replies: [{ text: "Seen." }] });
    try {
      const history = [message("user", [file("photo.jpg", "image/jpeg"), file("panorama.png", "image/png")])];
      const viaOpenRouter = createModelConfig(chat.url, { model_name: "anthropic/claude-sonnet-4.5", capabilities: ["chat", "image_in"], ...asIs });
      const normalized = await normalizeMessages(viaOpenRouter, history);
      await createProvider(viaOpenRouter, ENV).complete(createRequest(normalized), { signal: signal() });
      const parts = (chat.requests.at(-1)!.body as { messages: Array<{ content: unknown }> }).messages.flatMap((m) => (Array.isArray(m.content) ? (m.content as Array<{ type: string; image_url?: { url: string } }>) : []));
      const images = parts.flatMap((p) => (p.type === "image_url" ? [Buffer.from(p.image_url!.url.slice(p.image_url!.url.indexOf(",") + 1), "base64")] : []));
      expect(images).toHaveLength(2);
      expect(Math.ceil(images[0]!.length / 3) * 4).toBeLessThanOrEqual(5 * 1024 * 1024);
      expect((await sharp(images[1]!).metadata()).width).toBe(8000);

      const openai = createModelConfig(chat.url, { capabilities: ["chat", "image_in"], ...asIs });
      const uris = (await normalizeMessages(openai, history)).flatMap((m) => m.content).map((i) => (i.type === "file" ? i.uri : ""));
      expect(uris).toEqual([
        `data:image/jpeg;base64,${(await readFile(join(dir, "photo.jpg"))).toString("base64")}`,
        `data:image/png;base64,${(await readFile(join(dir, "panorama.png"))).toString("base64")}`,
      ]);
    } finally {
      await chat.close();
    }
  });
});
