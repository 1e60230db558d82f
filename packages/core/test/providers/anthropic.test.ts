import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { startFakeAnthropic, type AnthropicReply, type FakeAnthropic } from "../../../../test/fakes/anthropic-server.js";
import { thinkingSignature } from "../../../../test/fakes/anthropic-thinking.js";
import { buildAnthropicRequest, buildResponsesRequest, codexReasoningKept, createProvider } from "../../src/providers/index.js";
import { buildChatRequest } from "../../src/providers/chat-completions/request-mapping.js";
import { MessageAssembler } from "../../src/providers/anthropic/message-assembler.js";
import { mapMessage as mapResponsesMessage } from "../../src/providers/responses/request-mapping.js";
import { createModelConfig, createRequest, ENV, LS_TOOL, message, rejection, signal, TEST_KEY, userText } from "./helpers.js";

let fake: FakeAnthropic | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

async function start(replies: AnthropicReply[]): Promise<FakeAnthropic> {
  fake = await startFakeAnthropic({ apiKey: TEST_KEY, replies });
  return fake;
}

function claude(url: string, overrides: Parameters<typeof createModelConfig>[1] = {}) {
  return createModelConfig(url, { provider_type: "claude_code", model_name: "claude-sonnet-4-5", ...overrides });
}

describe("claude_code (Anthropic Messages) against the fake server", () => {
  it("streams text, assembles tool_use input split across input_json_delta events, maps usage with cache tokens", async () => {
    const server = await start([
      {
        text: "Reading it now.",
        chunkChars: 3,
        toolUses: [{ id: "toolu_1", name: "file_read", input: { file_path: "a long/path name.txt", limit: 40 } }],
        usage: { input_tokens: 10, output_tokens: 7, cache_read_input_tokens: 300, cache_creation_input_tokens: 20 },
      },
    ]);
    const deltas: string[] = [];
    const response = await createProvider(claude(server.url), ENV).complete(createRequest(), { signal: signal(), onDelta: (d) => deltas.push(d) });
    expect(response.content).toEqual([
      { type: "text", text: "Reading it now." },
      { type: "tool_call", id: "toolu_1", name: "file_read", arguments: '{"file_path":"a long/path name.txt","limit":40}' },
    ]);
    expect(deltas.length).toBeGreaterThan(3);
    expect(response.usage).toEqual({ inputTokens: 330, outputTokens: 7, cachedTokens: 300 });
    expect(response.finishReason).toBe("tool_use");
    const req = server.requests[0]!;
    expect(req.headers["x-api-key"]).toBe(TEST_KEY);
    expect(req.headers["anthropic-version"]).toBe("2023-06-01");
    expect(req.headers["authorization"]).toBeUndefined();
    expect(req.body).toMatchObject({ model: "claude-sonnet-4-5", stream: true, max_tokens: 4096, system: [{ type: "text", text: "You are a test." }] });
  });

  it("sends max_output_tokens as max_tokens; the fake cuts the reply there", async () => {
    const server = await start([{ text: "One two three four five six seven eight nine ten." }]);
    const cut = await createProvider(claude(server.url, { max_output_tokens: 3 }), ENV).complete(createRequest(), { signal: signal() });
    expect(server.requests[0]!.body["max_tokens"]).toBe(3);
    expect(cut.content).toEqual([{ type: "text", text: "One two thre" }]);
    expect(cut.finishReason).toBe("max_tokens");
  });

  it("extended thinking: reasoning.max_tokens is the budget; the signed thinking of a tool-use reply goes back unchanged", async () => {
    const thought = "The user wants the listing. I should call ls on the current folder first.";
    const server = await start([
      { thinking: [{ thinking: thought }, { redacted: "opaque-bytes" }], toolUses: [{ id: "toolu_1", name: "ls", input: { path: "." } }], chunkChars: 7 },
      { thinking: [{ thinking: "Two files: say so." }], text: "There are two files." },
    ]);
    const deltas: string[] = [];
    const provider = createProvider(claude(server.url, { reasoning: { max_tokens: 2048 }, max_output_tokens: 8192 }), ENV);
    const first = await provider.complete(createRequest(), { signal: signal(), onDelta: (d) => deltas.push(d) });
    expect(server.requests[0]!.body).toMatchObject({ max_tokens: 8192, thinking: { type: "enabled", budget_tokens: 2048 } });
    expect(server.requests[0]!.body).not.toHaveProperty("temperature");
    const signed = thinkingSignature(thought);
    expect(first.content).toEqual([
      { type: "reasoning", format: "claude_thinking", encryptedContent: signed, summary: [thought] },
      { type: "reasoning", format: "claude_redacted_thinking", encryptedContent: "fake-redacted:opaque-bytes", summary: [] },
      { type: "tool_call", id: "toolu_1", name: "ls", arguments: '{"path":"."}' },
    ]);
    expect(deltas).toEqual([]); // thinking is never streamed to the chat as answer text

    const second = await provider.complete(
      createRequest([userText("what is here?"), message("assistant", first.content), message("tool", [{ type: "tool_result", callId: "toolu_1", name: "ls", content: "a.txt b.txt", isError: false }])], { tools: [LS_TOOL] }),
      { signal: signal() },
    );
    expect(second.content.at(-1)).toEqual({ type: "text", text: "There are two files." });
    const sent = server.requests[1]!.body["messages"] as Array<{ role: string; content: unknown[] }>;
    expect(sent[1]).toEqual({
      role: "assistant",
      content: [
        { type: "thinking", thinking: thought, signature: signed },
        { type: "redacted_thinking", data: "fake-redacted:opaque-bytes" },
        { type: "tool_use", id: "toolu_1", name: "ls", input: { path: "." } },
      ],
    });
  });

  it("thinking within a tool-use cycle: kept when the turn's first assistant message thought (Claude thinks once per turn), left out when the cycle began without it", async () => {
    const server = await start([{ text: "Done." }, { text: "Done without thinking." }]);
    const provider = createProvider(claude(server.url, { reasoning: { max_tokens: 2048 }, max_output_tokens: 8192 }), ENV);
    const thought = "Two steps: ls, then cat.";
    const result = (callId: string) => message("tool", [{ type: "tool_result", callId, name: "ls", content: "a.txt", isError: false }]);
    const call = (id: string) => ({ type: "tool_call" as const, id, name: "ls", arguments: "{}" });
    // A two-step cycle: Claude thought before the first call only, not again after the tool result.
    const thinking = { type: "reasoning" as const, format: "claude_thinking" as const, encryptedContent: thinkingSignature(thought), summary: [thought] };
    await provider.complete(createRequest([userText("list and read"), message("assistant", [thinking, call("t1")]), result("t1"), message("assistant", [call("t2")]), result("t2")], { tools: [LS_TOOL] }), { signal: signal() });
    expect(server.requests[0]!.body).toMatchObject({ thinking: { type: "enabled", budget_tokens: 2048 } });
    // The same cycle begun by a model without thinking (a /model switch mid-turn): this call goes without thinking.
    const second = await provider.complete(createRequest([userText("list it"), message("assistant", [call("t3")]), result("t3")], { tools: [LS_TOOL] }), { signal: signal() });
    expect(second.content).toEqual([{ type: "text", text: "Done without thinking." }]);
    expect(server.requests[1]!.body).not.toHaveProperty("thinking");
  });

  it('adaptive thinking (reasoning {"type": "adaptive"}): asked for on every call of a tool-use cycle, also when Claude did not think at its start; thinking between tool calls goes back signed', async () => {
    const later = "The listing has a.txt: read it before answering.";
    const server = await start([
      // No thinking before the first call (adaptive: Claude decided the step was simple), thinking after the result.
      { toolUses: [{ id: "toolu_a", name: "ls", input: { path: "." } }] },
      { thinking: [{ thinking: later }], toolUses: [{ id: "toolu_b", name: "ls", input: { path: "a.txt" } }] },
      { text: "a.txt holds notes." },
    ]);
    const provider = createProvider(claude(server.url, { model_name: "claude-opus-4-7", reasoning: { type: "adaptive" }, effort: "high", max_output_tokens: 16000 }), ENV);
    const history = [userText("what is in here?")];
    for (let step = 0; step < 3; step++) {
      const reply = await provider.complete(createRequest(history, { tools: [LS_TOOL] }), { signal: signal() });
      history.push(message("assistant", reply.content));
      const call = reply.content.find((item) => item.type === "tool_call");
      if (call?.type === "tool_call") history.push(message("tool", [{ type: "tool_result", callId: call.id, name: "ls", content: step === 0 ? "a.txt" : "notes", isError: false }]));
    }
    expect(history.at(-1)!.content).toEqual([{ type: "text", text: "a.txt holds notes." }]);
    for (const request of server.requests) {
      expect(request.body).toMatchObject({ model: "claude-opus-4-7", max_tokens: 16000, thinking: { type: "adaptive" }, output_config: { effort: "high" } });
      expect(request.body["thinking"]).not.toHaveProperty("budget_tokens");
    }
    const sent = server.requests[2]!.body["messages"] as Array<{ role: string; content: Array<Record<string, unknown>> }>;
    expect(sent[3]!.content[0]).toEqual({ type: "thinking", thinking: later, signature: thinkingSignature(later) });
  });

  it("effort goes as output_config.effort, nothing without it; the fake refuses a malformed one", async () => {
    const server = await start([{ text: "brief" }, { text: "full" }]);
    await createProvider(claude(server.url, { model_name: "claude-opus-4-6", effort: "low" }), ENV).complete(createRequest(), { signal: signal() });
    expect(server.requests[0]!.body).toMatchObject({ model: "claude-opus-4-6", output_config: { effort: "low" } });
    await createProvider(claude(server.url), ENV).complete(createRequest(), { signal: signal() });
    expect(server.requests[1]!.body).not.toHaveProperty("output_config");
    for (const [body, refusal] of [
      [{ output_config: { effort: "extreme" } }, "output_config.effort: Input should be 'low', 'medium', 'high', 'xhigh' or 'max'"],
      [{ effort: "low" }, "effort: Extra inputs are not permitted"],
    ] as const) {
      const res = await fetch(server.url, {
        method: "POST",
        headers: { "content-type": "application/json", "x-api-key": TEST_KEY, "anthropic-version": "2023-06-01" },
        body: JSON.stringify({ model: "claude-opus-4-6", max_tokens: 100, messages: [{ role: "user", content: "hi" }], ...body }),
      });
      expect(res.status).toBe(400);
      expect(JSON.stringify(await res.json())).toContain(refusal);
    }
  });

  it("without reasoning.max_tokens no thinking is asked for; a thinking block whose text was changed is refused (the fake checks signatures as Anthropic does)", async () => {
    const server = await start([{ text: "plain" }, { text: "never" }]);
    const provider = createProvider(claude(server.url), ENV);
    await provider.complete(createRequest(), { signal: signal() });
    expect(server.requests[0]!.body).not.toHaveProperty("thinking");
    expect(server.requests[0]!.body["max_tokens"]).toBe(4096);
    const forged = message("assistant", [{ type: "reasoning", format: "claude_thinking", encryptedContent: "fake-sig:made-up", summary: ["edited"] }, { type: "text", text: "hi" }]);
    const error = await rejection(provider.complete(createRequest([userText("a"), forged, userText("b")]), { signal: signal() }));
    expect(error).toMatchObject({ kind: "bad_request", status: 400 });
    expect(error.message).toContain("Invalid `signature` in `thinking` block");
  });

  it("retries a 429 and an overloaded_error event, then succeeds", async () => {
    const server = await start([{ status: 429, retryAfterSeconds: 0 }, { streamError: { type: "overloaded_error", message: "Overloaded" } }, { text: "ok" }]);
    const kinds: string[] = [];
    const response = await createProvider(claude(server.url), ENV).complete(createRequest(), { signal: signal(), onRetry: (n) => kinds.push(n.error.kind) });
    expect(response.content).toEqual([{ type: "text", text: "ok" }]);
    expect(kinds).toEqual(["rate_limited", "server"]);
    expect(server.requests).toHaveLength(3);
  });

  it("does not retry a 401 and names the status", async () => {
    const server = await start([{ text: "never" }]);
    const error = await rejection(createProvider(claude(server.url), { FAKE_API_KEY: "wrong" }).complete(createRequest(), { signal: signal() }));
    expect(error).toMatchObject({ kind: "auth", status: 401 });
    expect(error.message).toContain("invalid x-api-key");
    expect(server.requests).toHaveLength(1);
  });

  it("a stream cut off before message_stop is a retryable network error", async () => {
    const server = await start([{ text: "a long answer that gets cut", chunkChars: 2, dropConnection: true }, { text: "second try" }]);
    const response = await createProvider(claude(server.url), ENV).complete(createRequest(), { signal: signal() });
    expect(response.content).toEqual([{ type: "text", text: "second try" }]);
    expect(server.requests).toHaveLength(2);
  });

  it("aborts a hanging request at once with kind aborted", async () => {
    const server = await start([{ hang: true }]);
    const controller = new AbortController();
    const pending = createProvider(claude(server.url), ENV).complete(createRequest(), { signal: controller.signal });
    await server.waitForRequests(1);
    controller.abort();
    expect((await rejection(pending)).kind).toBe("aborted");
    expect(server.requests).toHaveLength(1);
  });
});

describe("Anthropic replies", () => {
  it("reads a non-streamed message (signed and redacted thinking kept, unsigned thinking left out) and classifies error events", () => {
    const assembler = new MessageAssembler();
    assembler.addMessage({
      type: "message",
      content: [
        { type: "thinking", thinking: "hmm" },
        { type: "thinking", thinking: "signed thought", signature: "sig-1" },
        { type: "redacted_thinking", data: "opaque" },
        { type: "text", text: "Here." },
        { type: "tool_use", id: "t9", name: "ls", input: { path: "." } },
      ],
      stop_reason: "tool_use",
      usage: { input_tokens: 10, output_tokens: 3, cache_read_input_tokens: 3 },
    });
    expect(assembler.finish()).toEqual({
      content: [
        { type: "reasoning", format: "claude_thinking", encryptedContent: "sig-1", summary: ["signed thought"] },
        { type: "reasoning", format: "claude_redacted_thinking", encryptedContent: "opaque", summary: [] },
        { type: "text", text: "Here." },
        { type: "tool_call", id: "t9", name: "ls", arguments: '{"path":"."}' },
      ],
      usage: { inputTokens: 13, outputTokens: 3, cachedTokens: 3 },
      finishReason: "tool_use",
    });
    // A reply of thinking alone has nothing to show or run: the empty-reply error, as before.
    const thinkingOnly = new MessageAssembler();
    thinkingOnly.addMessage({ type: "message", content: [{ type: "thinking", thinking: "x", signature: "s" }], stop_reason: "end_turn" });
    expect(() => thinkingOnly.finish()).toThrow("the model returned an empty reply (stop_reason: end_turn)");
    // …unless max_tokens cut it while it was still thinking: an answer stopped at the output limit, signed or not.
    const cut = new MessageAssembler();
    cut.addMessage({ type: "message", content: [{ type: "thinking", thinking: "x", signature: "s" }], stop_reason: "max_tokens" });
    expect(cut.finish()).toMatchObject({ content: [{ type: "reasoning", format: "claude_thinking", encryptedContent: "s", summary: ["x"] }], finishReason: "max_tokens" });
    const unsigned = new MessageAssembler();
    unsigned.addMessage({ type: "message", content: [{ type: "thinking", thinking: "half a thou" }], stop_reason: "max_tokens" });
    expect(unsigned.finish()).toMatchObject({ content: [], finishReason: "max_tokens" });
    const kindOf = (type: string) => {
      try {
        new MessageAssembler().addEvent({ type: "error", error: { type, message: "x" } });
      } catch (e) {
        return (e as { kind: string }).kind;
      }
      return "none";
    };
    expect([kindOf("overloaded_error"), kindOf("rate_limit_error"), kindOf("invalid_request_error"), kindOf("authentication_error")]).toEqual([
      "server",
      "rate_limited",
      "bad_request",
      "auth",
    ]);
  });
});

describe("Anthropic request mapping", () => {
  it("reasoning goes back only to its own provider type: no codex reasoning to Claude, no Claude thinking to codex", async () => {
    const codexReasoning = { type: "reasoning" as const, encryptedContent: "gAAAA-codex", summary: ["codex thought"] };
    const claudeThinking = { type: "reasoning" as const, format: "claude_thinking" as const, encryptedContent: "sig-claude", summary: ["claude thought"] };
    const history = [userText("hi"), message("assistant", [codexReasoning, claudeThinking, { type: "text", text: "hello" }]), userText("again")];
    const toClaude = await buildAnthropicRequest(claude("http://127.0.0.1:1/v1/messages"), createRequest(history));
    expect(toClaude.messages[1]!.content).toEqual([{ type: "thinking", thinking: "claude thought", signature: "sig-claude" }, { type: "text", text: "hello" }]);
    const toCodex = await mapResponsesMessage(history[1]!, createModelConfig("http://127.0.0.1:1/v1/responses", { provider_type: "codex_subscription" }), codexReasoningKept);
    expect(JSON.stringify(toCodex)).not.toContain("sig-claude");
    expect(toCodex[0]).toEqual({ type: "reasoning", summary: [{ type: "summary_text", text: "codex thought" }], encrypted_content: "gAAAA-codex" });
    // Nor to OpenRouter (chat completions or Responses): neither the signature nor the thinking text.
    for (const body of [
      await buildChatRequest(createModelConfig("http://127.0.0.1:1/v1/chat/completions", { provider_type: "open_router_completion" }), createRequest(history)),
      await buildResponsesRequest(createModelConfig("http://127.0.0.1:1/v1/responses", { provider_type: "open_router_responses" }), createRequest(history)),
    ]) {
      expect(JSON.stringify(body)).not.toMatch(/sig-claude|claude thought/);
      expect(JSON.stringify(body)).toContain("hello");
    }
  });

  it("maps tool calls, tool results (merged into one user turn), images, PDFs and prompt caching", async () => {
    const dir = mkdtempSync(join(tmpdir(), "anthropic-map-"));
    writeFileSync(join(dir, "shot.png"), Buffer.from([0x89, 0x50, 0x4e, 0x47]));
    writeFileSync(join(dir, "doc.pdf"), "%PDF-1.4 fake");
    const png = pathToFileURL(join(dir, "shot.png")).href;
    const pdf = pathToFileURL(join(dir, "doc.pdf")).href;
    const config = claude("http://127.0.0.1:1/v1/messages", { capabilities: ["chat", "image_in"], cache_timeout: 3600 });
    const body = await buildAnthropicRequest(
      config,
      createRequest([
        message("user", [{ type: "text", text: "look" }, { type: "file", uri: png, mediaType: "image/png" }, { type: "file", uri: pdf, name: "doc.pdf" }], { userName: "ann" }),
        message("assistant", [{ type: "text", text: "checking" }, { type: "tool_call", id: "t1", name: "ls", arguments: '{"path":"."}' }, { type: "tool_call", id: "t2", name: "bad", arguments: "{oops" }]),
        message("tool", [
          { type: "tool_result", callId: "t1", name: "ls", content: "a.txt", isError: false },
          { type: "tool_result", callId: "t2", name: "bad", content: "", isError: true },
        ]),
        userText("thanks"),
      ]),
    );
    expect(body.system).toEqual([{ type: "text", text: "You are a test.", cache_control: { type: "ephemeral", ttl: "1h" } }]);
    expect(body.messages.map((m) => m.role)).toEqual(["user", "assistant", "user"]);
    const [first, second, third] = body.messages;
    expect(first!.content[0]).toEqual({ type: "text", text: expect.stringMatching(/^\[from ann at /) });
    expect(first!.content[2]).toEqual({ type: "image", source: { type: "base64", media_type: "image/png", data: "iVBORw==" } });
    // No pdf_in: the PDF is described, not sent.
    expect(first!.content[3]).toMatchObject({ type: "text", text: expect.stringContaining("does not support pdf input") });
    expect(second!.content).toEqual([
      { type: "text", text: "checking" },
      { type: "tool_use", id: "t1", name: "ls", input: { path: "." } },
      { type: "tool_use", id: "t2", name: "bad", input: {} },
    ]);
    expect(third!.content).toEqual([
      { type: "tool_result", tool_use_id: "t1", content: "a.txt" },
      { type: "tool_result", tool_use_id: "t2", content: "(no output)", is_error: true },
      { type: "text", text: "thanks", cache_control: { type: "ephemeral", ttl: "1h" } },
    ]);

    const withPdf = await buildAnthropicRequest({ ...config, capabilities: ["chat", "pdf_in"], cache_timeout: 60 }, createRequest([message("user", [{ type: "file", uri: pdf }])]));
    expect(withPdf.messages[0]!.content).toEqual([{ type: "document", source: { type: "base64", media_type: "application/pdf", data: Buffer.from("%PDF-1.4 fake").toString("base64") } }]);
    expect(JSON.stringify(withPdf)).not.toContain("cache_control");
  });
});
