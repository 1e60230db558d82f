import { afterEach, describe, expect, it } from "vitest";
import { encryptedReasoning } from "../../../../test/fakes/responses-reasoning.js";
import { startFakeResponses, type FakeResponses, type ResponsesReply } from "../../../../test/fakes/responses-server.js";
import type { ReasoningItem } from "@starling/protocol";
import { buildResponsesRequest, codexReasoningKept, createProvider } from "../../src/providers/index.js";
import { mapMessage, reasoningKept } from "../../src/providers/responses/request-mapping.js";
import { ResponseAssembler } from "../../src/providers/responses/response-assembler.js";
import { createModelConfig, createRequest, ENV, message, rejection, signal, TEST_KEY, userText } from "./helpers.js";

let fake: FakeResponses | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

async function start(replies: ResponsesReply[]): Promise<FakeResponses> {
  fake = await startFakeResponses({ apiKey: TEST_KEY, replies });
  return fake;
}

function responsesModel(url: string, overrides: Parameters<typeof createModelConfig>[1] = {}) {
  return createModelConfig(url, { provider_type: "open_router_responses", model_name: "openai/gpt-4.1", ...overrides });
}

describe("open_router_responses (OpenAI Responses) against the fake server", () => {
  it("streams output_text deltas, assembles function_call arguments, maps usage", async () => {
    const server = await start([
      {
        text: "Let me check that file.",
        chunkChars: 4,
        functionCalls: [{ callId: "call_x", name: "grep", arguments: { pattern: "TODO", path: "src" } }],
        usage: { input_tokens: 120, output_tokens: 30, cached_tokens: 100 },
      },
    ]);
    const deltas: string[] = [];
    const response = await createProvider(responsesModel(server.url), ENV).complete(createRequest(), { signal: signal(), onDelta: (d) => deltas.push(d) });
    expect(response.content).toEqual([
      { type: "text", text: "Let me check that file." },
      { type: "tool_call", id: "call_x", name: "grep", arguments: '{"pattern":"TODO","path":"src"}' },
    ]);
    expect(deltas.join("")).toBe("Let me check that file.");
    expect(deltas.length).toBeGreaterThan(3);
    expect(response.usage).toEqual({ inputTokens: 120, outputTokens: 30, cachedTokens: 100 });
    const req = server.requests[0]!;
    expect(req.headers["authorization"]).toBe(`Bearer ${TEST_KEY}`);
    expect(req.body).toMatchObject({ model: "openai/gpt-4.1", stream: true, store: false, instructions: "You are a test." });
    expect(req.body["input"]).toEqual([{ type: "message", role: "user", content: [{ type: "input_text", text: "hello" }] }]);
  });

  it("sends max_output_tokens; a reply cut there or by the content filter ends incomplete with its reason", async () => {
    const server = await start([{ text: "One two three four five six seven eight nine ten." }, { text: "The start of an answer", incomplete: "content_filter" }]);
    const cut = await createProvider(responsesModel(server.url, { max_output_tokens: 3 }), ENV).complete(createRequest(), { signal: signal() });
    expect(server.requests[0]!.body["max_output_tokens"]).toBe(3);
    expect(cut.content).toEqual([{ type: "text", text: "One two thre" }]);
    expect(cut.finishReason).toBe("max_output_tokens");
    const filtered = await createProvider(responsesModel(server.url), ENV).complete(createRequest(), { signal: signal() });
    expect(server.requests[1]!.body).not.toHaveProperty("max_output_tokens");
    expect(filtered.content).toEqual([{ type: "text", text: "The start of an answer" }]);
    expect(filtered.finishReason).toBe("content_filter");
    // Nothing but reasoning before the limit: returned as cut there (the turn gets the output-limit note), not the retried empty-reply error.
    server.push({ incomplete: "max_output_tokens" });
    const spent = await createProvider(responsesModel(server.url, { retry_mode: "once" }), ENV).complete(createRequest(), { signal: signal() });
    expect(spent).toMatchObject({ content: [], finishReason: "max_output_tokens" });
    expect(server.requests).toHaveLength(3);
  });

  it("retries a 500 then succeeds; does not retry 401; response.failed fails the call", async () => {
    const server = await start([{ status: 500 }, { text: "fine" }]);
    const response = await createProvider(responsesModel(server.url), ENV).complete(createRequest(), { signal: signal() });
    expect(response.content).toEqual([{ type: "text", text: "fine" }]);
    expect(server.requests).toHaveLength(2);

    const auth = await rejection(createProvider(responsesModel(server.url), { FAKE_API_KEY: "nope" }).complete(createRequest(), { signal: signal() }));
    expect(auth).toMatchObject({ kind: "auth", status: 401 });
    expect(server.requests).toHaveLength(3);

    server.push({ text: "partial", failWith: { code: "invalid_prompt", message: "prompt rejected" } });
    const failed = await rejection(createProvider(responsesModel(server.url, { retry_mode: "once" }), ENV).complete(createRequest(), { signal: signal() }));
    expect(failed.message).toContain("prompt rejected");
  });

  it("with reasoning configured: asks for the encrypted reasoning, keeps it stamped with the model, hands it back; the fake refuses a follow-up without it", async () => {
    const thought = { thought: "check the file first", summary: ["Checking"] };
    const server = await start([{ reasoning: thought, functionCalls: [{ callId: "call_r", name: "ls", arguments: {} }] }, { reasoning: thought, text: "done" }]);
    const config = responsesModel(server.url, { reasoning: { effort: "high" }, retry_mode: "once" });
    const provider = createProvider(config, ENV);
    const first = await provider.complete(createRequest(), { signal: signal() });
    expect(server.requests[0]!.body).toMatchObject({ reasoning: { effort: "high" }, include: ["reasoning.encrypted_content"], store: false });
    const reasoning = { type: "reasoning", format: "open_router_responses", model: "openai/gpt-4.1", encryptedContent: encryptedReasoning(thought.thought), summary: ["Checking"] };
    expect(first.content).toEqual([reasoning, { type: "tool_call", id: "call_r", name: "ls", arguments: "{}" }]);
    const result = message("tool", [{ type: "tool_result", callId: "call_r", name: "ls", content: "a.txt", isError: false }]);
    const answer = await provider.complete(createRequest([userText("hello"), message("assistant", first.content), result]), { signal: signal() });
    expect(answer.content.at(-1)).toEqual({ type: "text", text: "done" });
    expect((server.requests[1]!.body["input"] as unknown[]).slice(1, 3)).toEqual([
      { type: "reasoning", summary: [{ type: "summary_text", text: "Checking" }], encrypted_content: encryptedReasoning(thought.thought) },
      { type: "function_call", call_id: "call_r", name: "ls", arguments: "{}" },
    ]);
    // The fake enforces the round trip: the same follow-up without the reasoning item is refused.
    const dropped = message("assistant", first.content.filter((item) => item.type !== "reasoning"));
    const refused = await rejection(provider.complete(createRequest([userText("hello"), dropped, result]), { signal: signal() }));
    expect(refused).toMatchObject({ kind: "bad_request", status: 400 });
    expect(refused.message).toContain("reasoning item required");
    // Without `reasoning` configured: no `include`, and no reasoning kept (the fake sends none).
    server.push({ reasoning: thought, text: "plain" });
    const plain = await createProvider(responsesModel(server.url), ENV).complete(createRequest(), { signal: signal() });
    expect(server.requests.at(-1)!.body).not.toHaveProperty("include");
    expect(plain.content).toEqual([{ type: "text", text: "plain" }]);
  });

  it("aborts mid-stream with kind aborted", async () => {
    const server = await start([{ hang: true }]);
    const controller = new AbortController();
    const pending = createProvider(responsesModel(server.url), ENV).complete(createRequest(), { signal: controller.signal });
    await server.waitForRequests(1);
    controller.abort();
    expect((await rejection(pending)).kind).toBe("aborted");
  });

  it("reads a non-streamed JSON response", () => {
    const assembler = new ResponseAssembler();
    assembler.addResponse({
      output: [
        { type: "reasoning", summary: [] },
        { type: "message", role: "assistant", content: [{ type: "output_text", text: "done" }] },
        { type: "function_call", call_id: "c1", name: "ls", arguments: { path: "." } },
      ],
      usage: { input_tokens: 5, output_tokens: 2 },
    });
    expect(assembler.finish()).toMatchObject({
      content: [
        { type: "text", text: "done" },
        { type: "tool_call", id: "c1", name: "ls", arguments: '{"path":"."}' },
      ],
      usage: { inputTokens: 5, outputTokens: 2 },
    });
    expect(() => new ResponseAssembler().addResponse({ id: "x" })).toThrow("without an output array");
  });
});

describe("Responses request mapping", () => {
  it("reasoning goes back only to the model that wrote it: codex's to codex, an open_router_responses model's to that model with reasoning on", async () => {
    const codexItem = { type: "reasoning" as const, encryptedContent: "codex-blob", summary: [] };
    const routerItem = { type: "reasoning" as const, format: "open_router_responses" as const, model: "openai/gpt-5", encryptedContent: "router-blob", summary: [] };
    const turn = message("assistant", [codexItem, routerItem, { type: "text", text: "hi" }]);
    const sent = async (config: ReturnType<typeof responsesModel>, keep: (item: ReasoningItem) => boolean) => JSON.stringify(await mapMessage(turn, config, keep));
    const gpt5 = responsesModel("http://x/v1/responses", { model_name: "openai/gpt-5", reasoning: { effort: "low" } });
    expect(await sent(gpt5, reasoningKept(gpt5))).not.toContain("codex-blob");
    expect(await sent(gpt5, reasoningKept(gpt5))).toContain("router-blob");
    const other = { ...gpt5, model_name: "openai/o4-mini" };
    expect(await sent(other, reasoningKept(other))).not.toContain("-blob");
    const off = { ...gpt5, reasoning: undefined };
    expect(await sent(off, reasoningKept(off))).not.toContain("-blob");
    const codex = responsesModel("http://x/v1/responses", { provider_type: "codex_subscription" });
    expect(await sent(codex, codexReasoningKept)).toContain("codex-blob");
    expect(await sent(codex, codexReasoningKept)).not.toContain("router-blob");
  });

  it("maps assistant text, function calls and their outputs, summaries and tools", async () => {
    const body = await buildResponsesRequest(
      responsesModel("http://127.0.0.1:1/v1/responses", { capabilities: ["chat", "pdf_in"] }),
      createRequest(
        [
          message("context", [{ type: "text", text: "we talked" }]),
          userText("list"),
          message("assistant", [{ type: "text", text: "ok" }, { type: "tool_call", id: "c1", name: "ls", arguments: "{}" }]),
          message("tool", [{ type: "tool_result", callId: "c1", name: "ls", content: "a b", isError: false }]),
          message("user", [{ type: "file", uri: "data:application/pdf;base64,JVBERg==", name: "x.pdf" }, { type: "file", uri: "data:image/png;base64,AAAA" }]),
        ],
        { tools: [{ name: "ls", description: "list", parameters: { type: "object" } }] },
      ),
    );
    expect(body.input).toEqual([
      { type: "message", role: "user", content: [{ type: "input_text", text: "Summary of the earlier conversation:\nwe talked" }] },
      { type: "message", role: "user", content: [{ type: "input_text", text: "list" }] },
      { type: "message", role: "assistant", content: [{ type: "output_text", text: "ok" }] },
      { type: "function_call", call_id: "c1", name: "ls", arguments: "{}" },
      { type: "function_call_output", call_id: "c1", output: "a b" },
      {
        type: "message",
        role: "user",
        content: [
          { type: "input_file", filename: "x.pdf", file_data: "data:application/pdf;base64,JVBERg==" },
          { type: "input_text", text: expect.stringContaining("does not support image input") },
        ],
      },
    ]);
    expect(body.tools).toEqual([{ type: "function", name: "ls", description: "list", parameters: { type: "object" } }]);
  });
});
