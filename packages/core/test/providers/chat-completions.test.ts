import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { startFakeOpenAI, type FakeOpenAI, type FakeOpenAIOptions } from "../../../../test/fakes/openai-server.js";
import { buildChatRequest, createProvider, ProviderError, type RetryNotice } from "../../src/providers/index.js";
import { createChatCompletionsProvider } from "../../src/providers/chat-completions/provider.js";
import { createModelConfig, createRequest, ENV, signal, TEST_KEY } from "./helpers.js";

let fake: FakeOpenAI | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

async function start(opts: FakeOpenAIOptions = {}): Promise<FakeOpenAI> {
  fake = await startFakeOpenAI({ apiKey: TEST_KEY, ...opts });
  return fake;
}

async function rejection(promise: Promise<unknown>): Promise<ProviderError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ProviderError);
  return error as ProviderError;
}

describe("open_router_completion against the fake server", () => {
  it("streams a text reply with deltas and maps usage", async () => {
    const server = await start({ replies: [{ text: "Hello there, how are you?", chunkChars: 4, usage: { prompt_tokens: 12, completion_tokens: 6 } }] });
    const deltas: string[] = [];
    const response = await createProvider(createModelConfig(server.url), ENV).complete(createRequest(), {
      signal: signal(),
      onDelta: (d) => deltas.push(d),
    });
    expect(response.content).toEqual([{ type: "text", text: "Hello there, how are you?" }]);
    expect(deltas.length).toBeGreaterThan(3);
    expect(deltas.join("")).toBe("Hello there, how are you?");
    expect(response.usage).toEqual({ inputTokens: 12, outputTokens: 6 });
    expect(response.finishReason).toBe("stop");

    const req = server.requests[0]!;
    expect(req.headers["authorization"]).toBe(`Bearer ${TEST_KEY}`);
    expect(req.body).toMatchObject({ model: "fake/model", stream: true, stream_options: { include_usage: true } });
    expect(req.body).not.toHaveProperty("tools");
    expect(req.body).not.toHaveProperty("max_tokens");
    expect(req.body).not.toHaveProperty("max_completion_tokens");
    expect(req.body["messages"]).toEqual([
      { role: "system", content: "You are a test." },
      { role: "user", content: "hello" },
    ]);
  });

  it("sends max_output_tokens as max_tokens; the fake cuts the reply there and it finishes with length", async () => {
    const server = await start({ replies: [{ text: "One two three four five six seven eight nine ten." }] });
    const response = await createProvider(createModelConfig(server.url, { max_output_tokens: 3 }), ENV).complete(createRequest(), { signal: signal() });
    expect(server.requests[0]!.body["max_tokens"]).toBe(3);
    expect(server.requests[0]!.body).not.toHaveProperty("max_completion_tokens");
    expect(response.content).toEqual([{ type: "text", text: "One two thre" }]);
    expect(response.finishReason).toBe("length");
  });

  it("sends max_completion_tokens to OpenAI's own API, whose reasoning models refuse max_tokens", async () => {
    for (const url of ["https://api.openai.com/v1/chat/completions", "https://my-team.openai.azure.com/openai/deployments/d/chat/completions"]) {
      const body = await buildChatRequest(createModelConfig(url, { model_name: "o3", max_output_tokens: 2000 }), createRequest());
      expect(body).toMatchObject({ max_completion_tokens: 2000 });
      expect(body).not.toHaveProperty("max_tokens");
    }
  });

  it("assembles two tool calls split over many chunks, in order", async () => {
    const server = await start({
      replies: [
        {
          text: "Let me look.",
          chunkChars: 2,
          toolCalls: [
            { name: "file_read", arguments: { file_path: "notes/a very long file name.txt", limit: 200 }, id: "call_a" },
            { name: "shell", arguments: '{"command":"ls -la /tmp && echo done"}', id: "call_b" },
          ],
        },
      ],
    });
    const tools = [{ name: "file_read", description: "read", parameters: { type: "object" } }];
    const response = await createProvider(createModelConfig(server.url), ENV).complete(createRequest(undefined, { tools }), { signal: signal() });
    expect(response.content).toEqual([
      { type: "text", text: "Let me look." },
      { type: "tool_call", id: "call_a", name: "file_read", arguments: '{"file_path":"notes/a very long file name.txt","limit":200}' },
      { type: "tool_call", id: "call_b", name: "shell", arguments: '{"command":"ls -la /tmp && echo done"}' },
    ]);
    expect(response.finishReason).toBe("tool_calls");
    expect(server.requests[0]?.body["tools"]).toEqual([
      { type: "function", function: { name: "file_read", description: "read", parameters: { type: "object" } } },
    ]);
  });

  it("falls back to a plain JSON completion when the server does not stream", async () => {
    const server = await start({
      stream: "never",
      replies: [{ text: "plain", toolCalls: [{ name: "ls", arguments: {} }], usage: { prompt_tokens: 3, completion_tokens: 2 } }],
    });
    const deltas: string[] = [];
    const response = await createProvider(createModelConfig(server.url), ENV).complete(createRequest(), {
      signal: signal(),
      onDelta: (d) => deltas.push(d),
    });
    expect(response.content).toEqual([
      { type: "text", text: "plain" },
      { type: "tool_call", id: "call_0_0", name: "ls", arguments: "{}" },
    ]);
    expect(deltas).toEqual(["plain"]);
    expect(response.usage).toEqual({ inputTokens: 3, outputTokens: 2 });
  });

  it("retries a 429 after retry-after, calling onRetry first", async () => {
    const server = await start({ replies: [{ status: 429, retryAfterSeconds: 1 }, { text: "ok" }] });
    const notices: RetryNotice[] = [];
    const events: string[] = [];
    const config = createModelConfig(server.url, { retry_mode: { random_interval: { max_interval_secs: 0, max_retries: 1 } } });
    const response = await createProvider(config, ENV).complete(createRequest(), {
      signal: signal(),
      onRetry: (n) => {
        notices.push(n);
        events.push(`retry after request ${server.requests.length}`);
      },
    });
    expect(response.content).toEqual([{ type: "text", text: "ok" }]);
    expect(server.requests).toHaveLength(2);
    expect(events).toEqual(["retry after request 1"]);
    expect(notices).toHaveLength(1);
    expect(notices[0]).toMatchObject({ attempt: 1, delayMs: 1000 });
    expect(notices[0]?.error.kind).toBe("rate_limited");
    expect(server.requests[1]!.receivedAt).toBeGreaterThanOrEqual(server.requests[0]!.receivedAt + 900);
  });

  it("makes a single attempt in mode once and fails with kind server", async () => {
    const server = await start({ replies: [{ status: 500 }, { text: "never reached" }] });
    const config = createModelConfig(server.url, { retry_mode: "once" });
    const error = await rejection(createProvider(config, ENV).complete(createRequest(), { signal: signal() }));
    expect(error.kind).toBe("server");
    expect(error.status).toBe(500);
    expect(error.message).toContain("fake error 500");
    expect(server.requests).toHaveLength(1);
  });

  it("retries 503 up to max_retries with random_interval", async () => {
    const server = await start({ responder: () => ({ status: 503 }) });
    const error = await rejection(createProvider(createModelConfig(server.url), ENV).complete(createRequest(), { signal: signal() }));
    expect(error.kind).toBe("server");
    expect(server.requests).toHaveLength(3);
  });

  it("does not retry 401 (auth) or 400 (bad_request)", async () => {
    const server = await start();
    const wrongKey = { FAKE_API_KEY: "sk-wrong-key" };
    const auth = await rejection(createProvider(createModelConfig(server.url), wrongKey).complete(createRequest(), { signal: signal() }));
    expect(auth.kind).toBe("auth");
    expect(auth.status).toBe(401);
    expect(server.requests).toHaveLength(1);

    server.push({ status: 400, errorBody: { error: { message: "messages: field required" } } });
    const bad = await rejection(createProvider(createModelConfig(server.url), ENV).complete(createRequest(), { signal: signal() }));
    expect(bad.kind).toBe("bad_request");
    expect(bad.message).toContain("messages: field required");
  });

  it("times out with kind timeout when headers do not arrive within conn_timeout", async () => {
    const server = await start({ responder: () => ({ hang: true }) });
    const config = createModelConfig(server.url, { conn_timeout: 0.2, retry_mode: { random_interval: { max_interval_secs: 0, max_retries: 1 } } });
    const notices: RetryNotice[] = [];
    const error = await rejection(createProvider(config, ENV).complete(createRequest(), { signal: signal(), onRetry: (n) => notices.push(n) }));
    expect(error.kind).toBe("timeout");
    expect(error.message).toContain("0.2 s");
    expect(notices.map((n) => n.error.kind)).toEqual(["timeout"]);
    expect(server.requests).toHaveLength(2);
  }, 10_000);

  it("aborts a hanging request at once with kind aborted and no retry", async () => {
    const server = await start({ responder: () => ({ hang: true }) });
    const controller = new AbortController();
    const pending = createProvider(createModelConfig(server.url), ENV).complete(createRequest(), { signal: controller.signal });
    await server.waitForRequests(1);
    controller.abort();
    // The request hangs forever: only the abort can end it.
    const error = await rejection(pending);
    expect(error.kind).toBe("aborted");
    await expect.poll(() => server.requests[0]?.aborted).toBe(true);
    expect(server.requests).toHaveLength(1);
  });

  it("treats a dropped connection as a retryable network error", async () => {
    const server = await start({ replies: [{ text: "partial reply here", dropConnection: true }, { text: "second try" }] });
    const notices: RetryNotice[] = [];
    const response = await createProvider(createModelConfig(server.url), ENV).complete(createRequest(), {
      signal: signal(),
      onRetry: (n) => notices.push(n),
    });
    expect(notices.map((n) => n.error.kind)).toEqual(["network"]);
    expect(response.content).toEqual([{ type: "text", text: "second try" }]);
  });

  it("reports a refused connection as kind network", async () => {
    const server = await start();
    const url = server.url;
    await server.close();
    fake = undefined;
    const config = createModelConfig(url, { retry_mode: { random_interval: { max_interval_secs: 0, max_retries: 0 } } });
    const error = await rejection(createProvider(config, ENV).complete(createRequest(), { signal: signal() }));
    expect(error.kind).toBe("network");
    expect(error.message).toMatch(/ECONNREFUSED/);
  });

  it("fails a stream that stalls after the headers with kind timeout (idle limit)", async () => {
    const stalled = createServer((_req, res) => {
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.write(`data: ${JSON.stringify({ choices: [{ delta: { content: "thinking" } }] })}\n\n`);
    });
    await new Promise<void>((resolve) => stalled.listen(0, "127.0.0.1", resolve));
    try {
      const { port } = stalled.address() as AddressInfo;
      const config = createModelConfig(`http://127.0.0.1:${port}/v1/chat/completions`, {
        retry_mode: { random_interval: { max_interval_secs: 0, max_retries: 0 } },
      });
      const provider = createChatCompletionsProvider(config, ENV, { streamIdleTimeoutMs: 200 });
      const deltas: string[] = [];
      const error = await rejection(provider.complete(createRequest(), { signal: signal(), onDelta: (d) => deltas.push(d) }));
      expect(error.kind).toBe("timeout");
      expect(error.message).toContain("no data");
      expect(deltas).toEqual(["thinking"]);
    } finally {
      stalled.closeAllConnections();
      await new Promise((resolve) => stalled.close(resolve));
    }
  });

  it("rejects an empty reply with kind server", async () => {
    const server = await start({ responder: () => ({}) });
    const config = createModelConfig(server.url, { retry_mode: { random_interval: { max_interval_secs: 0, max_retries: 0 } } });
    const error = await rejection(createProvider(config, ENV).complete(createRequest(), { signal: signal() }));
    expect(error.kind).toBe("server");
    expect(error.message).toContain("empty reply");
  });
});

describe("createProvider configuration", () => {
  it("rejects with kind config naming the variable when the key is missing, before any request", async () => {
    const server = await start({ replies: [{ text: "unused" }] });
    const error = await rejection(createProvider(createModelConfig(server.url), {}).complete(createRequest(), { signal: signal() }));
    expect(error.kind).toBe("config");
    expect(error.message).toContain("set FAKE_API_KEY in the environment of the host");
    expect(server.requests).toHaveLength(0);
  });

  it("sends no Authorization header when api_key_env is not set", async () => {
    fake = await startFakeOpenAI({ replies: [{ text: "local" }] });
    const { api_key_env: _omit, ...config } = createModelConfig(fake.url);
    await createProvider(config, {}).complete(createRequest(), { signal: signal() });
    expect(fake.requests[0]?.headers["authorization"]).toBeUndefined();
  });

  it("builds codex_subscription (no key needed until a call), and throws kind config for a type that cannot chat", () => {
    const codex = createModelConfig("https://chatgpt.com/backend-api/codex/responses", { provider_type: "codex_subscription" });
    expect(createProvider(codex, ENV).config).toBe(codex);
    const brave = createModelConfig("https://api.search.brave.com/res/v1/web/search", { provider_type: "brave_search" });
    expect(() => createProvider(brave, ENV)).toThrow(ProviderError);
    expect(() => createProvider(brave, ENV)).toThrow(/brave_search.*is a web search service/);
  });

  it("never puts the key into error messages, even when the server echoes it", async () => {
    const server = await start({ replies: [{ status: 400, errorBody: { error: { message: `bad key ${TEST_KEY} given` } } }] });
    const error = await rejection(createProvider(createModelConfig(server.url), ENV).complete(createRequest(), { signal: signal() }));
    expect(error.message).not.toContain(TEST_KEY);
    expect(error.message).toContain("[redacted]");
  });
});
