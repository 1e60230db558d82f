// subagent_join whose caller goes away, with max_concurrent_turns: 1. The host stops waiting when the
// worker cancels the call (/cancel) or exits (kill -9) and gives the lent turn slot back at once, so no
// turn runs past the cap (before, the wait and its loan went on for up to 45 s); after /cancel and
// /continue of a joining turn, the join's result says that /cancel stopped the subagent.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { RecordedRequest, ScriptedReply } from "../fakes/openai-server.js";
import { privateChat, type FakeChat } from "../fakes/telegram-api.js";
import { afterTool, lastToolResult, lastUserText, processAlive, type E2E, useE2E } from "./fixture.js";

/** The file whose creation ends the work of the agent doing `what` (the test releases it once it checked the wait). */
const releaseFile = (what: string) => join(e2e.dir, `release-${what}`);
/** When the test released each agent's work, by `what`. */
const releasedAt = new Map<string, number>();
function release(what: string): void {
  releasedAt.set(what, Date.now());
  writeFileSync(releaseFile(what), "");
}
/**
 * The background agent and the steady subagent work until the test releases them (a shell command: a model
 * call would time out at 10 s); the loop gives up after a minute so a failed test leaves no process behind.
 */
const work = (req: RecordedRequest, what: string, answer: string): ScriptedReply =>
  afterTool(req)
    ? { text: answer }
    : { toolCalls: [{ name: "shell", arguments: { command: `i=0; while [ ! -e '${releaseFile(what)}' ] && [ $i -lt 1200 ]; do sleep 0.05; i=$((i+1)); done`, wait_ms: 90_000 } }] };

function respond(req: RecordedRequest): ScriptedReply {
  const ask = lastUserText(req);
  if (ask.startsWith("[Background task")) return work(req, "background", "background says: the report is ready");
  if (ask.startsWith("[Subagent task")) return ask.includes("the steady part") ? work(req, "steady", "subagent says: steady") : { delayMs: 8000, text: "subagent says: never heard" };
  const start = ask.includes("join the background") ? "start_background_agent" : ask.includes("join a subagent") || ask.includes("join steadily") ? "subagent_start" : null;
  if (!start) return { text: "ok" };
  if (!afterTool(req)) {
    const args = start === "start_background_agent" ? { task: "the slow report" } : { description: ask.includes("steadily") ? "the steady part" : "the slow part" };
    return { toolCalls: [{ name: start, arguments: args }] };
  }
  const last = lastToolResult(req);
  // "now and then": joins without a timeout (each answers at once), again while the subagent runs.
  const poll = ask.includes("now and then");
  const join = { toolCalls: [{ name: "subagent_join", arguments: poll ? { agent_id: last.agent_id } : { agent_id: last.agent_id, timeout_seconds: 40 } }] };
  if (last.status === "started") return join;
  if (last.status === "running" && poll) return { delayMs: 200, ...join };
  return { text: `main heard (${String(last.status)}): ${String(last.error ?? last.message ?? last.text)}` };
}

let e2e: E2E;
const chats = {
  joinBackground: privateChat(1401, "Join background"),
  other: privateChat(1402, "Other"),
  joinSubagent: privateChat(1403, "Join subagent"),
  parentKilled: privateChat(1404, "Parent killed"),
  another: privateChat(1405, "Another"),
  slowDisk: privateChat(1406, "Slow disk"),
  slowDiskPoll: privateChat(1407, "Slow disk, polling join"),
};
useE2E(
  { responder: respond, config: { adminUserIds: Object.values(chats).map((c) => c.id), workers: { max_concurrent_turns: 1 } } },
  (value) => (e2e = value),
  { keepHost: true },
);

const joinCalled = (text: string) => e2e.model.requests.some((r) => lastUserText(r).includes(text) && afterTool(r) && lastToolResult(r).status === "started");
const requestsOf = (text: string) => e2e.model.requests.filter((r) => lastUserText(r).includes(text));

/** The pid of the live worker of `sessionId` (from the host's "worker ready" log records). */
function workerPid(sessionId: string): number | undefined {
  const ready = e2e.logRecords().filter((r) => r.msg === "worker ready" && r.sessionId === sessionId);
  const pid = ready.at(-1)?.pid;
  return typeof pid === "number" && processAlive(pid) ? pid : undefined;
}

/**
 * `text` sent in `chat` now waits for the one turn slot the agent doing `what` holds: the host logs that
 * the chat's session waits for a slot, with no model call made while the agent still works (`agentDone`
 * false at the check); then the agent's work is released, and `text` is answered, its model call made only
 * after the release.
 */
async function waitsForTheSlot(chat: FakeChat, text: string, what: string, agentDone: () => boolean): Promise<void> {
  const session = `${/^Conversation: (\S+)$/m.exec(await e2e.ask(chat, "/status"))![1]}.foreground`;
  e2e.send(chat, text);
  const waits = await e2e.until(() => e2e.logRecords().find((r) => r.msg === "waiting for a turn slot" && r.sessionId === session), `${session} waiting for a turn slot`, 30_000);
  expect(waits.held, "the one slot is held").toBe(1);
  expect(agentDone(), "the agent was still working during the check").toBe(false);
  expect(requestsOf(text), "no model call of the other chat while the agent works").toEqual([]);
  release(what);
  await e2e.waitText(chat.id, /^ok$/, 30_000);
  expect(requestsOf(text)[0]!.receivedAt, "the other chat's model call came after the agent's work ended").toBeGreaterThanOrEqual(releasedAt.get(what)!);
}

describe("subagent_join whose caller went away", () => {
  it("/cancel of a turn joining a background agent gives the lent slot back: another chat's turn waits for the agent (max_concurrent_turns: 1)", async () => {
    await e2e.hostWith();
    e2e.send(chats.joinBackground, "join the background please");
    await e2e.until(() => joinCalled("join the background") && requestsOf("[Background task").length > 0, "the join and the background agent's model call", 30_000);
    expect(await e2e.ask(chats.joinBackground, "/cancel")).toMatch(/^Cancelled the running turn\. Background agent background_\d{4} goes on/);
    await waitsForTheSlot(chats.other, "hello", "background", () => requestsOf("[Background task").some(afterTool));
    // The agent's work really ended with its release (its shell command waited for it).
    expect(requestsOf("[Background task").find(afterTool)!.receivedAt).toBeGreaterThanOrEqual(releasedAt.get("background")!);
  }, 60_000);

  it("the joining turn's worker is killed: another chat's turn still waits for the subagent, and the recovered turn hears its answer", async () => {
    await e2e.hostWith();
    e2e.send(chats.parentKilled, "join steadily please");
    await e2e.until(() => joinCalled("join steadily") && requestsOf("the steady part").length > 0, "the join and the subagent's model call", 30_000);
    const started = requestsOf("join steadily").find((r) => afterTool(r) && lastToolResult(r).status === "started")!;
    const parent = String(lastToolResult(started).session_id).replace(/\.subagent\.\d+$/, ".foreground");
    const pid = await e2e.until(() => workerPid(parent), "the joining turn's worker");
    process.kill(pid, "SIGKILL");
    await e2e.until(() => !processAlive(pid), "the worker gone");
    // The host saw the exit (and, just before, ended the join's wait and took its lent slot back).
    await e2e.until(() => e2e.logRecords().some((r) => r.msg === "worker exited unexpectedly" && r.sessionId === parent && r.pid === pid), "the host saw the worker's exit");
    await waitsForTheSlot(chats.another, "hello there", "steady", () => requestsOf("the steady part").some(afterTool));
    expect((await e2e.waitText(chats.parentKilled.id, /^main heard/, 30_000)).text).toBe("main heard (completed): subagent says: steady");
    expect(requestsOf("the steady part").find(afterTool)!.receivedAt).toBeGreaterThanOrEqual(releasedAt.get("steady")!);
  }, 90_000);

  it("/cancel and /continue of a turn joining a subagent: the continued turn reads that /cancel stopped it", async () => {
    await e2e.hostWith();
    e2e.send(chats.joinSubagent, "join a subagent please");
    await e2e.until(() => joinCalled("join a subagent") && requestsOf("the slow part").length > 0, "the join and the subagent's model call", 30_000);
    expect(await e2e.ask(chats.joinSubagent, "/cancel")).toBe("Cancelled the running turn. Stopped its subagent (subagent_0001). Send /continue to resume it.");
    const answer = await e2e.ask(chats.joinSubagent, "/continue", { timeoutMs: 30_000 });
    const final = answer.startsWith("Continuing") ? (await e2e.waitText(chats.joinSubagent.id, /^main heard/, 30_000)).text : answer;
    expect(final).toBe("main heard (killed): stopped by /cancel");
  }, 60_000);

  // A join without a timeout lends no turn slot: with max_concurrent_turns 1 that subagent only waits for one.
  for (const [how, text, chat, subagentRuns] of [
    ["with a timeout", "join a subagent on a slow disk", chats.slowDisk, true],
    ["without one, now and then", "join a subagent now and then on a slow disk", chats.slowDiskPoll, false],
  ] as const) {
    it(`/cancel of a turn joining a subagent (${how}) whose own write waits on a slow disk: the turn stops there, nothing reads the kill before /continue`, async () => {
      // The /cancel's write (user_cancel) is held 3 s, as behind a busy disk: the subagent's kill is recorded,
      // the cancel has not reached the worker yet. A join answering the kill now would let the turn go on.
      await e2e.hostWith({ STARLING_STALL_AT: "user_cancel:3000" });
      const subagentCalls = requestsOf("the slow part").length;
      e2e.send(chat, text);
      await e2e.until(() => joinCalled(text) && (!subagentRuns || requestsOf("the slow part").length > subagentCalls), "the join (and the subagent's model call)", 30_000);
      const heardTheKill = () => requestsOf(text).filter((r) => afterTool(r) && lastToolResult(r).status === "killed");
      expect(await e2e.ask(chat, "/cancel", { timeoutMs: 30_000 })).toMatch(/^Cancelled the running turn\. Stopped its subagent \(subagent_\d{4}\)\. Send \/continue to resume it\.$/);
      expect(heardTheKill(), "no model call of the cancelled turn before /continue").toEqual([]);
      const answer = await e2e.ask(chat, "/continue", { timeoutMs: 30_000 });
      const final = answer.startsWith("Continuing") ? (await e2e.waitText(chat.id, /^main heard/, 30_000)).text : answer;
      expect(final).toBe("main heard (killed): stopped by /cancel");
      expect(heardTheKill(), "the continued turn's call").toHaveLength(1);
      // The next case's host stalls its own first /cancel write.
      await e2e.stop();
    }, 60_000);
  }
});
