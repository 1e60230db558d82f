// Many images in one conversation, end to end: 30 images across 6 turns to an Anthropic model (the
// fake refuses what the API refuses: an image over 5 MB of base64, over 2000 px once a request carries
// more than 20). Every turn must be answered — a refused image stays in history and would fail every
// later call — and the worker's memory stays bounded.
import { randomBytes } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { imageSize } from "image-size";
import sharp from "sharp";
import { describe, expect, it } from "vitest";
import { startFakeAnthropic } from "../fakes/anthropic-server.js";
import { wireEnv } from "./wire-env.js";

const TURNS = 6;
const PER_TURN = 5;

interface ImageBlock {
  type: string;
  source?: { data: string };
}

describe("many images in one conversation (claude_code through the worker)", () => {
  it("30 images across turns: every request fits Anthropic's limits, every turn is answered, memory stays bounded", { timeout: 60_000 }, async (ctx) => {
    const env = await wireEnv(ctx, { providerType: "claude_code", modelName: "claude-sonnet-4-5", startFake: () => startFakeAnthropic({ apiKey: "test-key" }) });
    env.fake.setResponder((_req, i) => ({ text: `Seen batch ${i + 1}.` }));
    // Screenshots wider than 2000 px (fine alone, refused in a request of more than 20 images), and a
    // noisy photo over 5 MB of base64 (refused in any request).
    const photo = await sharp(randomBytes(2400 * 1700 * 3), { raw: { width: 2400, height: 1700, channels: 3 } }).jpeg({ quality: 97 }).toBuffer();
    expect(Math.ceil(photo.length / 3) * 4).toBeGreaterThan(5 * 1024 * 1024);
    const names: string[][] = [];
    for (let t = 0; t < TURNS; t++) {
      names.push([]);
      for (let k = 0; k < PER_TURN; k++) {
        const isPhoto = k === 0 && t % 3 === 0; // the same photo sent again in the fourth turn
        const name = isPhoto ? "photo.jpg" : `screen${t}-${k}.png`;
        const bytes = isPhoto ? photo : await sharp({ create: { width: 2100, height: 300, channels: 3, background: { r: 40 * t, g: 50 * k, b: 90 } } }).png().toBuffer();
        writeFileSync(join(env.dir, name), bytes);
        names[t]!.push(name);
      }
    }
    const worker = await env.start({ model: { capabilities: ["chat", "image_in"] } });

    for (let t = 0; t < TURNS; t++) {
      const files = names[t]!.map((name) => ({ type: "file" as const, uri: pathToFileURL(join(env.dir, name)).href, name, mediaType: name.endsWith(".png") ? "image/png" : "image/jpeg" }));
      const since = worker.mark();
      await worker.client.enqueue({ messageId: `m${t}`, kind: "user", message: { role: "user", content: [{ type: "text", text: `batch ${t + 1}` }, ...files] } });
      const completed = worker.waitForEvent("turn_completed", undefined, { since, timeoutMs: 20_000 });
      const failed = worker.waitForEvent("turn_failed", undefined, { since, timeoutMs: 20_000 });
      void completed.catch(() => undefined);
      void failed.catch(() => undefined);
      const end = await Promise.race([completed, failed]);
      expect(end.type === "turn_completed" ? end.message.content : end.error.message, `turn ${t + 1}`).toEqual([{ type: "text", text: `Seen batch ${t + 1}.` }]);
    }
    expect(worker.eventsOf("turn_failed")).toEqual([]);

    const last = env.fake.requests.at(-1)!.body as { messages: Array<{ content: ImageBlock[] }> };
    const images = last.messages.flatMap((m) => m.content).filter((b) => b.type === "image");
    expect(images).toHaveLength(TURNS * PER_TURN);
    const sides = images.map((b) => imageSize(Buffer.from(b.source!.data, "base64")));
    expect(Math.max(...sides.map((s) => Math.max(s.width, s.height)))).toBeLessThanOrEqual(2000);
    expect(Math.max(...images.map((b) => b.source!.data.length))).toBeLessThanOrEqual(5 * 1024 * 1024);

    const peakKb = Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${worker.client.child.pid}/status`, "utf8"))?.[1]);
    ctx.annotate(`worker peak RSS ${Math.round(peakKb / 1024)} MB`);
    expect(peakKb / 1024, "worker peak RSS, MB").toBeLessThan(400);
  });
});
