// POST /v1/chat/completions with the official `openai` client against the real CLI: plain and streaming,
// a new conversation per model alias and `conv:<id>` to continue one, errors in OpenAI's shape.
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { lastUserText } from "./fixture.js";
import { startWebE2E, WEB_TOKEN, type WebE2E } from "./web-fixture.js";

describe("OpenAI-compatible endpoint", () => {
  let e2e: WebE2E;
  let client: OpenAI;

  beforeAll(async () => {
    e2e = await startWebE2E((req) => ({ text: `answer to: ${lastUserText(req).split("\n").at(-1)}` }));
    await e2e.start();
    client = new OpenAI({ apiKey: WEB_TOKEN, baseURL: `${e2e.origin}/v1`, maxRetries: 0 });
  }, 60_000);
  afterAll(() => e2e?.close());

  it("answers a completion in a new conversation, then continues it with conv:<id>", async () => {
    const first = await client.chat.completions.create({ model: "main", messages: [{ role: "user", content: "first question" }] });
    expect(first.object).toBe("chat.completion");
    expect(first.choices[0]!.message).toMatchObject({ role: "assistant", content: "answer to: first question" });
    expect(first.choices[0]!.finish_reason).toBe("stop");
    const conversation = (first as unknown as { starling: { conversation_id: string } }).starling.conversation_id;
    const second = await client.chat.completions.create({ model: `conv:${conversation}`, messages: [{ role: "user", content: "second question" }] });
    expect(second.choices[0]!.message.content).toBe("answer to: second question");
    // The conversation keeps its own history: the model saw the first exchange too.
    expect(JSON.stringify(e2e.model.requests.at(-1)!.body.messages)).toContain("answer to: first question");
  });

  it("streams the answer as chunks ending with [DONE]", async () => {
    const stream = await client.chat.completions.create({ model: "main", stream: true, messages: [{ role: "user", content: "stream please" }] });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(chunks.map((c) => c.choices[0]?.delta?.content ?? "").join("")).toBe("answer to: stream please");
    expect(chunks.at(-1)!.choices[0]!.finish_reason).toBe("stop");
    expect(chunks.every((c) => c.object === "chat.completion.chunk")).toBe(true);
    const raw = await e2e.call("/v1/chat/completions", { method: "POST", json: { model: "main", stream: true, messages: [{ role: "user", content: "raw" }] } });
    expect((await raw.text()).trimEnd().endsWith("data: [DONE]")).toBe(true);
  });

  it("reports errors in OpenAI's shape", async () => {
    const unknown = await client.chat.completions.create({ model: "nope", messages: [{ role: "user", content: "x" }] }).catch((e: unknown) => e);
    expect(unknown).toBeInstanceOf(OpenAI.NotFoundError);
    expect((unknown as InstanceType<typeof OpenAI.NotFoundError>).message).toMatch(/neither conv:<conversation id> nor a model alias/);
    const bad = await client.chat.completions.create({ model: "main", messages: [] }).catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(OpenAI.BadRequestError);
    expect((bad as InstanceType<typeof OpenAI.BadRequestError>).param).toBe("messages");
    const denied = await new OpenAI({ apiKey: "wrong", baseURL: `${e2e.origin}/v1`, maxRetries: 0 }).chat.completions
      .create({ model: "main", messages: [{ role: "user", content: "x" }] })
      .catch((e: unknown) => e);
    expect(denied).toBeInstanceOf(OpenAI.AuthenticationError);
  });
});
