// Access control through the real CLI: the first private user becomes admin, other chats wait for
// approval and never reach the model, `allowed_chat_ids` pre-approves.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RecordedRequest, ScriptedReply } from "../fakes/openai-server.js";
import { groupChat, privateChat, user } from "../fakes/telegram-api.js";
import { lastUserText, requestText, startE2E, type E2E } from "./fixture.js";

function respond(req: RecordedRequest): ScriptedReply {
  const ask = lastUserText(req);
  const tag = /\[(\w+)\]/.exec(ask)?.[1] ?? "none";
  return { text: `Answer to ${tag}.` };
}

const alice = user(201, "Alice");
const aliceChat = privateChat(201, "Alice");
const bob = user(202, "Bob");
const team = groupChat(-100500, "Team");
const carolChat = privateChat(203, "Carol");
const allowed = groupChat(-100600, "Allowed");

let e2e: E2E;

beforeAll(async () => {
  e2e = await startE2E({ responder: respond, config: { adminUserIds: [], allowedChatIds: [allowed.id] } });
});

afterAll(async () => {
  await e2e?.close();
});

const modelSaw = (text: string) => e2e.model.requests.some((r) => requestText(r).includes(text));

describe("access", { timeout: 60_000 }, () => {
  it("makes the first private-chat user the admin, and answers them", async () => {
    e2e.send(aliceChat, "hello [first]", alice);
    await e2e.waitText(aliceChat.id, /^Answer to first\.$/);
    const texts = e2e.replies(aliceChat.id).map((m) => m.text ?? "");
    expect(texts.some((t) => /You are now the admin/.test(t))).toBe(true);
  });

  it("keeps a group pending: it is told, the admin is asked, and its text never reaches the model", async () => {
    e2e.send(team, "secret plans [group1]", bob);
    const notice = await e2e.waitText(team.id, /waiting for approval/);
    expect(notice.text).toMatch(/admin/);
    const request = await e2e.waitText(aliceChat.id, /new chat is waiting for approval/);
    expect(request.text).toContain(String(team.id));
    expect(request.text).toContain(`/admin_chat_approve ${team.id}`);
    const buttons = (request.replyMarkup?.inline_keyboard ?? []).flat().map((b) => b.callback_data);
    expect(buttons).toEqual([`admin:approve:${team.id}`, `admin:reject:${team.id}`]);
    // A second message while pending: still nothing reaches the model, and no answer.
    e2e.send(team, "more secrets [group1b]", bob);
    await e2e.until(() => e2e.telegram.confirmedOffset() > e2e.telegram.updates().at(-1)!.update_id, "the update to be confirmed");
    // Nothing reached a session so far; that nothing ever does is shown after the approval (next test): the
    // group's first answered message would carry them (a turn, or context, of the same conversation) or follow them.
    expect(modelSaw("secret plans")).toBe(false);
    expect(modelSaw("more secrets")).toBe(false);
    expect(e2e.replies(team.id).some((m) => /^Answer to/.test(m.text ?? ""))).toBe(false);
    expect(await e2e.ask(aliceChat, "/admin_chat_list", { from: alice })).toMatch(new RegExp(`${team.id}: pending`));
  });

  it("answers the group once the admin approves it with /admin_chat_approve <id>", async () => {
    const reply = await e2e.ask(aliceChat, `/admin_chat_approve ${team.id}`, { from: alice });
    expect(reply).toMatch(new RegExp(`Approved chat ${team.id}`));
    await e2e.waitText(team.id, /approved/);
    // In a group the bot answers messages that mention it (group_trigger "mention", the default).
    e2e.send(team, "@starling_test_bot now we may talk [group2]", bob);
    const answer = await e2e.waitText(team.id, /^Answer to/);
    expect(answer.text).toBe("Answer to group2.");
    // The messages sent while pending were dropped, not queued: not in this turn, no turn or answer before it.
    expect(modelSaw("secret plans")).toBe(false);
    expect(modelSaw("more secrets")).toBe(false);
    expect(e2e.replies(team.id).filter((m) => /^Answer to/.test(m.text ?? "")).map((m) => m.text)).toEqual(["Answer to group2."]);
  });

  it("keeps another user's private chat pending until the admin presses Approve", async () => {
    e2e.send(carolChat, "hi, may I? [carol1]");
    await e2e.waitText(carolChat.id, /waiting for approval/);
    const request = await e2e.waitText(aliceChat.id, new RegExp(`chat id ${carolChat.id}\\)`));
    const update = e2e.telegram.pressButton(aliceChat, request.messageId, `admin:approve:${carolChat.id}`, alice);
    const query = e2e.telegram.updates().find((u) => u.update_id === update)!.callback_query!;
    await e2e.until(() => e2e.telegram.callbackAnswers().some((a) => a.callbackQueryId === query.id), "the button press to be answered");
    await e2e.waitText(carolChat.id, /approved/);
    e2e.send(carolChat, "thanks [carol2]");
    await e2e.waitText(carolChat.id, /^Answer to carol2\.$/);
    expect(modelSaw("may I?")).toBe(false);
  });

  it("answers a chat listed in allowed_chat_ids without asking", async () => {
    e2e.send(allowed, "@starling_test_bot hello from the allowed group [allowed]", bob);
    await e2e.waitText(allowed.id, /^Answer to allowed\.$/);
    expect(e2e.replies(allowed.id).some((m) => /approval/.test(m.text ?? ""))).toBe(false);
    // Admin commands stay the admin's.
    expect(await e2e.ask(allowed, `/admin_chat_reject ${team.id}`, { from: bob })).toMatch(/Only the bot's admin/);
  });
});
