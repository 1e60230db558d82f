// A conversation that used tools, then continued with none offered (config `tools.deny` naming every tool, passed
// as `initialize.toolDeny`): Anthropic refuses tool_use / tool_result blocks in a request without tools (so does
// OpenRouter for a Claude model), so such a turn goes with the history's tool calls and results as text and is
// answered. Other models get the request as it is.
import { TOOL_NAMES } from "@starling/protocol";
import { describe, expect, it } from "vitest";
import { startFakeAnthropic, type AnthropicReply } from "../fakes/anthropic-server.js";
import { startFakeOpenAI, type ScriptedReply } from "../fakes/openai-server.js";
import { startFakeResponses, type ResponsesReply } from "../fakes/responses-server.js";
import type { BaseReply, RecordedRequest } from "../fakes/scripted-server.js";
import { pairingProblems, toolItems, transcript, userMessage, type WorkerUnderTest } from "./harness.js";
import { wireEnv, type WireModel } from "./wire-env.js";

type Item = Record<string, unknown>;
const list = (value: unknown): Item[] => (Array.isArray(value) ? (value as Item[]) : []);
const offersTools = (req: RecordedRequest): boolean => list(req.body["tools"]).length > 0;
const ANSWER = "From memory: one listing was made.";

/** Each wire format: its fake scripted (with tools: a shell call, then text after the result; without: text) and a body's tool parts. */
interface Format<R extends BaseReply> {
  name: string;
  model: WireModel<R>;
  modelFields?: Record<string, unknown>;
  /** Whether the request without tools carries the history's tool calls as text (the model is served by Anthropic). */
  asText: boolean;
  reply(req: RecordedRequest): R;
  toolParts(body: Item): Item[];
}

const anthropic: Format<AnthropicReply> = {
  name: "claude_code (Anthropic Messages), thinking on",
  model: { providerType: "claude_code", modelName: "claude-sonnet-4-5", startFake: () => startFakeAnthropic({ apiKey: "test-key", responder: (req) => anthropic.reply(req) }) },
  modelFields: { reasoning: { max_tokens: 2048 }, max_output_tokens: 8192 },
  asText: true,
  reply: (req) => {
    if (!offersTools(req)) return { thinking: [{ thinking: "No tools now." }], text: ANSWER };
    const last = list(req.body["messages"]).at(-1)!;
    if (list(last["content"]).some((b) => b["type"] === "tool_result")) return { text: "Listed." };
    return { thinking: [{ thinking: "One listing." }], toolUses: [{ name: "shell", input: { command: "echo listing-one" } }] };
  },
  toolParts: (body) => list(body["messages"]).flatMap((m) => list(m["content"])).filter((b) => ["tool_use", "tool_result", "thinking", "redacted_thinking"].includes(String(b["type"]))),
};

const chat = (modelName: string, asText: boolean): Format<ScriptedReply> => {
  const format: Format<ScriptedReply> = {
    name: `open_router_completion (chat completions), ${modelName}`,
    model: { providerType: "open_router_completion", modelName, startFake: () => startFakeOpenAI({ apiKey: "test-key", responder: (req) => format.reply(req) }) },
    asText,
    reply: (req) => {
      if (!offersTools(req)) return { text: ANSWER };
      if (list(req.body["messages"]).at(-1)!["role"] === "tool") return { text: "Listed." };
      return { toolCalls: [{ name: "shell", arguments: { command: "echo listing-one" } }] };
    },
    toolParts: (body) => list(body["messages"]).filter((m) => m["role"] === "tool" || m["tool_calls"] !== undefined),
  };
  return format;
};

const responses = (modelName: string, asText: boolean): Format<ResponsesReply> => {
  const format: Format<ResponsesReply> = {
    name: `open_router_responses (Responses), ${modelName}`,
    model: { providerType: "open_router_responses", modelName, startFake: () => startFakeResponses({ apiKey: "test-key", responder: (req) => format.reply(req) }) },
    asText,
    reply: (req) => {
      if (!offersTools(req)) return { text: ANSWER };
      if (list(req.body["input"]).at(-1)!["type"] === "function_call_output") return { text: "Listed." };
      return { functionCalls: [{ name: "shell", arguments: { command: "echo listing-one" } }] };
    },
    toolParts: (body) => list(body["input"]).filter((i) => ["function_call", "function_call_output", "reasoning"].includes(String(i["type"]))),
  };
  return format;
};

const formats: Array<Format<AnthropicReply> | Format<ScriptedReply> | Format<ResponsesReply>> = [
  anthropic,
  chat("anthropic/claude-sonnet-4.5", true),
  responses("anthropic/claude-sonnet-4.5", true),
  chat("fake-model", false),
  responses("fake-model", false),
];

/** The text of the answer to `text` (Claude's stored thinking left out). */
async function answered(worker: WorkerUnderTest, turnId: number, id: string, text: string): Promise<unknown> {
  await worker.client.enqueue(userMessage(id, text));
  const end = await Promise.race([
    worker.waitForEvent("turn_completed", (e) => e.turnId === turnId, 30_000),
    worker.waitForEvent("turn_failed", (e) => e.turnId === turnId, 30_000).then((e) => Promise.reject(new Error(`turn ${turnId} failed: ${e.error.message}`))),
  ]);
  return end.message.content.filter((item) => item.type === "text");
}

describe("a turn without tools after a history with tool calls", () => {
  it.for(formats.map((f) => [f.name, f] as const))("%s", { timeout: 60_000 }, async ([, format], ctx) => {
    const env = await wireEnv(ctx, format.model as WireModel<BaseReply>);
    const fake = env.fake;
    const first = await env.start({ model: format.modelFields ?? {} });
    expect(await answered(first, 1, "u1", "Make a listing.")).toEqual([{ type: "text", text: "Listed." }]);
    expect(await first.client.shutdown()).toEqual({});
    await first.exited();

    // The operator denies every tool (config tools.deny); the conversation's worker starts again with none.
    const second = await env.start({ model: format.modelFields ?? {}, init: { toolDeny: [...TOOL_NAMES] } });
    expect(await answered(second, 2, "u2", "What did you list?")).toEqual([{ type: "text", text: ANSWER }]);

    const last = fake.requests.at(-1)!;
    expect(offersTools(last)).toBe(false);
    const sent = JSON.stringify(last.body);
    if (format.asText) {
      // No tool blocks and no reasoning; the call and its result as text, the user's messages as they were.
      expect(format.toolParts(last.body)).toEqual([]);
      expect(sent).toContain(`[tool call shell {\\"command\\":\\"echo listing-one\\"}]`);
      expect(sent).toContain("[tool result of shell]\\nlisting-one");
      expect(sent).toContain("Make a listing.");
      expect(sent).toContain("What did you list?");
      // Claude may think again: the rendered history has no tool-use cycle running.
      if (format === anthropic) expect(last.body["thinking"]).toEqual({ type: "enabled", budget_tokens: 2048 });
    } else {
      expect(format.toolParts(last.body).length).toBeGreaterThan(0);
      expect(sent).not.toContain("[tool call shell");
    }

    // The stored history keeps the real tool call and its result.
    const all = await transcript(second.client, "all");
    expect(toolItems(all).calls).toHaveLength(1);
    expect(pairingProblems(all)).toEqual([]);
  });
});
