// Images a model returns through the Responses API (`image_generation_call` items, base64 `result`) are
// saved under the workspace's generated/ before the answer is stored, and the answer names them in an
// <attachment> line for the chat, as chat-completions models' images are (model-images.ts).
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { startFakeResponses, type ResponsesReply } from "../fakes/responses-server.js";
import { transcript, userMessage } from "./harness.js";
import { wireEnv, type WireModel } from "./wire-env.js";

/** A 1×1 PNG. */
const PNG = Buffer.from("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==", "base64");
const responses = { providerType: "open_router_responses", modelName: "openai/gpt-5", startFake: () => startFakeResponses({ apiKey: "test-key" }) } as WireModel<ResponsesReply>;

describe("images returned through the Responses API", () => {
  it("are saved under generated/ and attached to the stored answer", { timeout: 60_000 }, async (ctx) => {
    const env = await wireEnv(ctx, responses, [{ text: "Here is your drawing.", images: [{ base64: PNG.toString("base64") }] }, { text: "Glad you like it." }]);
    const worker = await env.start({ model: { capabilities: ["chat", "image_out"] } });
    await worker.client.enqueue(userMessage("d", "draw me a dot"));
    await worker.waitForEvent("turn_completed", (e) => e.turnId === 1, 30_000);

    const saved = readdirSync(join(env.dir, "generated"));
    expect(saved).toHaveLength(1);
    expect(saved[0]).toMatch(/^image-\d{8}T\d{6}-t1a1-1\.png$/);
    expect(readFileSync(join(env.dir, "generated", saved[0]!))).toEqual(PNG);
    const answer = (await transcript(worker.client)).at(-1)!;
    expect(answer.role).toBe("assistant");
    const text = answer.content.flatMap((i) => (i.type === "text" ? [i.text] : [])).join("\n");
    expect(text).toContain("Here is your drawing.");
    expect(text).toContain(`<attachment>generated/${saved[0]}</attachment>`);

    // The next call carries the saved image in the history (as a reference in the assistant's turn) and is answered.
    await worker.client.enqueue(userMessage("t", "thanks"));
    await worker.waitForEvent("turn_completed", (e) => e.turnId === 2, 30_000);
    expect(JSON.stringify(env.fake.requests.at(-1)!.body)).toContain(`generated/${saved[0]}`);
  });
});
