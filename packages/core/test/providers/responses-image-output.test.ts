// Images returned through the Responses API (OpenAI's image_generation tool, also through OpenRouter):
// `image_generation_call` output items with the image as base64 in `result`, as the fake server sends
// them, streamed or in one JSON response, through the real provider.
import { afterEach, describe, expect, it } from "vitest";
import { responsesEvents, startFakeResponses, type FakeResponses } from "../../../../test/fakes/responses-server.js";
import { createProvider } from "../../src/providers/index.js";
import { ResponseAssembler } from "../../src/providers/responses/response-assembler.js";
import { createModelConfig, createRequest, ENV, signal, TEST_KEY } from "./helpers.js";

/** A 1×1 PNG in base64. */
const PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==";
/** Not a real JPEG: the provider passes `result` on as it is, the session checks what it saves. */
const JPEG = "/9j/4AAQSkZJRgABAQ==";

let fake: FakeResponses | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

const model = (url: string) => createModelConfig(url, { provider_type: "open_router_responses", model_name: "openai/gpt-5", capabilities: ["chat", "image_out"] });

describe("open_router_responses image output", () => {
  it("returns each image_generation_call's result as a file item (a data URL of its output_format)", async () => {
    fake = await startFakeResponses({ apiKey: TEST_KEY, replies: [{ text: "Here is a cat.", images: [{ base64: PNG }, { base64: JPEG, format: "jpeg" }] }] });
    const response = await createProvider(model(fake.url), ENV).complete(createRequest(), { signal: signal() });
    expect(response.content).toEqual([
      { type: "text", text: "Here is a cat." },
      { type: "file", uri: `data:image/png;base64,${PNG}`, mediaType: "image/png" },
      { type: "file", uri: `data:image/jpeg;base64,${JPEG}`, mediaType: "image/jpeg" },
    ]);
  });

  it("takes a reply with an image and no text as an answer, not an empty reply", async () => {
    fake = await startFakeResponses({ apiKey: TEST_KEY, replies: [{ images: [{ base64: PNG }] }] });
    const response = await createProvider(model(fake.url), ENV).complete(createRequest(), { signal: signal() });
    expect(response.content).toEqual([{ type: "file", uri: `data:image/png;base64,${PNG}`, mediaType: "image/png" }]);
    expect(fake.requests).toHaveLength(1);
  });

  it("keeps the image from output_item.done when response.completed carries no output", () => {
    const assembler = new ResponseAssembler();
    for (const event of responsesEvents({ text: "Drawn.", images: [{ base64: PNG, format: "webp" }] })) {
      const data = event.data as { type: string; response?: Record<string, unknown> };
      assembler.addEvent(data.type === "response.completed" ? { ...data, response: { ...data.response, output: [] } } : data);
    }
    expect(assembler.finish().content).toEqual([
      { type: "text", text: "Drawn." },
      { type: "file", uri: `data:image/webp;base64,${PNG}`, mediaType: "image/webp" },
    ]);
  });
});
