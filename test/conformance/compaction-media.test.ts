// A summary request is a model request like any other: the files of the summarised piece reach the model
// normalised for it (fitted to the provider's limits), or Anthropic refuses the request and the history is never
// compacted while every turn's own call, normalised, goes through. Files are read through the workspace's checked
// open, as for every model call: a path swapped for a link to a file outside is not sent.
import { randomBytes } from "node:crypto";
import { rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import sharp from "sharp";
import { describe, expect, it } from "vitest";
import { startFakeAnthropic } from "../fakes/anthropic-server.js";
import { imageLimitRefusal } from "../fakes/anthropic-image-limits.js";
import type { RecordedRequest } from "../fakes/scripted-server.js";
import { tempWorkspace, transcript, userMessage } from "./harness.js";
import { wireEnv } from "./wire-env.js";

const isSummary = (req: RecordedRequest): boolean => JSON.stringify(req.body["system"] ?? "").includes("You compress a conversation");
const SUMMARY = "SUMMARY: the user sent a photo and asked about it.";

describe("compaction of a conversation with an image (claude_code through the worker)", () => {
  it("a photo over Anthropic's 5 MB: the summary request carries it fitted, and the summary is stored", { timeout: 60_000 }, async (ctx) => {
    const env = await wireEnv(ctx, { providerType: "claude_code", modelName: "claude-sonnet-4-5", startFake: () => startFakeAnthropic({ apiKey: "test-key" }) });
    env.fake.setResponder((req) => (isSummary(req) ? { text: SUMMARY } : { text: `Noted. ${"Some words about it. ".repeat(10)}` }));
    // A noisy photo: over 5 MB of base64 as it is (refused by Anthropic in any request).
    const photo = await sharp(randomBytes(2400 * 1700 * 3), { raw: { width: 2400, height: 1700, channels: 3 } }).jpeg({ quality: 97 }).toBuffer();
    expect(Math.ceil(photo.length / 3) * 4).toBeGreaterThan(5 * 1024 * 1024);
    writeFileSync(join(env.dir, "photo.jpg"), photo);
    const worker = await env.start({ model: { capabilities: ["chat", "image_in"] }, init: { compression: { thresholdTokens: 150, retainRecentTokens: 20 } } });

    const file = { type: "file" as const, uri: pathToFileURL(join(env.dir, "photo.jpg")).href, name: "photo.jpg", mediaType: "image/jpeg" };
    await worker.client.enqueue({ messageId: "p", kind: "user", message: { role: "user", content: [{ type: "text", text: "What is on this photo?" }, file] } });
    await worker.waitForEvent("turn_completed", (e) => e.turnId === 1, 30_000);
    for (const [i, id] of ["q2", "q3"].entries()) {
      await worker.client.enqueue(userMessage(id, `And what about detail ${i + 1}? ${"Please look closely. ".repeat(10)}`));
      await worker.waitForEvent("turn_completed", (e) => e.turnId === i + 2, 30_000);
    }
    expect(worker.eventsOf("turn_failed")).toEqual([]);

    const summaries = env.fake.requests.filter(isSummary);
    expect(summaries.length).toBeGreaterThanOrEqual(1);
    // The photo went with the summary request, fitted: nothing in any request is over Anthropic's image limits.
    expect(summaries.some((r) => JSON.stringify(r.body).includes('"type":"image"'))).toBe(true);
    for (const req of env.fake.requests) expect(await imageLimitRefusal(req.body)).toBeNull();
    expect(worker.eventsOf("compacted").length).toBe(summaries.length);
    const current = await transcript(worker.client, "current");
    expect(current[0]).toMatchObject({ role: "context", content: [{ type: "text", text: expect.stringContaining(SUMMARY) }] });
  });

  it("an image swapped for a link to a file outside the workspace: the summary request does not carry the outside file", { timeout: 60_000 }, async (ctx) => {
    const env = await wireEnv(ctx, { providerType: "claude_code", modelName: "claude-sonnet-4-5", startFake: () => startFakeAnthropic({ apiKey: "test-key" }) });
    env.fake.setResponder((req) => (isSummary(req) ? { text: SUMMARY } : { text: `Noted. ${"Some words about it. ".repeat(10)}` }));
    const outside = tempWorkspace("starling-outside-");
    ctx.onTestFinished(() => outside.cleanup());
    const secret = await sharp({ create: { width: 64, height: 48, channels: 3, background: { r: 200, g: 10, b: 10 } } }).png().toBuffer();
    writeFileSync(join(outside.dir, "secret.png"), secret);
    writeFileSync(join(env.dir, "shot.png"), await sharp({ create: { width: 64, height: 48, channels: 3, background: { r: 10, g: 200, b: 10 } } }).png().toBuffer());
    const worker = await env.start({ model: { capabilities: ["chat", "image_in"] }, init: { compression: { thresholdTokens: 150, retainRecentTokens: 20 } } });

    const file = { type: "file" as const, uri: pathToFileURL(join(env.dir, "shot.png")).href, name: "shot.png", mediaType: "image/png" };
    await worker.client.enqueue({ messageId: "p", kind: "user", message: { role: "user", content: [{ type: "text", text: "What is on this screenshot?" }, file] } });
    await worker.waitForEvent("turn_completed", (e) => e.turnId === 1, 30_000);
    rmSync(join(env.dir, "shot.png"));
    symlinkSync(join(outside.dir, "secret.png"), join(env.dir, "shot.png"));
    for (const [i, id] of ["q2", "q3"].entries()) {
      await worker.client.enqueue(userMessage(id, `And what about detail ${i + 1}? ${"Please look closely. ".repeat(10)}`));
      await worker.waitForEvent("turn_completed", (e) => e.turnId === i + 2, 30_000);
    }
    expect(env.fake.requests.filter(isSummary).length).toBeGreaterThanOrEqual(1);
    expect(worker.eventsOf("compacted").length).toBeGreaterThanOrEqual(1);
    const leaked = env.fake.requests.filter((r) => JSON.stringify(r.body).includes(secret.toString("base64")));
    expect(leaked.map((r) => (isSummary(r) ? "summary request" : "model call"))).toEqual([]);
  });
});
