// A subagent whose worker can no longer start: the conversation started it on the model `cheap`, then
// moved to `main`; the host was killed while the subagent ran and came back with `cheap` removed from the
// config. Only the subagent's session needs `cheap`: it fails with the reason (what subagent_join answers
// and /status shows), the chat is never told to /continue it, and the main conversation goes on.
// (agents-giveup.test.ts is the same for a background agent; agentGaveUp serves both.)
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RecordedRequest, ScriptedReply } from "../fakes/openai-server.js";
import { privateChat } from "../fakes/telegram-api.js";
import { afterTool, contentText, lastUserText, wireMessages, type E2E } from "./fixture.js";
import { restartWithoutCheap, startWithCheap } from "./gone-model.js";

const lastToolText = (req: RecordedRequest) => contentText([...wireMessages(req)].reverse().find((m) => m.role === "tool")!);

function respond(req: RecordedRequest): ScriptedReply {
  const ask = lastUserText(req);
  if (ask.startsWith("[Subagent task")) return { delayMs: 20_000, text: "subagent says: too late" };
  if (ask.includes("start a subagent")) {
    if (!afterTool(req)) return { toolCalls: [{ name: "subagent_start", arguments: { description: "a long count" } }] };
    return { text: "started" };
  }
  if (ask.includes("join it")) {
    if (!afterTool(req)) return { toolCalls: [{ name: "subagent_join", arguments: { agent_id: "subagent_0001", timeout_seconds: 5 } }] };
    return { text: `join: ${lastToolText(req)}` };
  }
  return { text: "ok" };
}

let e2e: E2E;
const chat = privateChat(1411, "Gone subagent model");

beforeAll(async () => {
  e2e = await startWithCheap(respond, chat.id);
});
afterAll(() => e2e?.close());

const texts = () => e2e.replies(chat.id).map((m) => m.text ?? "");
const supervisorStarts = () => e2e.logRecords().filter((r) => r.msg === "supervisor started");

describe("a subagent whose worker cannot start any more", () => {
  it("fails with the reason (subagent_join and /status say so); the chat is not told to /continue; the conversation goes on", async () => {
    e2e.send(chat, "hello");
    const picker = await e2e.waitText(chat.id, /Which model/);
    e2e.telegram.pressButton(chat, picker.messageId, "model:cheap");
    await e2e.waitText(chat.id, /^ok$/);
    expect(await e2e.ask(chat, "start a subagent", { timeoutMs: 30_000 })).toBe("started");
    await e2e.until(
      () => e2e.model.requests.some((r) => r.body.model === "cheap-model" && lastUserText(r).startsWith("[Subagent task")),
      "the subagent's model call",
    );
    expect(await e2e.ask(chat, "/model main")).toMatch(/Model set to main/);
    await restartWithoutCheap(e2e);
    // The restarted host gives the subagent's worker up (logged just before the commit /status reads).
    await e2e.until(() => e2e.logRecords().some((r) => r.msg === "worker keeps failing; not restarting until the next message" && String(r.sessionId).endsWith(".subagent.0001")), "the subagent's worker given up", 30_000);
    const deadline = Date.now() + 30_000;
    let status = await e2e.ask(chat, "/status");
    while (!/subagent_0001 \(subagent\): failed/.test(status) && Date.now() < deadline) status = await e2e.ask(chat, "/status");
    expect(status).toMatch(/subagent_0001 \(subagent\): failed/);
    const joined = await e2e.ask(chat, "join it", { timeoutMs: 30_000 });
    expect(joined).toMatch(/^join: /);
    expect(JSON.parse(joined.slice("join: ".length))).toMatchObject({
      agent_id: "subagent_0001",
      status: "failed",
      error: expect.stringMatching(/^its worker could not be started \(session \S+\.subagent\.0001 has no usable chat model \(alias cheap is not a chat model in the config\)\)$/),
    });
    // Another restart neither tries it again nor tells the chat anything about it: the restarted supervisor
    // brings no session back (what would start its worker without a new message), and a notice queued before
    // the answer to a later message is sent before it.
    const before = supervisorStarts().length;
    await e2e.stop("SIGTERM");
    e2e.start();
    expect(await e2e.until(() => supervisorStarts()[before], "the restarted supervisor")).toMatchObject({ sessions: 0, continues: 0 });
    expect(await e2e.ask(chat, "anything new?")).toBe("ok");
    expect(texts().filter((t) => t.includes("/continue") || t.includes("could not run"))).toEqual([]);
    expect(texts().filter((t) => t.includes("subagent_0001") && !t.startsWith("join: ") && !t.includes("Agents:"))).toEqual([]);
  }, 120_000);
});
