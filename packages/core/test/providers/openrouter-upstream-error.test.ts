// OpenRouter refuses on behalf of the upstream provider with `{"error":{"message":"Provider returned
// error","metadata":{"raw":"<the upstream body>","provider_name":"Anthropic"}}}`: the error the user and
// the model see names the provider and says what it refused, not just "Provider returned error".
import { randomBytes } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { startFakeOpenAI } from "../../../../test/fakes/openai-server.js";
import { startFakeResponses } from "../../../../test/fakes/responses-server.js";
import { createProvider } from "../../src/providers/index.js";
import { ResponseAssembler } from "../../src/providers/responses/response-assembler.js";
import { createModelConfig, createRequest, ENV, message, rejection, signal, TEST_KEY } from "./helpers.js";

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).map((c) => c()));
});

/** OpenRouter's refusal wrapping `raw` from `provider`. */
const wrapped = (raw: string, provider?: string) => ({
  status: 400,
  errorBody: { error: { message: "Provider returned error", code: 400, metadata: { raw, ...(provider ? { provider_name: provider } : {}) } } },
});

async function refusal(reply: ReturnType<typeof wrapped>): Promise<string> {
  const fake = await startFakeOpenAI({ apiKey: TEST_KEY, replies: [reply] });
  closers.push(() => fake.close());
  return (await rejection(createProvider(createModelConfig(fake.url), ENV).complete(createRequest(), { signal: signal() }))).message;
}

describe("an upstream provider's refusal through OpenRouter", () => {
  it.each([
    { api: "chat completions", start: startFakeOpenAI, provider_type: "open_router_completion", path: "messages\\.1\\.content\\.1", endpoint: "chat/completions" },
    { api: "Responses", start: startFakeResponses, provider_type: "open_router_responses", path: "input\\.0\\.content\\.1", endpoint: "responses" },
  ] as const)("$api: an image over Anthropic's 5 MB names Anthropic and the image, and is not retried", async ({ start, provider_type, path, endpoint }) => {
    const fake = await start({ apiKey: TEST_KEY, replies: [{ text: "never sent" }] });
    closers.push(() => fake.close());
    const config = createModelConfig(fake.url, { provider_type, model_name: "anthropic/claude-sonnet-4.5", capabilities: ["chat", "image_in"] });
    const photo = `data:image/jpeg;base64,${randomBytes(4_000_000).toString("base64")}`;
    const request = createRequest([message("user", [{ type: "text", text: "look" }, { type: "file", uri: photo, name: "big.jpg", mediaType: "image/jpeg" }])]);
    const err = await rejection(createProvider(config, ENV).complete(request, { signal: signal() }));
    expect(err.message).toMatch(
      new RegExp(`^HTTP 400 from http://127\\.0\\.0\\.1:\\d+/v1/${endpoint}: Anthropic \\(through OpenRouter\\): ${path}\\.image\\.source\\.base64: image exceeds 5 MB maximum: 5333336 bytes > 5242880 bytes$`),
    );
    expect(err.kind).toBe("bad_request");
    expect(fake.requests).toHaveLength(1);
  });

  it("OpenAI's error shape and plain text in raw; no provider name", async () => {
    expect(await refusal(wrapped(JSON.stringify({ error: { message: "Invalid 'messages[0].content': string too long.", type: "invalid_request_error" } }), "OpenAI"))).toMatch(
      /: OpenAI \(through OpenRouter\): Invalid 'messages\[0\]\.content': string too long\.$/,
    );
    expect(await refusal(wrapped("upstream said no"))).toMatch(/: the upstream provider \(through OpenRouter\): upstream said no$/);
  });

  it("a long upstream body is cut short", async () => {
    const message = await refusal(wrapped(JSON.stringify({ type: "error", error: { type: "invalid_request_error", message: "x".repeat(20_000) } }), "Anthropic"));
    expect(message).toContain("Anthropic (through OpenRouter): xxx");
    expect(message.length).toBeLessThan(400);
  });
});

describe("an upstream provider's refusal inside a Responses stream", () => {
  const raw = JSON.stringify({ type: "error", error: { type: "invalid_request_error", message: "prompt is too long: 210000 tokens > 200000 maximum" } });
  const refused = { code: 400, message: "Provider returned error", metadata: { raw, provider_name: "Anthropic" } };

  it.each(["response.failed", "error"] as const)("a %s event names Anthropic and what it refused, and is not retried", async (event) => {
    const fake = await startFakeResponses({ apiKey: TEST_KEY, replies: [{ text: "partial", failWith: { ...refused, event } }] });
    closers.push(() => fake.close());
    const config = createModelConfig(fake.url, { provider_type: "open_router_responses", model_name: "anthropic/claude-sonnet-4.5" });
    const err = await rejection(createProvider(config, ENV).complete(createRequest(), { signal: signal() }));
    expect(err.message).toBe("the model reported an error: Anthropic (through OpenRouter): prompt is too long: 210000 tokens > 200000 maximum");
    expect(err.kind).toBe("bad_request");
    expect(fake.requests).toHaveLength(1);
  });

  it("OpenAI's own error event (code and message on the event) still reads its message", () => {
    const assembler = new ResponseAssembler();
    expect(() => assembler.addEvent({ type: "error", code: "rate_limit_exceeded", message: "slow down", param: null, sequence_number: 3 })).toThrow(
      expect.objectContaining({ kind: "rate_limited", message: "the model reported an error: slow down" }),
    );
  });
});
