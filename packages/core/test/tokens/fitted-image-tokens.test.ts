// Token estimates count an image at the size it is sent (fitted to multimodal_input.image max_width /
// max_height, as the normaliser fits it), not at its original size: the compaction trigger follows it.
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import type { ModelConfig } from "@starling/protocol";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { pngHeaderOfSize } from "../../../../test/fixtures/media-files.js";
import { needsCompaction } from "../../src/session/compaction.js";
import { SessionStore } from "../../src/store/session-store.js";
import { fileTokenCounter } from "../../src/tokens/image-tokens.js";


/** One token per 16×16 patch, no budget to speak of: the count is the image's area as sent. */
const model = (sides?: { max_width: number; max_height: number }): ModelConfig => ({
  provider_type: "open_router_completion",
  model_name: "m",
  url: "http://127.0.0.1:1/v1/chat/completions",
  capabilities: ["chat", "image_in"],
  multimodal_estimator: { image: { patch_grid: { patch_size: 16, patch_budget: 1e9, multiplier: 1 } } },
  ...(sides ? { multimodal_input: { image: { transport: "inline_base64" as const, ...sides } } } : {}),
});

const huge = { type: "file" as const, uri: pngHeaderOfSize(12000, 12000), mediaType: "image/png" };

let dir: string;
let store: SessionStore;
beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), "starling-fitted-tokens-"));
  store = await SessionStore.open(join(dir, "db"));
});
afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("image tokens at the size sent", () => {
  it("counts a 12000 px image at max_width × max_height, or at DEFAULT_MAX_IMAGE_SIDE when none is set", () => {
    expect(fileTokenCounter(model({ max_width: 512, max_height: 256 }))(huge)).toBe(16 * 16);
    expect(fileTokenCounter(model())(huge)).toBe(500 * 500);
    expect(fileTokenCounter(model({ max_width: 512, max_height: 512 }))({ ...huge, uri: pngHeaderOfSize(320, 160) })).toBe(20 * 10);
  });

  it("compacts for a huge image only when what is sent is large", async () => {
    await store.commit("enqueue", (tx) => {
      tx.appendMessage({ role: "user", time: "2026-01-01T00:00:00.000Z", content: [{ type: "text", text: "look at this photo ".repeat(100) }, huge] });
      tx.appendMessage({ role: "assistant", time: "2026-01-01T00:00:00.000Z", content: [{ type: "text", text: "A mountain." }] });
      tx.appendMessage({ role: "user", time: "2026-01-01T00:00:00.000Z", content: [{ type: "text", text: "and now?" }] });
    });
    const settings = { thresholdTokens: 2000, retainRecentTokens: 10 };
    const frame = { system: "", tools: [] };
    // Fitted to 512×512 it is 1024 tokens: the history (~1500) stays under the threshold.
    expect(needsCompaction(store, settings, model({ max_width: 512, max_height: 512 }), frame)).toBe(false);
    // Sent at 8000×8000 it is 250,000 tokens.
    expect(needsCompaction(store, settings, model(), frame)).toBe(true);
  });

  // The agent can replace an image of its context with a FIFO (mkfifo in the workspace): the header read is synchronous,
  // so an open that waits for a writer would stop the worker's event loop for good.
  it("an image file that is a FIFO counts as unreadable instead of blocking the worker", () => {
    const fifo = join(dir, "photo.png");
    execFileSync("mkfifo", [fifo]);
    expect(fileTokenCounter(model())({ type: "file", uri: pathToFileURL(fifo).href, mediaType: "image/png" })).toBe(0);
  });
});
