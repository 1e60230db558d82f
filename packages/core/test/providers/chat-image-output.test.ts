// Images returned by chat models (OpenRouter image output): `message.images` / `delta.images` as the
// fake server sends them in OpenRouter's documented shape, through the real provider.
import { afterEach, describe, expect, it } from "vitest";
import { startFakeOpenAI, type FakeOpenAI } from "../../../../test/fakes/openai-server.js";
import { createProvider } from "../../src/providers/index.js";
import { createModelConfig, createRequest, ENV, signal, TEST_KEY } from "./helpers.js";

/** A 1×1 PNG as a data URL. */
const PNG_URL = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==";

let fake: FakeOpenAI | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

describe("open_router_completion image output", () => {
  for (const stream of ["auto", "never"] as const) {
    it(`returns the model's images as file items (${stream === "auto" ? "streamed: delta.images" : "plain JSON: message.images"})`, async () => {
      fake = await startFakeOpenAI({ apiKey: TEST_KEY, stream, replies: [{ text: "Here is a cat.", images: [PNG_URL, PNG_URL] }] });
      const config = createModelConfig(fake.url, { capabilities: ["chat", "image_out"] });
      const response = await createProvider(config, ENV).complete(createRequest(), { signal: signal() });
      expect(response.content).toEqual([
        { type: "text", text: "Here is a cat." },
        { type: "file", uri: PNG_URL },
        { type: "file", uri: PNG_URL },
      ]);
      // A model with image_out is asked for images (OpenRouter's `modalities`).
      expect(fake.requests[0]!.body["modalities"]).toEqual(["image", "text"]);
    });
  }

  it("takes a reply with an image and no text as an answer, not an empty reply", async () => {
    fake = await startFakeOpenAI({ apiKey: TEST_KEY, replies: [{ images: [PNG_URL] }] });
    const response = await createProvider(createModelConfig(fake.url), ENV).complete(createRequest(), { signal: signal() });
    expect(response.content).toEqual([{ type: "file", uri: PNG_URL }]);
    expect(fake.requests[0]!.body).not.toHaveProperty("modalities");
  });
});
