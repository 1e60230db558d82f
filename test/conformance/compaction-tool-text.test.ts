// A summary request defines no tools, and Anthropic refuses tool_use / tool_result blocks in a request without
// tools (so does OpenRouter for a Claude model, passing Anthropic's refusal on): compaction sends the summarised
// piece's tool calls and results as text, for every provider, and stores the summary; the stored history keeps them.
import { describe, expect, it } from "vitest";
import { startFakeAnthropic, type AnthropicReply } from "../fakes/anthropic-server.js";
import { startFakeOpenAI, type ScriptedReply } from "../fakes/openai-server.js";
import { startFakeResponses, type ResponsesReply } from "../fakes/responses-server.js";
import type { BaseReply, RecordedRequest } from "../fakes/scripted-server.js";
import { pairingProblems, toolItems, transcript, userMessage } from "./harness.js";
import { wireEnv, type WireModel } from "./wire-env.js";

type Item = Record<string, unknown>;
const list = (value: unknown): Item[] => (Array.isArray(value) ? (value as Item[]) : []);

const isSummary = (req: RecordedRequest): boolean => JSON.stringify(req.body).includes("You compress a conversation");
const command = (n: number) => `echo listing ${n} ${"output ".repeat(40)}`;
const SUMMARY = "SUMMARY: listings were made with the shell.";

/** Each wire format: how its fake is scripted (a shell call for a new message, text after a result) and which of a body's parts are tool calls, results or reasoning. */
interface Format<R extends BaseReply> {
  name: string;
  model: WireModel<R>;
  modelFields?: Record<string, unknown>;
  reply(req: RecordedRequest): R;
  toolParts(body: Item): Item[];
}

let calls = 0;
const anthropic: Format<AnthropicReply> = {
  name: "claude_code (Anthropic Messages), thinking on",
  model: { providerType: "claude_code", modelName: "claude-sonnet-4-5", startFake: () => startFakeAnthropic({ apiKey: "test-key", responder: (req) => anthropic.reply(req) }) },
  modelFields: { reasoning: { max_tokens: 2048 }, max_output_tokens: 8192 },
  reply: (req) => {
    if (isSummary(req)) return { text: SUMMARY };
    const last = list(req.body["messages"]).at(-1)!;
    if (list(last["content"]).some((b) => b["type"] === "tool_result")) return { text: "Listed." };
    return { thinking: [{ thinking: "One listing." }], toolUses: [{ name: "shell", input: { command: command(++calls) } }] };
  },
  toolParts: (body) => list(body["messages"]).flatMap((m) => list(m["content"])).filter((b) => ["tool_use", "tool_result", "thinking", "redacted_thinking"].includes(String(b["type"]))),
};

const chat = (modelName: string): Format<ScriptedReply> => {
  const format: Format<ScriptedReply> = {
    name: `open_router_completion (chat completions), ${modelName}`,
    model: { providerType: "open_router_completion", modelName, startFake: () => startFakeOpenAI({ apiKey: "test-key", responder: (req) => format.reply(req) }) },
    reply: (req) => {
      if (isSummary(req)) return { text: SUMMARY };
      if (list(req.body["messages"]).at(-1)!["role"] === "tool") return { text: "Listed." };
      return { toolCalls: [{ name: "shell", arguments: { command: command(++calls) } }] };
    },
    toolParts: (body) => list(body["messages"]).filter((m) => m["role"] === "tool" || m["tool_calls"] !== undefined),
  };
  return format;
};

const responses = (modelName: string): Format<ResponsesReply> => {
  const format: Format<ResponsesReply> = {
    name: `open_router_responses (Responses), ${modelName}`,
    model: { providerType: "open_router_responses", modelName, startFake: () => startFakeResponses({ apiKey: "test-key", responder: (req) => format.reply(req) }) },
    reply: (req) => {
      if (isSummary(req)) return { text: SUMMARY };
      if (list(req.body["input"]).at(-1)!["type"] === "function_call_output") return { text: "Listed." };
      return { functionCalls: [{ name: "shell", arguments: { command: command(++calls) } }] };
    },
    toolParts: (body) => list(body["input"]).filter((i) => ["function_call", "function_call_output", "reasoning"].includes(String(i["type"]))),
  };
  return format;
};

const formats: Array<Format<AnthropicReply> | Format<ScriptedReply> | Format<ResponsesReply>> = [
  anthropic,
  chat("anthropic/claude-sonnet-4.5"),
  chat("fake-model"),
  responses("anthropic/claude-sonnet-4.5"),
  responses("fake-model"),
];

describe("compaction of a conversation with tool calls: the summary request carries them as text", () => {
  it.for(formats.map((f) => [f.name, f] as const))("%s", { timeout: 60_000 }, async ([, format], ctx) => {
    const env = await wireEnv(ctx, format.model as WireModel<BaseReply>);
    const fake = env.fake;
    const worker = await env.start({ model: format.modelFields ?? {}, init: { compression: { thresholdTokens: 150, retainRecentTokens: 20 } } });
    for (const [i, id] of ["t1", "t2", "t3"].entries()) {
      await worker.client.enqueue(userMessage(id, `Make listing ${i + 1}.`));
      const end = await Promise.race([
        worker.waitForEvent("turn_completed", (e) => e.turnId === i + 1, 30_000),
        worker.waitForEvent("turn_failed", undefined, 30_000).then((e) => Promise.reject(new Error(e.error.message))),
      ]);
      expect(end.message.content).toEqual([{ type: "text", text: "Listed." }]);
    }

    // Every summary request was answered and its summary stored (a refused one leaves the history uncompacted).
    const summaries = fake.requests.filter(isSummary);
    const compacted = worker.eventsOf("compacted");
    expect(compacted.length).toBeGreaterThanOrEqual(1);
    expect(summaries.length).toBe(compacted.length);
    const current = await transcript(worker.client, "current");
    expect(current[0]).toMatchObject({ role: "context", content: [{ type: "text", text: expect.stringContaining(SUMMARY) }] });

    // The summary requests: no tool definitions, no tool blocks or reasoning, the calls and results as text.
    for (const req of summaries) {
      expect(list(req.body["tools"])).toEqual([]);
      expect(format.toolParts(req.body)).toEqual([]);
    }
    const sent = summaries.map((r) => JSON.stringify(r.body)).join("\n");
    expect(sent).toContain(`[tool call shell {\\"command\\":\\"echo listing `);
    expect(sent).toContain("[tool result of shell]\\nlisting ");

    // The model calls of the turns still carry real tool calls, and the stored history keeps them.
    expect(fake.requests.filter((r) => !isSummary(r)).some((r) => format.toolParts(r.body).length > 0)).toBe(true);
    const all = await transcript(worker.client, "all");
    expect(toolItems(all).calls).toHaveLength(3);
    expect(pairingProblems(all)).toEqual([]);
  });
});
