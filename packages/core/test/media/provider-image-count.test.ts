// A request may carry only so many images (Anthropic: 100, 600 for some models, 100 applied to all; OpenAI: 500), and a conversation past that was refused on every call until compaction or /new.
// The newest images are kept within the provider's count; older ones become a note saying how to load
// them again. The fake servers refuse more images as the APIs do.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import sharp from "sharp";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { FileItem, ModelConfig, TranscriptMessage } from "@starling/protocol";
import { startFakeAnthropic } from "../../../../test/fakes/anthropic-server.js";
import { startFakeOpenAI } from "../../../../test/fakes/openai-server.js";
import { startFakeResponses } from "../../../../test/fakes/responses-server.js";
import { normalizeMessages } from "../../src/media/normalize.js";
import { providerMaxImages } from "../../src/media/provider-image-limits.js";
import { LEFT_OUT_HEADER } from "../../src/media/request-media-cap.js";
import { createProvider } from "../../src/providers/index.js";
import { createModelConfig, createRequest, ENV, message, signal } from "../providers/helpers.js";

let dir: string;
const closers: Array<() => Promise<void>> = [];
const file = (i: number): FileItem => ({ type: "file", uri: pathToFileURL(join(dir, `p${i}.png`)).href, name: `p${i}.png`, mediaType: "image/png" });
const images = ["chat", "image_in"] as ModelConfig["capabilities"];
/** A fake server closed after the test. */
async function served<T extends { close(): Promise<void> }>(starting: Promise<T>): Promise<T> {
  const fake = await starting;
  closers.push(() => fake.close());
  return fake;
}
/** `n` user turns, each with one small photo of its own. */
const photos = (n: number): TranscriptMessage[] => Array.from({ length: n }, (_, i) => message("user", [{ type: "text", text: `photo ${i}` }, file(i)]));

/** Normalises `history` for `config`, sends it, and returns what the model got: the image names and the notes' first and last lines. */
async function send(config: ModelConfig, history: TranscriptMessage[]): Promise<{ images: number; notes: string[] }> {
  const normalized = await normalizeMessages(config, history);
  await createProvider(config, ENV).complete(createRequest(normalized), { signal: signal() });
  const items = normalized.flatMap((m) => m.content);
  return {
    images: items.filter((i) => i.type === "file").length,
    notes: items.flatMap((i) => (i.type === "text" && i.text.startsWith(LEFT_OUT_HEADER) ? [i.text] : [])),
  };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "starling-image-count-"));
  for (let i = 0; i < 501; i++) {
    const png = await sharp({ create: { width: 8, height: 8, channels: 3, background: { r: i % 256, g: (i >> 8) * 60, b: 7 } } }).png().toBuffer();
    await writeFile(join(dir, `p${i}.png`), png);
  }
});

afterEach(async () => {
  while (closers.length) await closers.pop()!();
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("the images one request carries", () => {
  it("Anthropic: of 101 photos the newest 100 go, the oldest becomes a note saying how to load it again", async () => {
    const fake = await served(startFakeAnthropic({ apiKey: "sk-test-secret-123", replies: [{ text: "Seen." }] }));
    const config = createModelConfig(fake.url, { provider_type: "claude_code", model_name: "claude-sonnet-4-5", capabilities: images });
    const sent = await send(config, photos(101));
    expect(sent.images).toBe(100);
    expect(sent.notes).toEqual([
      [
        LEFT_OUT_HEADER,
        `path: ${join(dir, "p0.png")}`,
        "name: p0.png",
        "media_type: image/png",
        "reason: the model's provider takes at most 100 images and PDF pages in one request and newer ones took the room; load it again (image_load, pdf_load, audio_load) to look at it in a later step",
      ].join("\n"),
    ]);
  });

  it("Anthropic: 100 even for a model configured with more than 200k tokens of context (its real window is not known for sure)", () => {
    const config = createModelConfig("http://127.0.0.1:1/v1/messages", { provider_type: "claude_code", model_name: "claude-opus-4-6", token_max_context: 1_000_000 });
    expect(providerMaxImages(config)).toBe(100);
  });

  it("a Claude model through OpenRouter (chat completions) gets Anthropic's 100", async () => {
    const fake = await served(startFakeOpenAI({ apiKey: "sk-test-secret-123", replies: [{ text: "Seen." }] }));
    const sent = await send(createModelConfig(fake.url, { model_name: "anthropic/claude-sonnet-4.5", capabilities: images }), photos(101));
    expect(sent).toMatchObject({ images: 100, notes: [expect.stringContaining("name: p0.png")] });
  });

  it("OpenAI (Responses): of 501 photos the newest 500 go", async () => {
    const fake = await served(startFakeResponses({ apiKey: "sk-test-secret-123", replies: [{ text: "Seen." }] }));
    const config = createModelConfig(fake.url, { provider_type: "open_router_responses", model_name: "gpt-5", capabilities: images });
    const sent = await send(config, photos(501));
    expect(sent.images).toBe(500);
    expect(sent.notes).toEqual([expect.stringContaining("reason: the model's provider takes at most 500 images in one request")]);
    expect(sent.notes[0]).toContain("name: p0.png");
  });
});
