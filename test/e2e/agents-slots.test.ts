// A main agent waiting in subagent_join with max_concurrent_turns: 1: its turn slot is lent while it
// waits, so the subagent runs and the join returns its answer (before, the subagent waited for the
// slot the waiting turn held, and the join could only answer `running` when its time was up).
import { describe, expect, it } from "vitest";
import type { RecordedRequest, ScriptedReply } from "../fakes/openai-server.js";
import { privateChat } from "../fakes/telegram-api.js";
import { afterTool, contentText, lastUserText, wireMessages, type E2E, useE2E } from "./fixture.js";

function lastToolResult(req: RecordedRequest): Record<string, unknown> {
  return JSON.parse(contentText([...wireMessages(req)].reverse().find((m) => m.role === "tool")!)) as Record<string, unknown>;
}

function respond(req: RecordedRequest): ScriptedReply {
  const ask = lastUserText(req);
  if (ask.startsWith("[Subagent task")) return { delayMs: 500, text: "subagent says: done" };
  if (!ask.includes("use a subagent")) return { text: "ok" };
  if (!afterTool(req)) return { toolCalls: [{ name: "subagent_start", arguments: { description: "do the part" } }] };
  const last = lastToolResult(req);
  if (last.status === "started") return { toolCalls: [{ name: "subagent_join", arguments: { agent_id: last.agent_id, timeout_seconds: 30 } }] };
  return { text: `main heard (${String(last.status)}) after ${String(last.waited_seconds)} s: ${String(last.message ?? last.error)}` };
}

let e2e: E2E;
const chat = privateChat(1201, "One slot");
useE2E({ responder: respond, config: { adminUserIds: [chat.id], workers: { max_concurrent_turns: 1 } } }, (value) => (e2e = value));

describe("subagent_join under max_concurrent_turns: 1", () => {
  it("the waiting turn lends its slot: the subagent runs and the join returns its answer", async () => {
    e2e.start();
    const answer = await e2e.ask(chat, "use a subagent", { timeoutMs: 45_000 });
    expect(answer).toMatch(/^main heard \(completed\) after \d+(\.\d)? s: subagent says: done$/);
    expect(Number(/after ([\d.]+) s/.exec(answer)![1])).toBeLessThan(20);
  }, 60_000);
});
