// Subagents under faults, end to end through the real CLI: the subagent's worker killed mid-turn (once,
// and at every continue), the parent's worker killed while it waits in subagent_join, a subagent whose
// model refuses (401) or fails (500s): the main agent's turn gets one clear result and the chat one answer.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RecordedRequest, ScriptedReply } from "../fakes/openai-server.js";
import { privateChat } from "../fakes/telegram-api.js";
import { afterTool, lastToolResult, lastUserText, processAlive, startE2E, type E2E } from "./fixture.js";

/** The subagent session each task started (from the subagent_start result the model was sent). */
const sessions = new Map<string, string>();
const subagentCalls = (task: string) => e2e.model.requests.filter((r) => lastUserText(r).startsWith("[Subagent task") && lastUserText(r).includes(task));

function subagent(task: string): ScriptedReply {
  // The first call never answers: the test kills the subagent's worker while it waits (the kill ends the call).
  if (task === "slow one") return subagentCalls(task).length === 1 ? { hang: true } : { text: "subagent says: second try" };
  if (task === "steady one") return { holdUntil: steadyReleased, text: "subagent says: steady" };
  if (task === "refused one") return { status: 401 };
  if (task === "failing one") return { status: 500 };
  if (task === "fragile one") return { hang: true }; // each worker is killed while its call waits
  return { text: `subagent did ${task}` };
}

/** The steady subagent answers once the test has killed its parent's worker (which waits in subagent_join). */
let releaseSteady!: () => void;
const steadyReleased = new Promise<void>((resolve) => (releaseSteady = resolve));

function respond(req: RecordedRequest): ScriptedReply {
  const ask = lastUserText(req);
  if (ask.startsWith("[Subagent task")) return subagent(/\n\n(.*)$/s.exec(ask)![1]!.trim());
  const task = /delegate: (\w+ one)/.exec(ask)?.[1];
  if (!task) return { text: "ok" };
  if (!afterTool(req)) return { toolCalls: [{ name: "subagent_start", arguments: { description: task } }] };
  const last = lastToolResult(req);
  if (last.status === "started") {
    sessions.set(task, String(last.session_id));
    return { toolCalls: [{ name: "subagent_join", arguments: { agent_id: last.agent_id, timeout_seconds: 40 } }] };
  }
  if (last.status === "running") return { toolCalls: [{ name: "subagent_join", arguments: { agent_id: last.agent_id, timeout_seconds: 40 } }] };
  return { text: `main heard (${String(last.status)}): ${String(last.message ?? last.error ?? JSON.stringify(last))}` };
}

let e2e: E2E;
const chats = {
  subagentCrash: privateChat(1301, "Subagent crash"),
  parentCrash: privateChat(1302, "Parent crash"),
  refused: privateChat(1303, "Refused"),
  failing: privateChat(1304, "Failing"),
  fragile: privateChat(1305, "Fragile"),
};

beforeAll(async () => {
  e2e = await startE2E({ responder: respond, config: { adminUserIds: Object.values(chats).map((c) => c.id) } });
});
afterAll(async () => {
  await e2e?.close();
});

/** The pid of the live worker of `sessionId` (from the host's "worker ready" log records). */
function workerPid(sessionId: string): number | undefined {
  const ready = e2e.logRecords().filter((r) => r.msg === "worker ready" && r.sessionId === sessionId);
  const pid = ready.at(-1)?.pid;
  return typeof pid === "number" && processAlive(pid) ? pid : undefined;
}

const texts = (chatId: number) => e2e.replies(chatId).map((m) => m.text ?? "");

describe("subagents under faults", () => {
  it("the subagent's worker is killed mid-turn: it is recovered and the main agent hears its answer once", async () => {
    const chat = chats.subagentCrash;
    e2e.send(chat, "delegate: slow one");
    await e2e.until(() => subagentCalls("slow one").length === 1 && sessions.get("slow one"), "the subagent's model call");
    const pid = await e2e.until(() => workerPid(sessions.get("slow one")!), "the subagent's worker");
    process.kill(pid, "SIGKILL");
    const reply = await e2e.waitText(chat.id, /^main heard/, 40_000);
    expect(reply.text).toBe("main heard (completed): subagent says: second try");
    // A second answer would be queued with the first; the /status reply is queued after it (the chat's outbox sends in order).
    await e2e.ask(chat, "/status");
    expect(texts(chat.id).filter((t) => t.startsWith("main heard"))).toHaveLength(1);
  }, 60_000);

  it("the parent's worker is killed while it waits in subagent_join: its recovered turn hears the answer once; the subagent ran once", async () => {
    const chat = chats.parentCrash;
    e2e.send(chat, "delegate: steady one");
    const session = await e2e.until(() => subagentCalls("steady one").length === 1 && sessions.get("steady one"), "the subagent's model call");
    const parent = session.replace(/\.subagent\.\d+$/, ".foreground");
    await e2e.until(() => e2e.logRecords().some((r) => r.msg === "waiting in subagent_join" && r.sessionId === parent), "the parent waiting in subagent_join");
    const parentPid = await e2e.until(() => workerPid(parent), "the parent's worker");
    process.kill(parentPid, "SIGKILL");
    await e2e.until(() => !processAlive(parentPid), "the parent's worker gone");
    releaseSteady();
    const reply = await e2e.waitText(chat.id, /^main heard/, 40_000);
    expect(reply.text).toBe("main heard (completed): subagent says: steady");
    await e2e.ask(chat, "/status"); // queued after a second answer (see above)
    expect(texts(chat.id).filter((t) => t.startsWith("main heard"))).toHaveLength(1);
    expect(subagentCalls("steady one")).toHaveLength(1);
  }, 60_000);

  it("a subagent whose model refuses the key (401): the join answers failed with the reason, no hang", async () => {
    const chat = chats.refused;
    // Not timed: a join that hangs answers "running" after its 40 s, and the ask gives up at 40 s.
    const answer = await e2e.ask(chat, "delegate: refused one", { timeoutMs: 40_000 });
    expect(answer).toMatch(/^main heard \(failed\): .*(401|key|auth)/i);
  }, 60_000);

  it("a subagent whose model keeps failing (500): the join answers failed with the reason, no hang", async () => {
    const chat = chats.failing;
    // Not timed: a join that hangs answers "running" after its 40 s, and the ask gives up at 40 s.
    const answer = await e2e.ask(chat, "delegate: failing one", { timeoutMs: 40_000 });
    expect(answer).toMatch(/^main heard \(failed\): .*500/i);
  }, 60_000);

  it("the subagent's worker dies at every continue: the join answers failed, the chat is not asked to /continue", async () => {
    const chat = chats.fragile;
    e2e.send(chat, "delegate: fragile one");
    const session = await e2e.until(() => sessions.get("fragile one"), "the subagent started");
    for (let kill = 1; kill <= 3; kill++) {
      await e2e.until(() => subagentCalls("fragile one").length === kill, `the subagent's model call ${kill}`);
      const pid = await e2e.until(() => workerPid(session), "the subagent's worker");
      process.kill(pid, "SIGKILL");
      await e2e.until(() => !processAlive(pid), "the worker gone");
    }
    const reply = await e2e.waitText(chat.id, /^main heard/, 40_000);
    expect(reply.text).toMatch(/^main heard \(failed\): interrupted by worker restarts/);
    expect(texts(chat.id).filter((t) => t.includes("/continue"))).toEqual([]);
  }, 60_000);
});
