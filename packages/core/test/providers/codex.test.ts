import { createHash } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import type { CredentialsParams, CredentialsResult, TranscriptItem } from "@starling/protocol";
import { startFakeCodex, type CodexReply, type FakeCodex } from "../../../../test/fakes/codex-server.js";
import { chatgptToken } from "../../../../test/fakes/codex-oauth.js";
import { codexReasoningKept, createProvider, type AskCredentials } from "../../src/providers/index.js";
import { createModelConfig, createRequest, message, rejection, signal, userText } from "./helpers.js";

const ACCOUNT = "acct-1234";
const TOKEN = chatgptToken(ACCOUNT, 3600, "first");
const ENV = { CHATGPT_ACCESS_TOKEN: TOKEN, CHATGPT_ACCOUNT_ID: ACCOUNT };
const sha = (text: string): string => createHash("sha256").update(text).digest("hex");

let fake: FakeCodex | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

async function start(replies: CodexReply[], acceptTokens?: string[]): Promise<FakeCodex> {
  let i = 0;
  fake = await startFakeCodex({ responder: () => replies[Math.min(i++, replies.length - 1)]!, ...(acceptTokens ? { acceptTokens } : {}) });
  return fake;
}

function codexModel(url: string, overrides: Parameters<typeof createModelConfig>[1] = {}) {
  return createModelConfig(url, { provider_type: "codex_subscription", model_name: "gpt-5-codex", api_key_env: undefined, ...overrides });
}

/** A host stand-in for `model/credentials`: answers with `next`, recording each ask. */
function host(next: string): { ask: AskCredentials; asked: CredentialsParams[] } {
  const asked: CredentialsParams[] = [];
  return {
    asked,
    ask: async (params): Promise<CredentialsResult> => {
      asked.push(params);
      return { accessToken: next, accountId: ACCOUNT, fedramp: false };
    },
  };
}

const until = async (check: () => boolean): Promise<void> => {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
  expect(check()).toBe(true);
};

describe("codex_subscription against the fake Codex WebSocket server", () => {
  it("streams a plain answer: handshake headers, the response.create frame, deltas, usage; answers pings; closes the socket", async () => {
    const server = await start([{ text: "Hello from the subscription.", usage: { input_tokens: 30, output_tokens: 7 } }]);
    const provider = createProvider(codexModel(server.url), ENV, { sessionId: "telegram-tg-42-foreground" });
    const deltas: string[] = [];
    const answer = await provider.complete(createRequest([userText("hi")]), { signal: signal(), onDelta: (d) => deltas.push(d) });

    expect(answer.content).toEqual([{ type: "text", text: "Hello from the subscription." }]);
    expect(deltas.join("")).toBe("Hello from the subscription.");
    expect(deltas.length).toBeGreaterThan(1);
    expect(answer.usage).toMatchObject({ inputTokens: 30, outputTokens: 7 });

    const headers = server.handshakes[0]!;
    const sessionId = headers["session_id"] as string;
    expect(sessionId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(sessionId).not.toContain("42");
    expect(headers).toMatchObject({
      authorization: `Bearer ${TOKEN}`,
      "chatgpt-account-id": ACCOUNT,
      "openai-beta": "responses_websockets=2026-02-06",
      "user-agent": "codex-cli",
      "x-client-request-id": sessionId,
      "x-codex-window-id": `${sessionId}:0`,
    });
    expect(headers["x-openai-fedramp"]).toBeUndefined();

    const frame = server.requests[0]!.frame;
    expect(frame).toMatchObject({
      type: "response.create",
      model: "gpt-5-codex",
      instructions: "You are a test.",
      include: [],
      store: false,
      stream: true,
      tool_choice: "auto",
      parallel_tool_calls: true,
      prompt_cache_key: sessionId,
      client_metadata: { "x-codex-installation-id": sessionId, "x-codex-window-id": `${sessionId}:0` },
    });
    expect(frame.input).toEqual([{ type: "message", role: "user", content: [{ type: "input_text", text: "hi" }] }]);
    expect(frame).not.toHaveProperty("reasoning");
    expect(frame).not.toHaveProperty("service_tier");
    await until(() => server.open() === 0);
    expect(server.pongs).toBe(1);

    // The same session keeps its prompt cache key in a new provider (a restarted worker).
    const again = createProvider(codexModel(server.url), ENV, { sessionId: "telegram-tg-42-foreground" });
    await again.complete(createRequest(), { signal: signal() });
    expect(server.requests[1]!.frame.prompt_cache_key).toBe(sessionId);
  });

  it("returns a tool call, and never offers user_tell", async () => {
    const server = await start([{ functionCalls: [{ callId: "call_7", name: "file_read", arguments: { path: "notes.md" } }] }]);
    const provider = createProvider(codexModel(server.url), ENV);
    const tool = (name: string) => ({ name, description: `${name} tool`, parameters: { type: "object", properties: {} } });
    const answer = await provider.complete(createRequest([userText("read it")], { tools: [tool("user_tell"), tool("file_read")] }), { signal: signal() });
    expect(answer.content).toEqual([{ type: "tool_call", id: "call_7", name: "file_read", arguments: '{"path":"notes.md"}' }]);
    expect(server.requests[0]!.frame.tools).toEqual([{ type: "function", name: "file_read", description: "file_read tool", parameters: { type: "object", properties: {} } }]);
  });

  it("keeps encrypted reasoning and hands it back before the assistant message in the next request; reasoning options and service tier", async () => {
    const server = await start([
      { reasoning: { encrypted: "gAAAA-opaque-blob", summary: ["Thinking about files"] }, functionCalls: [{ callId: "call_1", name: "ls", arguments: {} }] },
      { text: "Done." },
    ]);
    const config = codexModel(server.url, { reasoning: { effort: "high", summary: "auto", fast: true, max_tokens: 9 } });
    const provider = createProvider(config, ENV);
    const first = await provider.complete(createRequest([userText("list")]), { signal: signal() });
    const reasoning: TranscriptItem = { type: "reasoning", encryptedContent: "gAAAA-opaque-blob", summary: ["Thinking about files"] };
    expect(first.content).toEqual([reasoning, { type: "tool_call", id: "call_1", name: "ls", arguments: "{}" }]);

    const history = [
      userText("list"),
      message("assistant", first.content),
      message("tool", [{ type: "tool_result", callId: "call_1", name: "ls", content: "a.txt", isError: false }]),
    ];
    const second = await provider.complete(createRequest(history), { signal: signal() });
    expect(second.content).toEqual([{ type: "text", text: "Done." }]);
    const frame = server.requests[1]!.frame;
    expect(frame.include).toEqual(["reasoning.encrypted_content"]);
    expect(frame.reasoning).toEqual({ effort: "high", summary: "auto" });
    expect(frame.service_tier).toBe("priority");
    expect(frame.input).toEqual([
      { type: "message", role: "user", content: [{ type: "input_text", text: "list" }] },
      { type: "reasoning", summary: [{ type: "summary_text", text: "Thinking about files" }], encrypted_content: "gAAAA-opaque-blob" },
      { type: "function_call", call_id: "call_1", name: "ls", arguments: "{}" },
      { type: "function_call_output", call_id: "call_1", output: "a.txt" },
    ]);
  });

  it("reasoning alone (a reply cut at the output limit while reasoning) is not handed back: it has no output to go with", async () => {
    const { mapMessage } = await import("../../src/providers/responses/request-mapping.js");
    const config = codexModel("http://x/v1/responses");
    expect(await mapMessage(message("assistant", [{ type: "reasoning", encryptedContent: "cut-blob", summary: [] }]), config, codexReasoningKept)).toEqual([]);
  });

  it("other providers never send a transcript's reasoning items", async () => {
    const { buildResponsesRequest } = await import("../../src/providers/index.js");
    const body = await buildResponsesRequest(createModelConfig("http://x/v1/responses", { provider_type: "open_router_responses" }), createRequest([message("assistant", [{ type: "reasoning", encryptedContent: "secret-blob", summary: [] }, { type: "text", text: "hi" }])]));
    expect(JSON.stringify(body)).not.toContain("secret-blob");
  });

  it("maps error and response.failed events: a status is that status's kind (400 not retried), none is a retryable server error", async () => {
    let server = await start([{ failWith: { status: 400, message: "model not supported with a ChatGPT account" } }]);
    let error = await rejection(createProvider(codexModel(server.url), ENV).complete(createRequest(), { signal: signal() }));
    expect(error.kind).toBe("bad_request");
    expect(error.status).toBe(400);
    expect(error.message).toContain("model not supported with a ChatGPT account");
    expect(server.requests).toHaveLength(1);
    await server.close();

    server = await start([{ failWith: { event: "response.failed", message: "overloaded" } }]);
    const retries: number[] = [];
    error = await rejection(createProvider(codexModel(server.url), ENV).complete(createRequest(), { signal: signal(), onRetry: (n) => retries.push(n.attempt) }));
    expect(error.kind).toBe("server");
    expect(error.message).toContain("overloaded");
    expect(server.requests).toHaveLength(3); // retry_mode: 2 retries
    expect(retries).toEqual([1, 2]);
  });

  it("a close before response.completed is a retryable network error (retry_mode once: one attempt)", async () => {
    const server = await start([{ text: "partial answer", closeEarly: true }]);
    const error = await rejection(createProvider(codexModel(server.url, { retry_mode: "once" }), ENV).complete(createRequest(), { signal: signal() }));
    expect(error.kind).toBe("network");
    expect(error.retryable).toBe(true);
    expect(error.message).toMatch(/closed the connection before the reply was complete \(code 1011: upstream went away\)/);
    expect(server.requests).toHaveLength(1);
  });

  it("a 401 at the handshake asks the host once for a new token and sends again", async () => {
    const fresh = chatgptToken(ACCOUNT, 3600, "renewed");
    const server = await start([{ text: "ok after refresh" }], [fresh]);
    const { ask, asked } = host(fresh);
    const answer = await createProvider(codexModel(server.url), ENV, { askCredentials: ask }).complete(createRequest(), { signal: signal() });
    expect(answer.content).toEqual([{ type: "text", text: "ok after refresh" }]);
    expect(asked).toEqual([{ providerType: "codex_subscription", reason: "rejected", staleTokenSha256: sha(TOKEN) }]);
    expect(server.refused).toBe(1);
    expect(server.handshakes.map((h) => h.authorization)).toEqual([`Bearer ${TOKEN}`, `Bearer ${fresh}`]);
  });

  it("a 401 in the stream does the same; a second 401 fails with kind auth (one refresh per attempt)", async () => {
    const fresh = chatgptToken(ACCOUNT, 3600, "renewed");
    const server = await start([{ failWith: { status: 401, message: "token revoked" } }, { text: "second time lucky" }]);
    const { ask, asked } = host(fresh);
    const answer = await createProvider(codexModel(server.url), ENV, { askCredentials: ask }).complete(createRequest(), { signal: signal() });
    expect(answer.content).toEqual([{ type: "text", text: "second time lucky" }]);
    expect(asked.map((a) => a.reason)).toEqual(["rejected"]);

    server.acceptTokens(["nothing-valid"]);
    const error = await rejection(createProvider(codexModel(server.url), ENV, { askCredentials: host(fresh).ask }).complete(createRequest(), { signal: signal() }));
    expect(error.kind).toBe("auth");
    expect(error.status).toBe(401);
  });

  it("renews a token that expires within a minute before connecting", async () => {
    const soon = chatgptToken(ACCOUNT, 30, "soon");
    const fresh = chatgptToken(ACCOUNT, 3600, "renewed");
    const server = await start([{ text: "fresh" }], [fresh]);
    const { ask, asked } = host(fresh);
    await createProvider(codexModel(server.url), { CHATGPT_ACCESS_TOKEN: soon }, { askCredentials: ask }).complete(createRequest(), { signal: signal() });
    expect(asked).toEqual([{ providerType: "codex_subscription", reason: "expiring", staleTokenSha256: sha(soon) }]);
    expect(server.refused).toBe(0);
    expect(server.handshakes[0]!["chatgpt-account-id"]).toBe(ACCOUNT); // from the token's claim
  });

  it("without a host, a refused or expired token fails saying what is missing; no token at all is a config error", async () => {
    const server = await start([{ text: "never" }], ["other"]);
    let error = await rejection(createProvider(codexModel(server.url), ENV).complete(createRequest(), { signal: signal() }));
    expect(error.kind).toBe("auth");
    expect(error.message).toMatch(/no host to refresh it \(model\/credentials\); pass a fresh CHATGPT_ACCESS_TOKEN/);
    expect(error.message).not.toContain(TOKEN);

    error = await rejection(createProvider(codexModel(server.url), { CHATGPT_ACCESS_TOKEN: chatgptToken(ACCOUNT, -10) }).complete(createRequest(), { signal: signal() }));
    expect(error.kind).toBe("auth");
    expect(error.message).toMatch(/expired at .* no host to refresh it/);

    error = await rejection(createProvider(codexModel(server.url), {}).complete(createRequest(), { signal: signal() }));
    expect(error.kind).toBe("config");
    expect(error.message).toMatch(/no ChatGPT access token.*auth\.json.*CHATGPT_ACCESS_TOKEN/);
    expect(server.handshakes).toHaveLength(1); // an expired token or none: no connection at all
  });

  it("cancelling closes the socket at once", async () => {
    const server = await start([{ text: "a long answer that never ends", stall: true }]);
    const controller = new AbortController();
    const deltas: string[] = [];
    // Without the abort the stall ends only at the stream's idle timeout, 60 s here: the same kind ("aborted", the retry
    // layer sees the signal), so only the time tells. 10 s is far beyond a cancel (a few ms) and far below the stall.
    const pending = createProvider(codexModel(server.url), ENV, { streamIdleTimeoutMs: 60_000 }).complete(createRequest(), {
      signal: controller.signal,
      onDelta: (d) => {
        deltas.push(d);
        controller.abort();
      },
    });
    const started = Date.now();
    const error = await rejection(pending);
    expect(error.kind).toBe("aborted");
    expect(Date.now() - started).toBeLessThan(10_000);
    await until(() => server.closed === 1 && server.open() === 0);
    expect(server.requests).toHaveLength(1);
  });

  it("a silent stream fails with kind timeout after stream_idle_timeout", async () => {
    const server = await start([{ text: "stalls", stall: true }]);
    const error = await rejection(createProvider(codexModel(server.url, { retry_mode: "once" }), ENV, { streamIdleTimeoutMs: 300 }).complete(createRequest(), { signal: signal() }));
    expect(error.kind).toBe("timeout");
    expect(error.message).toMatch(/silent for 0.3 s/);
  });
});
