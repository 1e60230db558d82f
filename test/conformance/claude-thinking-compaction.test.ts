// Compaction with a Claude model that thinks: the summary requests and the calls after a compaction that lands in
// the middle of a tool-use cycle must keep Anthropic's thinking and tool-block rules (the fake refuses what the API refuses).
// Claude thinks once per turn, before its first tool call (no interleaved thinking), so a compaction cut inside a
// cycle leaves the cycle's later assistant messages, without thinking, as the first ones the model is sent.
import { describe, expect, it } from "vitest";
import { startFakeAnthropic, type AnthropicReply } from "../fakes/anthropic-server.js";
import { thinkingRefusal } from "../fakes/anthropic-thinking.js";
import type { RecordedRequest } from "../fakes/scripted-server.js";
import { userMessage } from "./harness.js";
import { wireEnv } from "./wire-env.js";

interface Block {
  type: string;
}
const messagesOf = (req: RecordedRequest): Array<{ role: string; content: Block[] }> => req.body["messages"] as Array<{ role: string; content: Block[] }>;
const isSummary = (req: RecordedRequest): boolean => JSON.stringify(req.body["system"] ?? "").includes("You compress a conversation");
const STEPS = 4;

/** Calls answered after a tool result (the steps done; a compaction summarises older results away, so they are counted here). */
let stepsDone = 0;

function respond(req: RecordedRequest): AnthropicReply {
  const thinks = req.body["thinking"] !== undefined;
  if (isSummary(req)) return { ...(thinks ? { thinking: [{ thinking: "What matters here?" }] } : {}), text: "SUMMARY: the user asked for listings; the shell ran." };
  const last = messagesOf(req).at(-1)!;
  const results = last.content.filter((b) => b.type === "tool_result").length;
  // A new user message: think, then the first call. After a tool result: the next call without thinking, as Claude does.
  if (results === 0) return { ...(thinks ? { thinking: [{ thinking: "Several listings, one call at a time." }] } : {}), toolUses: [{ name: "shell", input: { command: `echo listing ${"output ".repeat(40)}` } }] };
  if (++stepsDone < STEPS) return { toolUses: [{ name: "shell", input: { command: `echo listing ${"output ".repeat(40)}` } }] };
  return { text: "All listed." };
}

describe("compaction with Claude extended thinking (claude_code through the worker)", () => {
  it("a compaction inside a tool-use cycle: every summary request and every later call is accepted, the turn completes", { timeout: 60_000 }, async (ctx) => {
    const env = await wireEnv(ctx, { providerType: "claude_code", modelName: "claude-sonnet-4-5", startFake: () => startFakeAnthropic({ apiKey: "test-key", responder: respond }) });
    const worker = await env.start({
      model: { reasoning: { max_tokens: 2048 }, max_output_tokens: 8192 },
      init: { compression: { thresholdTokens: 150, retainRecentTokens: 20 } },
    });
    await worker.client.enqueue(userMessage("m1", "list it a few times"));
    const completed = worker.waitForEvent("turn_completed", undefined, { timeoutMs: 30_000 });
    const failed = worker.waitForEvent("turn_failed", undefined, { timeoutMs: 30_000 });
    void completed.catch(() => undefined);
    void failed.catch(() => undefined);
    const end = await Promise.race([completed, failed]);
    expect(end.type === "turn_completed" ? end.message.content : end.error.message).toEqual([{ type: "text", text: "All listed." }]);
    expect(worker.eventsOf("compacted").length).toBeGreaterThanOrEqual(1);
    // The fake refused none of the requests (a refused summary leaves the history uncompacted; a refused call fails the turn).
    expect(env.fake.requests.map((r) => thinkingRefusal(r.body)).filter((m) => m !== null)).toEqual([]);
    const summaries = env.fake.requests.filter(isSummary);
    expect(summaries.length).toBe(worker.eventsOf("compacted").length);
    // The cases in question happened: a summary request with thinking on whose piece ends on tool results (sent as
    // text: a summary request defines no tools, and carries no tool or thinking blocks), and a call after a compaction
    // whose first assistant message is a later step of the cycle (no thinking block).
    for (const r of summaries) expect(messagesOf(r).flatMap((m) => m.content.map((b) => b.type)).filter((t) => t !== "text")).toEqual([]);
    const endsOnResults = (r: RecordedRequest) => messagesOf(r).at(-1)!.content.some((b) => b.type === "text" && (b as { text?: string }).text!.startsWith("[tool result of shell]"));
    expect(summaries.some((r) => r.body["thinking"] !== undefined && endsOnResults(r))).toBe(true);
    const afterCut = env.fake.requests.filter((r) => !isSummary(r) && messagesOf(r)[1]?.role === "assistant" && messagesOf(r)[1]!.content[0]!.type === "tool_use");
    expect(afterCut.length).toBeGreaterThanOrEqual(1);
    for (const r of afterCut) expect(r.body).not.toHaveProperty("thinking");
  });
});
