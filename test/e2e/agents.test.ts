// Subagents and background agents end to end through the real CLI: a subagent's answer returns to the
// main agent through subagent_join (and never reaches the chat by itself); a background agent's answer
// reaches the chat after the foreground turn ended, exactly once, also when the host is killed while
// it works and restarted, and after a /cancel of the turn that started it; /cancel (and /new) stops a subagent's shell command (the process is gone), also when
// the host is killed right after recording the kill (STARLING_CRASH_AT=agent_kill); a command a subagent leaves
// running in the background stops when it finishes.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RecordedRequest, ScriptedReply } from "../fakes/openai-server.js";
import { privateChat } from "../fakes/telegram-api.js";
import { hostPid } from "../fixtures/host-pid.js";
import { afterTool, lastToolResult, lastUserText, processAlive, requestText, startE2E, wireMessages, type E2E } from "./fixture.js";

/** Tool calls the model made so far in this turn (by name). */
const calls = (req: RecordedRequest, name: string): number =>
  wireMessages(req).filter((m) => JSON.stringify(m.tool_calls ?? []).includes(`"${name}"`)).length;

/** The same call was made before (and cut off by the host's kill): it answers sooner this time. */
const repeated = (req: RecordedRequest): boolean => e2e.model.requests.filter((r) => requestText(r) === requestText(req)).length > 1;

/** A gate the test opens once what must happen while an agent still works did (a host kill, a /cancel). */
function gate(): { until: Promise<void>; open: () => void } {
  let open!: () => void;
  const until = new Promise<void>((resolve) => (open = resolve));
  return { until, open };
}
/** The first model call of the slow subagent's / a background agent's task answers once the test opens its gate. */
let slowSubagent = gate();
let background = gate();
/** The subagent that leaves its command running answers once the test has seen that command. */
let leftoverAnswer = gate();

function respond(req: RecordedRequest): ScriptedReply {
  const ask = lastUserText(req);
  // The agents' own sessions: their task is their first (and only) user message.
  if (ask.startsWith("[Subagent task")) {
    if (ask.includes("count the moons")) return { delayMs: 800, text: "subagent says: Jupiter has 95 moons" };
    if (ask.includes("take your time")) return { ...(repeated(req) ? { delayMs: 1000 } : { holdUntil: slowSubagent.until }), text: "subagent says: took my time" };
    const leftover = /leave the sleeper running into (\S+)/.exec(ask);
    if (leftover) {
      if (afterTool(req)) return { holdUntil: leftoverAnswer.until, text: "left it running" };
      return { toolCalls: [{ name: "shell", arguments: { command: `echo $$ > ${leftover[1]}; exec sleep 300`, wait_ms: 100 } }] };
    }
    const sleeper = /run the sleeper into (\S+)/.exec(ask);
    if (sleeper) {
      if (afterTool(req)) return { text: "sleeper ended" };
      return { toolCalls: [{ name: "shell", arguments: { command: `echo $$ > ${sleeper[1]}; exec sleep 300`, wait_ms: 240_000 } }] };
    }
  }
  if (ask.startsWith("[Background task")) return { ...(repeated(req) ? { delayMs: 1000 } : { holdUntil: background.until }), text: "background says: the report is ready" };
  const sleeperFile = /sleeper please into (\S+)/.exec(ask)?.[1];
  const leftoverFile = /leftover please into (\S+)/.exec(ask)?.[1];
  if (ask.includes("use a subagent") || ask.includes("slow subagent") || sleeperFile || leftoverFile) {
    const description = leftoverFile
      ? `leave the sleeper running into ${leftoverFile}`
      : sleeperFile
        ? `run the sleeper into ${sleeperFile}`
        : ask.includes("slow subagent")
          ? "take your time"
          : "count the moons of Jupiter";
    if (!afterTool(req)) return { toolCalls: [{ name: "subagent_start", arguments: { description } }] };
    if (!calls(req, "subagent_join")) {
      return { toolCalls: [{ name: "subagent_join", arguments: { agent_id: lastToolResult(req).agent_id, timeout_seconds: 40 } }] };
    }
    const joined = lastToolResult(req);
    return { text: `main heard (${String(joined.status)}): ${String(joined.message ?? joined.error)}` };
  }
  if (ask.includes("background, then sleep")) {
    if (!afterTool(req)) return { toolCalls: [{ name: "start_background_agent", arguments: { task: "write the report" } }] };
    return { toolCalls: [{ name: "shell", arguments: { command: "sleep 300", wait_ms: 240_000 } }] };
  }
  if (ask.includes("in the background")) {
    if (!afterTool(req)) return { toolCalls: [{ name: "start_background_agent", arguments: { task: "write the report" } }] };
    return { text: `started ${String(lastToolResult(req).agent_id)}; answering now` };
  }
  return { text: "ok" };
}

let e2e: E2E;
const chats = {
  join: privateChat(1101, "Join"),
  background: privateChat(1102, "Background"),
  cancel: privateChat(1103, "Cancel"),
  crash: privateChat(1104, "Cancel crash"),
  fresh: privateChat(1105, "New"),
  joinRestart: privateChat(1106, "Join restart"),
  cancelBackground: privateChat(1107, "Cancel background"),
  leftover: privateChat(1108, "Leftover"),
};

beforeAll(async () => {
  e2e = await startE2E({ responder: respond, start: false, config: { adminUserIds: Object.values(chats).map((c) => c.id) } });
});
afterAll(async () => {
  await e2e?.close();
});

/** Tests share one host while none kills it (each start costs seconds on a busy machine). */
function ensureHost(): void {
  if (!e2e.host || e2e.host.child.exitCode !== null || e2e.host.child.signalCode !== null) e2e.start();
}

const texts = (chatId: number) => e2e.replies(chatId).map((m) => m.text ?? "");

/** The pid the subagent's shell command wrote into `name` in the workspace of one of the conversations. */
function sleeperPid(name: string): number | undefined {
  const root = join(e2e.workdir, "conversations");
  if (!existsSync(root)) return undefined;
  for (const conversation of readdirSync(root)) {
    const file = join(root, conversation, name);
    if (existsSync(file)) {
      const pid = Number(readFileSync(file, "utf8").trim());
      // The command wrote its pid in its PID namespace (subprocess mode): the same process as this test sees it.
      if (pid > 0) return hostPid(pid, join(root, conversation));
    }
  }
  return undefined;
}

describe("subagents and background agents end to end", () => {
  it("a subagent's answer returns through subagent_join; the chat sees only the main agent's answer", async () => {
    ensureHost();
    const chat = chats.join;
    const answer = await e2e.ask(chat, "use a subagent for the moons", { timeoutMs: 40_000 });
    expect(answer).toBe("main heard (completed): subagent says: Jupiter has 95 moons");
    // The /status reply is queued after everything the turn queued for this chat, and the outbox sends a
    // chat's items in order: a copy of the subagent's answer (or of the main one) would be shown before it.
    const status = await e2e.ask(chat, "/status");
    expect(status).toMatch(/Agents:\n {2}subagent_0001 \(subagent\): completed .* — count the moons of Jupiter/);
    expect(texts(chat.id).filter((t) => t.includes("Jupiter"))).toEqual([answer, status]);
  }, 60_000);

  it("a command a subagent leaves running in the background stops when the subagent finishes, as the agent tools' descriptions say", async () => {
    ensureHost();
    const chat = chats.leftover;
    leftoverAnswer = gate();
    e2e.send(chat, "leftover please into leftover.pid");
    const pid = await e2e.until(() => sleeperPid("leftover.pid"), "the subagent's shell command started", 30_000);
    // Its shell call returned (wait_ms 100) with the command still running; the subagent has not finished yet.
    await e2e.until(() => e2e.model.requests.some((r) => lastUserText(r).includes("leave the sleeper running") && afterTool(r)), "the subagent's call after its shell returned");
    expect(processAlive(pid)).toBe(true);
    leftoverAnswer.open();
    await e2e.waitText(chat.id, /^main heard \(completed\): left it running$/, 30_000);
    await e2e.until(() => !processAlive(pid), `the subagent's leftover sleep (pid ${pid}) is gone`, 15_000);
  });

  it("/cancel stops the foreground turn and its subagent's shell command", async () => {
    ensureHost();
    const chat = chats.cancel;
    e2e.send(chat, "sleeper please into cancel.pid");
    const pid = await e2e.until(() => sleeperPid("cancel.pid"), "the subagent's shell command started", 30_000);
    expect(processAlive(pid)).toBe(true);
    const reply = await e2e.ask(chat, "/cancel");
    expect(reply).toBe("Cancelled the running turn. Stopped its subagent (subagent_0001). Send /continue to resume it.");
    await e2e.until(() => !processAlive(pid), `the subagent's sleep (pid ${pid}) is gone`, 15_000);
    expect(await e2e.ask(chat, "/status")).toMatch(/subagent_0001 \(subagent\): killed/);
  }, 60_000);

  it("/cancel stops the foreground turn but not the background agent it started: the reply says so, and its answer still arrives", async () => {
    ensureHost();
    const chat = chats.cancelBackground;
    background = gate();
    e2e.send(chat, "start it in the background, then sleep");
    await e2e.until(() => e2e.model.requests.some((r) => lastUserText(r).startsWith("[Background task") && r.aborted === false), "the background agent's model call", 30_000);
    await e2e.until(() => e2e.model.requests.some((r) => lastUserText(r).includes("background, then sleep") && afterTool(r)), "the foreground's shell command", 30_000);
    const reply = await e2e.ask(chat, "/cancel");
    expect(reply).toMatch(/^Cancelled the running turn\. Background agent background_\d{4} goes on \(it answers here when done\)\. Send \/continue to resume it\.$/);
    background.open(); // its model call was still waiting: the agent worked through the /cancel
    const answer = await e2e.waitText(chat.id, /the report is ready/, 30_000);
    expect(answer.text).toMatch(/^🤖 background_\d{4}\n\nbackground says: the report is ready$/);
  }, 60_000);

  it("/new stops the archived session's subagents and their shell commands; they answer nobody and hold no place", async () => {
    ensureHost();
    const chat = chats.fresh;
    e2e.send(chat, "sleeper please into new.pid");
    const pid = await e2e.until(() => sleeperPid("new.pid"), "the subagent's shell command started", 30_000);
    const reply = await e2e.ask(chat, "/new");
    expect(reply).toMatch(/^Started a fresh session\. .* Stopped its subagent \(subagent_0001\)\./);
    await e2e.until(() => !processAlive(pid), `the subagent's sleep (pid ${pid}) is gone`, 15_000);
    expect(await e2e.ask(chat, "/status")).toMatch(/subagent_0001 \(subagent\): killed/);
  }, 60_000);

  it("the host is killed while the main agent waits in subagent_join: after the restart the join goes on and returns the answer", async () => {
    ensureHost();
    const chat = chats.joinRestart;
    slowSubagent = gate();
    e2e.send(chat, "slow subagent please");
    await e2e.until(() => e2e.model.requests.some((r) => lastUserText(r).startsWith("[Subagent task") && lastUserText(r).includes("take your time")), "the subagent's model call");
    await e2e.stop("SIGKILL");
    slowSubagent.open(); // the call the kill cut stays unanswered
    e2e.start();
    const reply = await e2e.waitText(chat.id, /^main heard/, 60_000);
    // Not "main heard (undefined)": the join cut off by the workers' shutdown was not recorded as interrupted.
    expect(reply.text).toBe("main heard (completed): subagent says: took my time");
    expect(await e2e.ask(chat, "/status")).toMatch(/subagent_0001 \(subagent\): completed/);
    expect(texts(chat.id).filter((t) => t.startsWith("main heard")), "the recovered turn answered once").toHaveLength(1);
  }, 90_000);

  it("a background agent answers after the foreground turn ended, exactly once, also across a host kill and restart", async () => {
    ensureHost();
    const chat = chats.background;
    background = gate();
    const started = await e2e.ask(chat, "do it in the background", { timeoutMs: 30_000 });
    expect(started).toMatch(/^started background_\d{4}; answering now$/);
    const id = /background_\d{4}/.exec(started)![0];
    // The agent is still working (its model call waits for the gate): kill the host under it.
    await e2e.until(() => e2e.model.requests.some((r) => lastUserText(r).startsWith("[Background task")), "the background agent's model call");
    expect(texts(chat.id).some((t) => t.includes("the report is ready"))).toBe(false);
    await e2e.stop("SIGKILL");
    background.open(); // the call the kill cut stays unanswered
    e2e.start();
    const reply = await e2e.waitText(chat.id, /the report is ready/, 40_000);
    expect(reply.text).toBe(`🤖 ${id}\n\nbackground says: the report is ready`);
    // A clean restart afterwards sends nothing again.
    await e2e.stop("SIGTERM");
    e2e.start();
    expect(await e2e.ask(chat, "/status")).toContain(`${id} (background): completed`);
    expect(texts(chat.id).filter((t) => t.includes("the report is ready"))).toHaveLength(1);
    await e2e.stop("SIGTERM");
  }, 90_000);

  it("the host is killed right after recording the kill (agent_kill): the command is gone and the subagent never resumes", async () => {
    const host = e2e.start({ STARLING_CRASH_AT: "agent_kill" });
    const chat = chats.crash;
    e2e.send(chat, "sleeper please into crash.pid");
    const pid = await e2e.until(() => sleeperPid("crash.pid"), "the subagent's shell command started", 30_000);
    e2e.telegram.sendCommand(chat, "/cancel");
    await e2e.killedAt(host, "agent_kill");
    const subagentCalls = () => e2e.model.requests.filter((r) => lastUserText(r).includes("run the sleeper into crash.pid")).length;
    const before = subagentCalls();
    const starts = e2e.logRecords().filter((r) => r.msg === "supervisor started").length;
    e2e.start();
    // Telegram re-sends the /cancel whose update the killed host had not confirmed: it finds nothing to do.
    e2e.send(chat, "/status");
    await e2e.waitText(chat.id, /subagent_0001 \(subagent\): killed/, 30_000);
    await e2e.until(() => !processAlive(pid), `the subagent's sleep (pid ${pid}) is gone`, 15_000);
    // The restarted supervisor brings back only what a restart interrupted or what has waiting input: the
    // killed subagent's session is not among them, so nothing starts its worker again.
    const started = e2e.logRecords().filter((r) => r.msg === "supervisor started")[starts]!;
    expect((started.sessionIds as string[]).filter((id) => id.includes(".subagent.")), "subagent sessions brought back at the restart").toEqual([]);
    expect(subagentCalls(), "the killed subagent's turn was not continued after the restart").toBe(before);
  }, 60_000);
});
