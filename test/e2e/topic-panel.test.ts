// A live progress panel of a forum topic that is deleted (or closed) while its turn runs is shown in
// the group's General topic, first line saying why, like the turn's answer (ARCHITECTURE §8 "Groups
// and topics"), instead of being given up.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { RecordedRequest, ScriptedReply } from "../fakes/openai-server.js";
import { user } from "../fakes/telegram-api.js";
import { forumChat } from "../fakes/telegram/groups.js";
import { isPanel, lastUserText, startE2E, type E2E } from "./fixture.js";

const forum = forumChat(-100919, "Forum");
const bob = user(2191, "Bob");
const BOT = "@starling_test_bot";

function respond(req: RecordedRequest): ScriptedReply {
  // The topic is deleted while the turn runs, before its panel is due (progress_panel_delay_ms below).
  const topic = /then delete topic (\d+)/.exec(lastUserText(req))?.[1];
  if (topic) e2e.telegram.deleteTopic(forum, Number(topic));
  // Long enough for the panel (800 ms) to be out before the turn ends. (No send pacing: the e2e harness turns
  // pace_sends off, so topic 45's panel does not wait for room after topic 44's sends.)
  return { delayMs: 2500, text: "the summary" };
}

let e2e: E2E;
beforeAll(async () => {
  e2e = await startE2E({ responder: respond, config: { adminUserIds: [1], allowedChatIds: [forum.id], channel: { progress_panel_delay_ms: 800 } } });
});
afterEach(() => e2e.telegram.setNemesis(undefined));
afterAll(async () => {
  await e2e?.close();
});

describe("a progress panel whose forum topic is gone", { timeout: 60_000 }, () => {
  it("is shown in General, saying why, and shows the turn's end there", async () => {
    e2e.telegram.sendText(forum, `${BOT} summarize, then delete topic 44`, { from: bob, threadId: 44 });
    const panel = await e2e.until(() => e2e.telegram.messages(forum.id).find(isPanel), "the turn's progress panel", 20_000);
    expect(panel.params.message_thread_id, "the panel is in General").toBeUndefined();
    expect(panel.text).toMatch(/^ℹ️ Its forum topic was deleted or closed, so this progress is shown here\.\n/);
    await e2e.until(() => panel.text?.includes("✅ Done"), "the panel to show the turn's end", 20_000);
    expect(panel.text).toMatch(/^ℹ️ Its forum topic was deleted or closed/);
    const answer = await e2e.waitText(forum.id, /the summary/, 20_000);
    expect(answer.params.message_thread_id).toBeUndefined();
    expect(e2e.telegram.messages(forum.id).filter(isPanel)).toHaveLength(1);
    expect(e2e.logRecords().some((r) => r.msg === "the forum topic is gone; the progress panel goes to General")).toBe(true);
  });

  it("keeps its first line on the final edit made after a restart (the move is stored with the panel's id)", async () => {
    // The panel's final edit is refused with a long 429, and the host is killed in that pause: the
    // restart shows the final state from the turn's stored end, editing the panel in General.
    let refused = 0;
    e2e.telegram.setNemesis(({ method, params }) => {
      if (method !== "editMessageText" || !String(params["text"] ?? "").includes("✅ Done")) return undefined;
      refused++;
      return { kind: "fault", fault: { status: 429, retryAfter: 60 } };
    });
    e2e.telegram.sendText(forum, `${BOT} summarize, then delete topic 45`, { from: bob, threadId: 45 });
    const panel = await e2e.until(
      () => e2e.telegram.messages(forum.id).find((m) => isPanel(m) && !m.text?.includes("✅ Done")),
      "the second turn's progress panel",
      20_000,
    );
    expect(panel.text).toMatch(/^ℹ️ Its forum topic was deleted or closed/);
    await e2e.until(() => refused > 0, "the panel's final edit refused with a 429", 20_000);
    await e2e.stop("SIGKILL");
    e2e.telegram.setNemesis(undefined);
    expect(panel.text).not.toContain("✅ Done");

    e2e.start();
    await e2e.until(() => panel.text?.includes("✅ Done"), "the panel to show the turn's end after the restart", 20_000);
    expect(panel.text, "the final state keeps the line saying why the panel is in General").toMatch(/^ℹ️ Its forum topic was deleted or closed, so this progress is shown here\.\n/);
    expect(e2e.telegram.messages(forum.id).filter(isPanel)).toHaveLength(2);
  });
});
