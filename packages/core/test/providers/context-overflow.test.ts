// A refusal as too long is recognised in each provider's real error shape (the turn then compacts and retries).
import { afterEach, describe, expect, it } from "vitest";
import { startFakeAnthropic } from "../../../../test/fakes/anthropic-server.js";
import { startFakeOpenAI } from "../../../../test/fakes/openai-server.js";
import { createProvider, ProviderError } from "../../src/providers/index.js";
import { isContextOverflow, statedContextWindow } from "../../src/providers/types.js";
import { createModelConfig, createRequest, ENV, rejection, signal, TEST_KEY } from "./helpers.js";

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).map((c) => c()));
});

describe("isContextOverflow", () => {
  it("OpenAI chat completions: HTTP 400 context_length_exceeded", async () => {
    const fake = await startFakeOpenAI({
      apiKey: TEST_KEY,
      replies: [
        {
          status: 400,
          errorBody: {
            error: {
              message: "This model's maximum context length is 128000 tokens. However, your messages resulted in 130512 tokens. Please reduce the length of the messages.",
              type: "invalid_request_error",
              param: "messages",
              code: "context_length_exceeded",
            },
          },
        },
      ],
    });
    closers.push(() => fake.close());
    const err = await rejection(createProvider(createModelConfig(fake.url), ENV).complete(createRequest(), { signal: signal() }));
    expect(err.kind).toBe("bad_request");
    expect(isContextOverflow(err)).toBe(true);
    expect(statedContextWindow(err), "the window the refusal states").toBe(128000);
  });

  it("Anthropic: HTTP 400 invalid_request_error 'prompt is too long'", async () => {
    const fake = await startFakeAnthropic({
      apiKey: TEST_KEY,
      replies: [
        {
          status: 400,
          errorBody: { type: "error", error: { type: "invalid_request_error", message: "prompt is too long: 215000 tokens > 200000 maximum" } },
        },
      ],
    });
    closers.push(() => fake.close());
    const model = createModelConfig(fake.url, { provider_type: "claude_code", model_name: "claude-sonnet-4-5" });
    const err = await rejection(createProvider(model, ENV).complete(createRequest(), { signal: signal() }));
    expect(isContextOverflow(err)).toBe(true);
    expect(statedContextWindow(err), "the window the refusal states").toBe(200000);
  });

  it("Anthropic's 'prompt is too long' wrapped by OpenRouter (Provider returned error, metadata.raw)", async () => {
    const raw = JSON.stringify({ type: "error", error: { type: "invalid_request_error", message: "prompt is too long: 210000 tokens > 200000 maximum" } });
    const fake = await startFakeOpenAI({
      apiKey: TEST_KEY,
      replies: [{ status: 400, errorBody: { error: { message: "Provider returned error", code: 400, metadata: { raw, provider_name: "Anthropic" } } } }],
    });
    closers.push(() => fake.close());
    const model = createModelConfig(fake.url, { model_name: "anthropic/claude-sonnet-4.5" });
    const err = await rejection(createProvider(model, ENV).complete(createRequest(), { signal: signal() }));
    expect(err.message).toMatch(/: Anthropic \(through OpenRouter\): prompt is too long: 210000 tokens > 200000 maximum$/);
    expect(err.kind).toBe("bad_request");
    expect(isContextOverflow(err)).toBe(true);
    expect(statedContextWindow(err), "the window the refusal states").toBe(200000);
  });

  it("the Responses API wording, and not other refusals", () => {
    expect(isContextOverflow(new ProviderError("bad_request", "Your input exceeds the context window of this model. Please adjust your input and try again."))).toBe(true);
    expect(isContextOverflow(new ProviderError("bad_request", "HTTP 400: Invalid schema for function 'shell'"))).toBe(false);
    expect(isContextOverflow(new ProviderError("rate_limited", "Request too large for gpt-4o: Limit 30000, Requested 41000 tokens per min (TPM); too many tokens"))).toBe(false);
    expect(isContextOverflow(new Error("maximum context length"))).toBe(false);
    expect(statedContextWindow(new ProviderError("bad_request", "Your input exceeds the context window of this model."))).toBe(null);
    expect(statedContextWindow(new ProviderError("rate_limited", "maximum context length is 8192 tokens"))).toBe(null);
  });
});
