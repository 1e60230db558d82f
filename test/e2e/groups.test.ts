// Groups and forum topics through the real CLI (ARCHITECTURE §8): mention gating with the other
// messages kept as context, and each forum topic as its own conversation answered in its topic.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RecordedRequest, ScriptedReply } from "../fakes/openai-server.js";
import { groupChat, user, type InboundOptions, type SentMessage } from "../fakes/telegram-api.js";
import { forumChat } from "../fakes/telegram/groups.js";
import { contentText, isPanel, lastUserText, startE2E, wireMessages, type E2E } from "./fixture.js";

const group = groupChat(-100777, "Team");
const forum = forumChat(-100888, "Forum");
const [bob, carol, dave] = [user(2001, "Bob"), user(2002, "Carol"), user(2003, "Dave")];
const BOT = "@starling_test_bot";

function respond(req: RecordedRequest): ScriptedReply {
  // A user deletes the topic while its answer is being written.
  if (lastUserText(req).includes("then delete this topic")) e2e.telegram.deleteTopic(forum, 33);
  return { text: `echo: ${lastUserText(req).split("\n").at(-1)}` };
}

let e2e: E2E;
beforeAll(async () => {
  e2e = await startE2E({ responder: respond, config: { channel: { pace_sends: false }, adminUserIds: [1], allowedChatIds: [group.id, forum.id] } });
});
afterAll(async () => {
  await e2e?.close();
});

/** Sends with any inbound options (forum topic, reply) and resolves with the next reply in that chat. */
async function askIn(chat: typeof forum, text: string, opts: InboundOptions): Promise<SentMessage> {
  const before = e2e.replies(chat.id).length;
  e2e.telegram.sendText(chat, text, opts);
  return (await e2e.waitReplies(chat.id, before + 1, `an answer to ${JSON.stringify(text)}`))[before]!;
}

const requestsWith = (text: string) => e2e.model.requests.filter((r) => JSON.stringify(r.body.messages).includes(text));

describe("groups and topics", { timeout: 60_000 }, () => {
  it("answers only messages that mention the bot or reply to it; the others reach the model as context of the next one", async () => {
    e2e.send(group, "the deploy is at 5pm", bob);
    const last = e2e.send(group, "ok, I'll prepare the release notes", carol);
    await e2e.until(() => e2e.telegram.confirmedOffset() > last, "the untriggered messages to be admitted");
    expect(e2e.model.requests).toHaveLength(0);
    expect(e2e.replies(group.id)).toHaveLength(0);

    const answer = await e2e.ask(group, `${BOT} when is the deploy?`, { from: dave });
    expect(answer).toBe(`echo: ${BOT} when is the deploy?`);
    const first = e2e.model.requests.at(-1)!;
    const asked = lastUserText(first);
    expect(asked).toMatch(/Earlier in this group \(not addressed to you\):/);
    expect(asked).toMatch(/\] Bob \(@bob\): the deploy is at 5pm/);
    expect(asked).toMatch(/\] Carol \(@carol\): ok, I'll prepare the release notes/);
    expect(asked.indexOf("Bob")).toBeLessThan(asked.indexOf("Carol"));

    // A reply to the bot triggers without a mention; the context was used once, not again.
    await askIn(group, "and after that?", { from: bob, replyTo: e2e.replies(group.id).at(-1)!.messageId });
    const second = e2e.model.requests.at(-1)!;
    const lastUser = [...wireMessages(second)].reverse().find((m) => m.role === "user")!;
    expect(contentText(lastUser)).toContain("and after that?");
    expect(contentText(lastUser)).not.toContain("Earlier in this group");
    expect(requestsWith("the deploy is at 5pm")).toHaveLength(2); // in history, not repeated as new context
  });

  it("treats each forum topic as its own conversation and answers in the topic (replies, panel, typing)", async () => {
    const a = await askIn(forum, `${BOT} plan the trip`, { from: bob, threadId: 11 });
    expect(a.text).toBe(`echo: ${BOT} plan the trip`);
    const b = await askIn(forum, `${BOT} fix the bug`, { from: carol, threadId: 22 });
    expect(b.text).toBe(`echo: ${BOT} fix the bug`);
    // Two conversations: the second topic's model call does not see the first topic.
    expect(JSON.stringify(requestsWith("fix the bug").at(-1)!.body.messages)).not.toContain("plan the trip");
    const sent = e2e.telegram.messages(forum.id);
    for (const [text, thread] of [[`echo: ${BOT} plan the trip`, 11], [`echo: ${BOT} fix the bug`, 22]] as const) {
      expect(sent.find((m) => m.text === text)?.params.message_thread_id).toBe(thread);
    }
    const panels = sent.filter(isPanel);
    expect(panels.length).toBeGreaterThan(0);
    expect(panels.every((m) => [11, 22].includes(m.params.message_thread_id as number))).toBe(true);
    const typing = e2e.telegram.calls("sendChatAction").filter((c) => String(c.params.chat_id) === String(forum.id));
    expect(typing.length).toBeGreaterThan(0);
    expect(typing.every((c) => [11, 22].includes(c.params.message_thread_id as number))).toBe(true);
    // /status in each topic names a different conversation, and answers in that topic.
    const statusIn = async (threadId: number) => {
      const reply = await askIn(forum, "/status", { from: dave, threadId });
      expect(reply.params.message_thread_id).toBe(threadId);
      return /Conversation: (\S+)/.exec(reply.text ?? "")![1];
    };
    const [c11, c22] = [await statusIn(11), await statusIn(22)];
    expect(c11).not.toBe(c22);
    expect(await statusIn(11)).toBe(c11);
  });

  it("posts the answer of a topic deleted meanwhile to General, saying so once, instead of dropping it", async () => {
    const before = e2e.replies(forum.id).length;
    e2e.telegram.sendText(forum, `${BOT} summarize, then delete this topic`, { from: bob, threadId: 33 });
    const [moved] = (await e2e.waitReplies(forum.id, before + 1, "the answer of the deleted topic", 20_000)).slice(before);
    expect(moved!.params.message_thread_id).toBeUndefined(); // General
    expect(moved!.text).toBe(`ℹ️ Its forum topic was deleted or closed, so this answer is posted here.\necho: ${BOT} summarize, then delete this topic`);
    expect(e2e.replies(forum.id).slice(before)).toHaveLength(1);
    expect(e2e.logRecords().some((r) => r.msg === "the forum topic is gone; the answer goes to General")).toBe(true);
    // The other topics are not affected.
    const other = await askIn(forum, `${BOT} still here?`, { from: carol, threadId: 11 });
    expect(other.params.message_thread_id).toBe(11);
  });
});

describe("commands in groups", { timeout: 60_000 }, () => {
  it("ignores another bot's command in a group (/cmd without @this_bot) but answers one addressed to it", async () => {
    const before = e2e.replies(group.id).length;
    const other = e2e.send(group, "/deploy_now", bob);
    await e2e.until(() => e2e.telegram.confirmedOffset() > other, "the other bot's command to be read");
    const addressed = await askIn(group, `/deploy_now${BOT}`, { from: bob });
    expect(addressed.text).toBe("Unknown command /deploy_now. Try /help.");
    expect(e2e.replies(group.id).slice(before).map((m) => m.text)).toEqual(["Unknown command /deploy_now. Try /help."]);
  });
});
