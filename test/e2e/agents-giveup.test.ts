// A background agent whose worker can no longer start (its model alias was removed from the config while
// it ran, and the host restarted): nobody can /continue an agent's session, so the agent fails with the
// reason, labelled in the chat, once; before, the chat was told to "Send /continue" (which goes to the
// foreground) and the agent stayed "running" for good.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RecordedRequest, ScriptedReply } from "../fakes/openai-server.js";
import { privateChat } from "../fakes/telegram-api.js";
import { afterTool, lastUserText, type E2E } from "./fixture.js";
import { restartWithoutCheap, startWithCheap } from "./gone-model.js";

function respond(req: RecordedRequest): ScriptedReply {
  const ask = lastUserText(req);
  if (ask.startsWith("[Background task")) return { delayMs: 20_000, text: "background says: too late" };
  if (!ask.includes("background on cheap")) return { text: "ok" };
  if (!afterTool(req)) return { toolCalls: [{ name: "start_background_agent", arguments: { task: "a long survey", model: "cheap" } }] };
  return { text: "started" };
}

let e2e: E2E;
const chat = privateChat(1401, "Gone model");

beforeAll(async () => {
  e2e = await startWithCheap(respond, chat.id);
});
afterAll(() => e2e?.close());

const texts = () => e2e.replies(chat.id).map((m) => m.text ?? "");
const supervisorStarts = () => e2e.logRecords().filter((r) => r.msg === "supervisor started");

describe("a background agent whose worker cannot start any more", () => {
  it("fails with the reason, labelled, once; the chat is not told to /continue it", async () => {
    e2e.send(chat, "hello");
    const picker = await e2e.waitText(chat.id, /Which model/);
    e2e.telegram.pressButton(chat, picker.messageId, "model:main");
    await e2e.waitText(chat.id, /^ok$/);
    expect(await e2e.ask(chat, "start a background on cheap", { timeoutMs: 30_000 })).toBe("started");
    await e2e.until(() => e2e.model.requests.some((r) => r.body.model === "cheap-model"), "the background agent's model call");
    await restartWithoutCheap(e2e);
    const notice = await e2e.waitText(chat.id, /background_0001/, 30_000);
    expect(notice.text).toMatch(
      /^🤖 background_0001 failed: its worker could not be started \(session \S+\.background\.0001 has no usable chat model \(alias cheap is not a chat model in the config\)\)\.$/,
    );
    expect(await e2e.ask(chat, "/status")).toMatch(/background_0001 \(background\): failed/);
    // Another restart neither tries it again nor repeats the notice: the restarted supervisor brings no session
    // back (what would start its worker without a new message), and a notice queued before the /status reply is
    // sent before it.
    const before = supervisorStarts().length;
    await e2e.stop("SIGTERM");
    e2e.start();
    expect(await e2e.until(() => supervisorStarts()[before], "the restarted supervisor")).toMatchObject({ sessions: 0, continues: 0 });
    await e2e.ask(chat, "/status");
    expect(texts().filter((t) => t.includes("background_0001") && !t.startsWith("Conversation:"))).toHaveLength(1);
    expect(texts().filter((t) => t.includes("/continue"))).toEqual([]);
  }, 90_000);
});
