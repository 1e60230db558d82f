// Background agents and the chat, end to end through the real CLI: a background agent that ends (or is
// killed) while subagents it started still run stops them and says so (their answers would reach nobody);
// /new names the background agents that go on; user_tell from a subagent or a background agent is labelled
// with the agent, so the chat can tell it from the main agent.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RecordedRequest, ScriptedReply } from "../fakes/openai-server.js";
import { privateChat } from "../fakes/telegram-api.js";
import { afterTool, contentText, lastUserText, startE2E, wireMessages, type E2E } from "./fixture.js";

const subagentCalls = (task: string) => e2e.model.requests.filter((r) => lastUserText(r).startsWith("[Subagent task") && lastUserText(r).includes(task));
const lastToolText = (req: RecordedRequest) => contentText([...wireMessages(req)].reverse().find((m) => m.role === "tool")!);

/** A background agent's script, by its task. */
function backgroundAgent(req: RecordedRequest, task: string): ScriptedReply {
  if (task === "delegating report") {
    if (!afterTool(req)) return { toolCalls: [{ name: "subagent_start", arguments: { description: "orphan one" } }] };
    return { text: "background says: delegated, not waiting" };
  }
  if (task === "joining report") {
    if (!afterTool(req)) return { toolCalls: [{ name: "subagent_start", arguments: { description: "orphan two" } }] };
    return { toolCalls: [{ name: "subagent_join", arguments: { agent_id: "subagent_0001", timeout_seconds: 40 } }] };
  }
  if (task === "telling report") {
    return afterTool(req) ? { text: "background says: told" } : { toolCalls: [{ name: "user_tell", arguments: { text: "background progress" } }] };
  }
  return { holdUntil: lateReleased, text: "background says: late" };
}

/** The late report's model call answers once the test has seen /new leave it running. */
let releaseLate!: () => void;
const lateReleased = new Promise<void>((resolve) => (releaseLate = resolve));

function respond(req: RecordedRequest): ScriptedReply {
  const ask = lastUserText(req);
  if (ask.startsWith("[Subagent task")) {
    if (ask.includes("telling one")) return afterTool(req) ? { text: "subagent says: told" } : { toolCalls: [{ name: "user_tell", arguments: { text: "halfway there" } }] };
    return { delayMs: 15_000, text: "subagent says: nobody hears me" };
  }
  if (ask.startsWith("[Background task")) return backgroundAgent(req, /\n\n(.*)$/s.exec(ask)![1]!.trim());
  if (ask.includes("kill background_0001")) {
    if (!afterTool(req)) return { toolCalls: [{ name: "subagent_kill", arguments: { agent_id: "background_0001" } }] };
    return { text: `kill: ${lastToolText(req)}` };
  }
  if (ask.includes("delegate: telling one")) {
    if (!afterTool(req)) return { toolCalls: [{ name: "subagent_start", arguments: { description: "telling one" } }] };
    return { text: "main started it" };
  }
  const background = /background (late report|delegating report|joining report|telling report)/.exec(ask)?.[1];
  if (!background) return { text: "ok" };
  if (!afterTool(req)) return { toolCalls: [{ name: "start_background_agent", arguments: { task: background } }] };
  return { text: `foreground done (${background})` };
}

let e2e: E2E;
const chats = {
  fresh: privateChat(1501, "Fresh"),
  orphan: privateChat(1502, "Orphan"),
  orphanKill: privateChat(1503, "Orphan kill"),
  tell: privateChat(1504, "Tell"),
  tellBackground: privateChat(1505, "Tell background"),
};

beforeAll(async () => {
  e2e = await startE2E({ responder: respond, config: { adminUserIds: Object.values(chats).map((c) => c.id) } });
});
afterAll(async () => {
  await e2e?.close();
});

const texts = (chatId: number) => e2e.replies(chatId).map((m) => m.text ?? "");

describe("background agents and the chat", () => {
  it("/new names the background agent that goes on; its answer reaches the chat labelled, once", async () => {
    const chat = chats.fresh;
    expect(await e2e.ask(chat, "start a background late report", { timeoutMs: 30_000 })).toBe("foreground done (late report)");
    expect(await e2e.ask(chat, "/new")).toBe(
      "Started a fresh session. The workspace files stay; the old conversation history is archived. Background agent background_0001 goes on (it answers here when done).",
    );
    releaseLate();
    const answer = await e2e.waitText(chat.id, /background says: late/, 30_000);
    expect(answer.text).toMatch(/^🤖 background_\d{4}\n\nbackground says: late$/);
    // The /status reply is queued after the agent's answer (and any copy queued with it), and a chat's
    // outbox items are sent in order: a second copy would be shown before it.
    expect(await e2e.ask(chat, "/status")).toMatch(/background_0001 \(background\): completed/);
    expect(texts(chat.id).filter((t) => t.includes("background says: late"))).toHaveLength(1);
  }, 60_000);

  it("a background agent ends without joining its subagent: the subagent is stopped (its answer would reach nobody) and the chat is told", async () => {
    const chat = chats.orphan;
    // The background agent's answer may come before the foreground's (nothing holds it).
    e2e.send(chat, "start a background delegating report");
    await e2e.waitText(chat.id, /^foreground done \(delegating report\)$/, 30_000);
    const answer = await e2e.waitText(chat.id, /background says: delegated/, 30_000);
    expect(answer.text).toBe(
      "🤖 background_0001\n\nbackground says: delegated, not waiting\n\n(Its subagent subagent_0001 was still running and is stopped: nothing would collect its answer.)",
    );
    expect(await e2e.ask(chat, "/status")).toMatch(/subagent_0001 \(subagent\): killed/);
    await e2e.until(() => subagentCalls("orphan one").every((r) => r.aborted), "the subagent's model call aborted", 10_000);
  }, 60_000);

  it("subagent_kill of a background agent stops the subagent it waits for too", async () => {
    const chat = chats.orphanKill;
    expect(await e2e.ask(chat, "start a background joining report", { timeoutMs: 30_000 })).toBe("foreground done (joining report)");
    await e2e.until(() => subagentCalls("orphan two").length === 1, "the subagent's model call");
    expect(await e2e.ask(chat, "please kill background_0001", { timeoutMs: 30_000 })).toBe('kill: {"killed":true,"agent_id":"background_0001","status":"killed"}');
    const status = await e2e.ask(chat, "/status");
    expect(status).toMatch(/subagent_0001 \(subagent\): killed/);
    expect(status).toMatch(/background_0001 \(background\): killed/);
    await e2e.until(() => subagentCalls("orphan two").every((r) => r.aborted), "the subagent's model call aborted", 10_000);
  }, 60_000);

  it("user_tell from a subagent or a background agent reaches the chat labelled with the agent", async () => {
    // The subagent's user_tell and the main agent's answer race (the subagent starts before the answer is sent).
    e2e.send(chats.tell, "delegate: telling one");
    e2e.send(chats.tellBackground, "start a background telling report");
    await e2e.waitText(chats.tell.id, /^main started it$/, 30_000);
    await e2e.waitText(chats.tell.id, /halfway there/, 30_000);
    await e2e.waitText(chats.tellBackground.id, /background says: told/, 30_000);
    expect(texts(chats.tell.id).find((t) => t.includes("halfway there"))).toBe("🤖 subagent_0001\n\nhalfway there");
    expect(texts(chats.tellBackground.id).find((t) => t.includes("background progress"))).toBe("🤖 background_0001\n\nbackground progress");
  }, 60_000);
});
