// Claude extended thinking end to end: a claude_code main model with `reasoning.max_tokens` asks for
// thinking with that budget; the signed thinking block of a tool-use reply is stored in the session's
// history and sent back unchanged with the tool result (the fake Anthropic server refuses a request
// without it, or with a changed one, as the real API does), also by a worker restarted after a kill -9. The
// model's `effort` reaches the request as `output_config.effort`. A model with `reasoning: {"type": "adaptive"}`
// asks for adaptive thinking on every call, also after a first step Claude took without thinking.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFakeAnthropic, type AnthropicReply, type FakeAnthropic } from "../fakes/anthropic-server.js";
import { thinkingSignature } from "../fakes/anthropic-thinking.js";
import type { RecordedRequest } from "../fakes/scripted-server.js";
import { privateChat } from "../fakes/telegram-api.js";
import { afterTool as chatAfterTool, MODEL_KEY, startE2E, type E2E } from "./fixture.js";

const chat = privateChat(5160, "Thinker");
const PLAIN_MODEL = "claude-haiku-4-5";
const ADAPTIVE_MODEL = "claude-opus-4-7";
const adaptiveThought = (tag: string): string => `The listing for [${tag}] came back: answer from it.`;
let e2e: E2E;
let anthropic: FakeAnthropic;

interface WireBlock {
  type: string;
  text?: string;
}
interface WireMessage {
  role: string;
  content: WireBlock[];
}

const messagesOf = (req: RecordedRequest): WireMessage[] => req.body["messages"] as WireMessage[];
const afterTool = (req: RecordedRequest): boolean => messagesOf(req).at(-1)!.content.some((b) => b.type === "tool_result");
/** The `[tag]` of the user message that started the turn. */
const tagOf = (req: RecordedRequest): string => {
  const asked = messagesOf(req).filter((m) => m.role === "user" && m.content.some((b) => b.type === "text" && /\[\w+\]/.test(b.text ?? "")));
  return /\[(\w+)\]/.exec(JSON.stringify(asked.at(-1)?.content))?.[1] ?? "none";
};
const thought = (tag: string): string => `The user asked [${tag}]: list the folder with ls, then answer.`;
const answersAfterTool = (tag: string): RecordedRequest[] => anthropic.requests.filter((r) => tagOf(r) === tag && afterTool(r));

function respond(req: RecordedRequest): AnthropicReply {
  const tag = tagOf(req);
  if (req.body["model"] === PLAIN_MODEL) {
    // The model without thinking: its [switch] turn's call after the tool waits until /model switches away.
    if (!afterTool(req)) return { toolUses: [{ name: "ls", input: { path: "." } }] };
    return tag === "switch" ? { hang: true } : { text: `Plain answer for ${tag}.` };
  }
  if (req.body["model"] === ADAPTIVE_MODEL) {
    // Adaptive: no thinking for the simple first step, thinking after the tool result (interleaved).
    if (!afterTool(req)) return { toolUses: [{ name: "ls", input: { path: "." } }] };
    return { ...(req.body["thinking"] !== undefined ? { thinking: [{ thinking: adaptiveThought(tag) }] } : {}), text: `Adaptive answer for ${tag}.` };
  }
  // Thinking blocks only when the request asks for thinking, as the API does.
  const thinks = req.body["thinking"] !== undefined;
  // [cut]: the reply reaches max_tokens while the model is still thinking.
  if (tag === "cut") return { thinking: [{ thinking: "A long question. First consider every case, then" }], stopReason: "max_tokens" };
  if (!afterTool(req)) return { ...(thinks ? { thinking: [{ thinking: thought(tag) }] } : {}), toolUses: [{ name: "ls", input: { path: "." } }], chunkChars: 9 };
  // The [kill] turn's first call after its tool hangs: the test kills the worker meanwhile.
  if (tag === "kill" && answersAfterTool(tag).length === 1) return { hang: true };
  // The [away] turn's call after its tool waits until /model switches to the router.
  if (tag === "away") return { hang: true };
  return { ...(thinks ? { thinking: [{ thinking: "The listing came back." }] } : {}), text: `Listed for ${tag}.` };
}

/** The assistant message with the turn's tool call, as the request sent it back. */
function sentBack(req: RecordedRequest): WireMessage | undefined {
  return messagesOf(req).findLast((m) => m.role === "assistant" && m.content.some((b) => b.type === "tool_use"));
}

beforeAll(async () => {
  anthropic = await startFakeAnthropic({ apiKey: MODEL_KEY, responder: respond });
  e2e = await startE2E({
    // The chat-completions model (`router`) is asked only after the switch away from Claude.
    responder: (req) => ({ text: chatAfterTool(req) ? "Router listed it." : "the router must only finish a cycle" }),
    config: ({ modelUrl }) => ({
      adminUserIds: [chat.id],
      mainModel: { provider_type: "claude_code", model_name: "claude-sonnet-4-5", url: anthropic.url, max_output_tokens: 8192, reasoning: { max_tokens: 2048 }, effort: "medium" },
      // A Claude model without thinking, to switch from in the middle of a tool-use cycle.
      extraModels: {
        plain: { provider_type: "claude_code", model_name: PLAIN_MODEL, url: anthropic.url, api_key_env: "FAKE_MODEL_KEY", capabilities: ["chat"], retry_mode: "once" },
        adaptive: { provider_type: "claude_code", model_name: ADAPTIVE_MODEL, url: anthropic.url, api_key_env: "FAKE_MODEL_KEY", capabilities: ["chat"], retry_mode: "once", reasoning: { type: "adaptive" }, max_output_tokens: 16000 },
        // An OpenRouter chat model, to switch to from the thinking one mid-cycle.
        router: { provider_type: "open_router_completion", model_name: "router-model", url: modelUrl, api_key_env: "FAKE_MODEL_KEY", capabilities: ["chat"], retry_mode: "once" },
      },
      extra: { default_profile: { main_model: "main" } },
    }),
  });
}, 60_000);

afterAll(async () => {
  await e2e?.close();
  await anthropic?.close();
});

describe("Claude extended thinking through the real host and worker", { timeout: 90_000 }, () => {
  it("asks for thinking with the configured budget and sends the signed thinking block back unchanged with the tool result", async () => {
    expect(await e2e.ask(chat, "what is in here? [plain]")).toBe("Listed for plain.");
    const [first, second] = anthropic.requests.filter((r) => tagOf(r) === "plain");
    expect(first!.body).toMatchObject({ model: "claude-sonnet-4-5", max_tokens: 8192, thinking: { type: "enabled", budget_tokens: 2048 }, output_config: { effort: "medium" } });
    expect(first!.body).not.toHaveProperty("temperature");
    expect(sentBack(second!)!.content).toEqual([
      { type: "thinking", thinking: thought("plain"), signature: thinkingSignature(thought("plain")) },
      { type: "tool_use", id: expect.any(String), name: "ls", input: { path: "." } },
    ]);
    expect(e2e.model.requests).toHaveLength(0);
  });

  it("after a kill -9 of the worker mid-turn, the restarted worker still sends the stored thinking block back", async () => {
    e2e.send(chat, "and now? [kill]");
    await e2e.until(() => answersAfterTool("kill").length === 1 && e2e.host!.workerPids().length > 0, "the model call after the tool");
    for (const pid of e2e.host!.workerPids()) process.kill(pid, "SIGKILL");
    await e2e.waitText(chat.id, /^Listed for kill\.$/, 60_000);
    const resumed = answersAfterTool("kill").at(-1)!;
    expect(answersAfterTool("kill").length).toBeGreaterThanOrEqual(2);
    expect(sentBack(resumed)!.content[0]).toEqual({ type: "thinking", thinking: thought("kill"), signature: thinkingSignature(thought("kill")) });
    // The earlier turn's thinking is part of the history the new worker read back too.
    expect(JSON.stringify(messagesOf(resumed))).toContain(thinkingSignature(thought("plain")));
  });

  it("/model to the thinking model while a tool-use cycle made without thinking runs: the cycle ends without thinking, the next turn thinks", async () => {
    expect(await e2e.ask(chat, "/model plain")).toMatch(/Model set to plain/);
    e2e.send(chat, "list it [switch]");
    await e2e.until(() => anthropic.requests.some((r) => r.body["model"] === PLAIN_MODEL && tagOf(r) === "switch" && afterTool(r)), "the plain model's call after the tool");
    e2e.send(chat, "/model main");
    await e2e.waitText(chat.id, /Model set to main/);
    // Anthropic refuses thinking when the tool-use cycle's assistant message has no thinking block: this call goes without.
    expect((await e2e.waitText(chat.id, /switch\.$|turn failed/, 30_000)).text).toBe("Listed for switch.");
    const resumed = answersAfterTool("switch").filter((r) => r.body["model"] === "claude-sonnet-4-5");
    expect(resumed.length).toBeGreaterThanOrEqual(1);
    for (const r of resumed) expect(r.body).not.toHaveProperty("thinking");
    expect(sentBack(resumed.at(-1)!)!.content[0]!.type).toBe("tool_use");
    // The next turn starts a new cycle: thinking is asked for again.
    expect(await e2e.ask(chat, "again [after]")).toBe("Listed for after.");
    const after = anthropic.requests.filter((r) => tagOf(r) === "after");
    expect(after.length).toBe(2);
    for (const r of after) expect(r.body).toMatchObject({ model: "claude-sonnet-4-5", thinking: { type: "enabled", budget_tokens: 2048 } });
  });

  it("a reply cut at max_tokens while still thinking ends the turn with the output-limit note, not retried as an empty reply", async () => {
    const answer = await e2e.ask(chat, "think hard [cut]");
    expect(answer).toBe("(The model finished without a text answer.)\n\n⚠️ The answer stops here: the model reached its output limit. Say “go on” for the rest.");
    expect(anthropic.requests.filter((r) => tagOf(r) === "cut")).toHaveLength(1);
    // The conversation goes on: the stored thinking goes back with the history and is accepted.
    expect(await e2e.ask(chat, "shorter then [short]")).toBe("Listed for short.");
  });

  it("/model from the thinking model to an OpenRouter one mid-cycle: the router gets the cycle without Claude's signed thinking", async () => {
    expect(await e2e.ask(chat, "/model main")).toMatch(/Model set to main/);
    e2e.send(chat, "list it elsewhere [away]");
    await e2e.until(() => answersAfterTool("away").length > 0, "the thinking model's call after the tool");
    const [asked] = anthropic.requests.filter((r) => tagOf(r) === "away");
    expect(asked!.body).toHaveProperty("thinking");
    e2e.send(chat, "/model router");
    await e2e.waitText(chat.id, /Model set to router/);
    expect((await e2e.waitText(chat.id, /Router listed it\.|turn failed/, 30_000)).text).toBe("Router listed it.");
    const routed = e2e.model.requests.at(-1)!;
    const sent = JSON.stringify(routed.body["messages"]);
    // The cycle goes on (the call and its result), Claude's thinking and its signature stay behind.
    expect(sent).toContain('"tool_calls"');
    expect(sent).not.toContain(thinkingSignature(thought("away")));
    expect(sent).not.toContain(thought("away"));
    expect(sent).not.toContain(thinkingSignature(thought("plain")));
  });

  it("adaptive thinking: every call of a turn asks for it (no budget), also after a first step without thinking; its signed thinking goes back next turn", async () => {
    expect(await e2e.ask(chat, "/model adaptive")).toMatch(/Model set to adaptive/);
    expect(await e2e.ask(chat, "what is here? [adapt]")).toBe("Adaptive answer for adapt.");
    const calls = anthropic.requests.filter((r) => tagOf(r) === "adapt");
    expect(calls).toHaveLength(2);
    for (const r of calls) expect(r.body).toMatchObject({ model: ADAPTIVE_MODEL, max_tokens: 16000, thinking: { type: "adaptive" } });
    // The cycle's first assistant message has no thinking block: a manual-thinking model would have dropped thinking here.
    expect(sentBack(calls[1]!)!.content[0]!.type).toBe("tool_use");
    expect(await e2e.ask(chat, "and again [adapt2]")).toBe("Adaptive answer for adapt2.");
    const next = anthropic.requests.find((r) => tagOf(r) === "adapt2")!;
    expect(JSON.stringify(messagesOf(next))).toContain(thinkingSignature(adaptiveThought("adapt")));
  });
});
