// A live progress panel of a forum topic that is deleted (or closed) while its turn runs is shown in
// the group's General topic, first line saying why, like the turn's answer (ARCHITECTURE §8 "Groups
// and topics"), instead of being given up.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RecordedRequest, ScriptedReply } from "../fakes/openai-server.js";
import { user } from "../fakes/telegram-api.js";
import { forumChat } from "../fakes/telegram/groups.js";
import { isPanel, lastUserText, startE2E, type E2E } from "./fixture.js";

const forum = forumChat(-100919, "Forum");
const bob = user(2191, "Bob");
const BOT = "@starling_test_bot";

function respond(req: RecordedRequest): ScriptedReply {
  // The topic is deleted while the turn runs, before its panel is due (progress_panel_delay_ms below).
  if (lastUserText(req).includes("then delete this topic")) e2e.telegram.deleteTopic(forum, 44);
  return { delayMs: 2500, text: "the summary" };
}

let e2e: E2E;
beforeAll(async () => {
  e2e = await startE2E({ responder: respond, config: { adminUserIds: [1], allowedChatIds: [forum.id], channel: { progress_panel_delay_ms: 800 } } });
});
afterAll(async () => {
  await e2e?.close();
});

describe("a progress panel whose forum topic is gone", { timeout: 60_000 }, () => {
  it("is shown in General, saying why, and shows the turn's end there", async () => {
    e2e.telegram.sendText(forum, `${BOT} summarize, then delete this topic`, { from: bob, threadId: 44 });
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
});
