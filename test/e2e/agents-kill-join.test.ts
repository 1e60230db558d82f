// Killing an agent whose turn waits in subagent_join (a host/coordinate call in flight): its worker stops
// cleanly (exit code 0, no signal) and at once. Before, the kill and the agent's turn end retired it twice
// at once and the second close SIGKILLed the exiting worker (its store not closed cleanly), and the host
// saw its exit only after the 2 s drain limit: the worker's $/cancelRequest for the join, consumed by
// vscode-jsonrpc, was counted as a frame still to handle, so subagent_kill answered ~2 s late.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RecordedRequest, ScriptedReply } from "../fakes/openai-server.js";
import { privateChat } from "../fakes/telegram-api.js";
import { afterTool, contentText, lastUserText, startE2E, wireMessages, type E2E } from "./fixture.js";

const lastToolText = (req: RecordedRequest) => contentText([...wireMessages(req)].reverse().find((m) => m.role === "tool")!);

function respond(req: RecordedRequest): ScriptedReply {
  const ask = lastUserText(req);
  if (ask.startsWith("[Subagent task")) return { delayMs: 15_000, text: "subagent says: nobody hears me" };
  if (ask.startsWith("[Background task")) {
    if (!afterTool(req)) return { toolCalls: [{ name: "subagent_start", arguments: { description: "the long part" } }] };
    return { toolCalls: [{ name: "subagent_join", arguments: { agent_id: "subagent_0001", timeout_seconds: 40 } }] };
  }
  if (ask.includes("kill background_0001")) {
    if (!afterTool(req)) return { toolCalls: [{ name: "subagent_kill", arguments: { agent_id: "background_0001" } }] };
    return { text: `kill: ${lastToolText(req)}` };
  }
  if (ask.includes("start the joining report")) {
    if (!afterTool(req)) return { toolCalls: [{ name: "start_background_agent", arguments: { task: "joining report" } }] };
    return { text: "foreground done" };
  }
  return { text: "ok" };
}

let e2e: E2E;
const chat = privateChat(1701, "Kill join");

beforeAll(async () => {
  e2e = await startE2E({ responder: respond, config: { adminUserIds: [chat.id] } });
});
afterAll(async () => {
  await e2e?.close();
});

const joinCalls = () => e2e.model.requests.filter((r) => lastUserText(r).startsWith("[Background task") && afterTool(r) && lastToolText(r).includes('"started"'));
const logTime = (r: Record<string, unknown>) => (typeof r.time === "number" ? r.time : Date.parse(String(r.time)));

describe("killing an agent that waits in subagent_join", () => {
  it("its worker stops cleanly (code 0, no SIGKILL) and at once (its exit not held to the drain limit)", async () => {
    expect(await e2e.ask(chat, "start the joining report", { timeoutMs: 30_000 })).toBe("foreground done");
    await e2e.until(() => joinCalls().length === 1 && e2e.model.requests.some((r) => lastUserText(r).startsWith("[Subagent task")), "the join and the subagent's model call");
    expect(await e2e.ask(chat, "please kill background_0001", { timeoutMs: 30_000 })).toBe('kill: {"killed":true,"agent_id":"background_0001","status":"killed"}');
    const killCall = e2e.model.requests.find((r) => lastUserText(r).includes("kill background_0001"))!;
    const killed = await e2e.until(() => e2e.logRecords().find((r) => r.msg === "agent killed" && r.agent === "background_0001"), "the agent killed");
    for (const session of [String(killed.session), String(killed.session).replace(/background\.\d+$/, "subagent.0001")]) {
      const stopped = await e2e.until(() => e2e.logRecords().find((r) => r.msg === "worker stopped" && r.sessionId === session), `${session}'s worker stopped`);
      expect(stopped.exit, `the exit of ${session}'s worker`).toEqual({ code: 0, signal: null });
      // Not timed: before, the host saw the exit only at its 2 s drain limit, which the log now names.
      expect(stopped.exitDrain, `how the host waited for ${session}'s last frames (${logTime(stopped) - killCall.receivedAt} ms after the kill call)`).toBe("handled");
    }
  }, 60_000);
});
