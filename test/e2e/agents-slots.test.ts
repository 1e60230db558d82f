// A main agent waiting in subagent_join with max_concurrent_turns: 1: its turn slot is lent while it
// waits, so the subagent runs and the join returns its answer (before, the subagent waited for the
// slot the waiting turn held, and the join could only answer `running` when its time was up). Four
// subagent_start calls at once: the fourth is refused naming the running three (workers.max_subagents),
// and the three, sharing the one lent slot, all answer. A join that only checks (no timeout) while the caller holds the
// slot answers `running` with a note saying the subagent has not started and that a timeout lends it the slot.
import { describe, expect, it } from "vitest";
import type { RecordedRequest, ScriptedReply } from "../fakes/openai-server.js";
import { privateChat } from "../fakes/telegram-api.js";
import { afterTool, contentText, lastToolResult, lastUserText, wireMessages, type E2E, useE2E } from "./fixture.js";

const toolResults = (req: RecordedRequest) =>
  wireMessages(req)
    .filter((m) => m.role === "tool")
    .map((m) => contentText(m));

function respond(req: RecordedRequest): ScriptedReply {
  const ask = lastUserText(req);
  if (ask.startsWith("[Subagent task")) return { delayMs: 500, text: `subagent says: done ${/part (\d)/.exec(ask)?.[1] ?? ""}`.trim() };
  if (ask.includes("four at once")) {
    if (!afterTool(req)) return { toolCalls: [1, 2, 3, 4].map((n) => ({ name: "subagent_start", arguments: { description: `do part ${n}` } })) };
    const results = toolResults(req);
    const started = results.filter((r) => r.includes('"started"')).map((r) => (JSON.parse(r) as { agent_id: string }).agent_id);
    const joined = results.filter((r) => r.includes('"waited_seconds"'));
    if (joined.length < started.length) return { toolCalls: [{ name: "subagent_join", arguments: { agent_id: started[joined.length], timeout_seconds: 30 } }] };
    const refused = results.find((r) => !r.startsWith("{")) ?? "(none refused)";
    return { text: [refused, ...joined.map((r) => { const j = JSON.parse(r) as Record<string, unknown>; return `${String(j.agent_id)} ${String(j.status)}: ${String(j.message)}`; })].join("\n") };
  }
  if (ask.includes("just check")) {
    // The main agent checks its subagent once without waiting, then reports what the join said.
    if (!afterTool(req)) return { toolCalls: [{ name: "subagent_start", arguments: { description: "do the part" } }] };
    const last = lastToolResult(req);
    if (last.status === "started") return { toolCalls: [{ name: "subagent_join", arguments: { agent_id: last.agent_id } }] };
    return { text: `checked: ${String(last.status)}; note: ${String(last.note ?? "none")}` };
  }
  if (!ask.includes("use a subagent")) return { text: "ok" };
  if (!afterTool(req)) return { toolCalls: [{ name: "subagent_start", arguments: { description: "do the part" } }] };
  const last = lastToolResult(req);
  if (last.status === "started") return { toolCalls: [{ name: "subagent_join", arguments: { agent_id: last.agent_id, timeout_seconds: 30 } }] };
  return { text: `main heard (${String(last.status)}) after ${String(last.waited_seconds)} s: ${String(last.message ?? last.error)}` };
}

let e2e: E2E;
const chat = privateChat(1201, "One slot");
useE2E({ responder: respond, config: { adminUserIds: [chat.id, 1202, 1203], workers: { max_concurrent_turns: 1 } } }, (value) => (e2e = value), { keepHost: true });

describe("subagent_join under max_concurrent_turns: 1", () => {
  it("the waiting turn lends its slot: the subagent runs and the join returns its answer", async () => {
    await e2e.hostWith();
    const answer = await e2e.ask(chat, "use a subagent", { timeoutMs: 45_000 });
    // Not timed: a subagent kept out of the slot would run only after the join gave up at its 30 s, which answers "running".
    expect(answer).toMatch(/^main heard \(completed\) after \d+(\.\d)? s: subagent says: done$/);
  }, 60_000);

  it("a join that only checks, while the caller's turn holds the one slot: the answer says the subagent has not started and how to let it run", async () => {
    const checker = privateChat(1203, "Checker");
    await e2e.hostWith();
    const answer = await e2e.ask(checker, "just check", { timeoutMs: 45_000 });
    expect(answer).toBe(
      "checked: running; note: It has not started: every turn slot (max_concurrent_turns) is taken, one by your own turn. Call subagent_join with timeout_seconds (e.g. 30): while you wait, your slot is lent to it.",
    );
  }, 60_000);

  it("four subagents at once: the fourth is refused naming the three running; the three answer through their joins", async () => {
    const chat4 = privateChat(1202, "Four");
    await e2e.hostWith();
    const answer = await e2e.ask(chat4, "four at once", { timeoutMs: 45_000 });
    expect(answer).toBe(
      [
        "host refused subagent_start: 3 subagents are already running (subagent_0001, subagent_0002, subagent_0003; at most 3 at once, workers.max_subagents): subagent_join or subagent_kill one first.",
        "subagent_0001 completed: subagent says: done 1",
        "subagent_0002 completed: subagent says: done 2",
        "subagent_0003 completed: subagent says: done 3",
      ].join("\n"),
    );
  }, 60_000);
});
