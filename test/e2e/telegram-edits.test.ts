// A user who edits a message (a typo, a changed question) expects the bot to go by the new text
// (ARCHITECTURE §8 "Edited messages") — through the real CLI and the fake Bot API's edited_message.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RecordedRequest, ScriptedReply } from "../fakes/openai-server.js";
import { groupChat, privateChat, user, type FakeChat } from "../fakes/telegram-api.js";
import { makeJpeg } from "../fixtures/media-files.js";
import { lastUserText, requestText, startE2E, wireMessages, type E2E } from "./fixture.js";

/** "slowly" holds the only turn slot until the test lets it go (`releaseSlot`). */
let releaseSlot!: () => void;
const slotReleased = new Promise<void>((resolve) => (releaseSlot = resolve));
function respond(req: RecordedRequest): ScriptedReply {
  const text = lastUserText(req);
  return { text: `echo: ${text.split("\n").filter(Boolean).at(-1)}`, ...(text.includes("slowly") ? { holdUntil: slotReleased } : {}) };
}

const alice = privateChat(51, "Alice");
const busy = privateChat(52, "Busy");
const pending = privateChat(53, "Pending Pat");
const group = groupChat(-5001, "Edit Team");
const bob = user(2051, "Bob");
const BOT = "@starling_test_bot";

let e2e: E2E;
beforeAll(async () => {
  e2e = await startE2E({
    responder: respond,
    // Unpaced sends (the fake has no send limits; pacing is not the subject): the answers to the later messages
    // that stand behind the "answered once" checks would otherwise wait ~1 s each behind alice's earlier replies.
    config: { adminUserIds: [alice.id], allowedChatIds: [busy.id, group.id], workers: { max_concurrent_turns: 1 }, channel: { pace_sends: false }, mainCapabilities: ["chat", "image_in"] },
  });
});
afterAll(async () => {
  releaseSlot(); // a failed first test must not leave the model call held
  await e2e?.close();
});

const admitted = (updateId: number) => e2e.until(() => e2e.telegram.confirmedOffset() > updateId, `update ${updateId} to be admitted`);
const messageId = (updateId: number) => e2e.telegram.messageIdOf(updateId);
const replyTexts = (chat: FakeChat) => e2e.replies(chat.id).map((m) => m.text ?? "");
const modelSaw = (text: string) => e2e.model.requests.some((r) => requestText(r).includes(text));
/** The host's log record of its decision on the edit of message `id` ("edited message ..."). */
const editLogged = (id: number, msg = "edited message") =>
  e2e.until(() => e2e.logRecords().find((r) => r.msg === msg && r.messageId === id), `the log record "${msg}" of message ${id}`);

describe("edited messages", { timeout: 90_000 }, () => {
  it("an edit of a message still waiting for a turn replaces it: one answer, to the corrected question", async () => {
    e2e.send(busy, "answer slowly [hold the slot]");
    await e2e.untilTyping(busy.id);
    const sent = e2e.send(alice, "what is 2+3");
    await admitted(sent);
    const edit = e2e.telegram.editText(alice, messageId(sent), "what is 2+4");
    await admitted(edit);
    expect(e2e.model.requests.some((r) => requestText(r).includes("what is 2+")), "the message still waited for the slot").toBe(false);
    releaseSlot();
    await e2e.waitText(alice.id, /what is 2\+4/);
    // A later message waits behind everything the conversation had: an answer to the old text would come first.
    expect(await e2e.ask(alice, "[after the edit]")).toBe("echo: [after the edit]");
    expect(replyTexts(alice)).toEqual(["echo: what is 2+4", "echo: [after the edit]"]);
    expect(modelSaw("2+3")).toBe(false);
  });

  it("an edit of a message the agent already took reaches it as an edit quoting the change, and is answered", async () => {
    const before = replyTexts(alice).length;
    const sent = e2e.send(alice, "capital of Frence?");
    await e2e.waitReplies(alice.id, before + 1, "the answer to the original");
    const requests = e2e.model.requests.length;
    e2e.telegram.editText(alice, messageId(sent), "capital of France?");
    await e2e.waitReplies(alice.id, before + 2, "an answer to the edit");
    const asked = lastUserText(e2e.model.requests[requests]!);
    expect(asked).toMatch(/edited/i);
    expect(asked).toContain("capital of Frence?");
    expect(asked).toContain("capital of France?");
    // Answered once: a second answer to the edit would come before the answer to a later message.
    expect(await e2e.ask(alice, "[after the answered edit]")).toBe("echo: [after the answered edit]");
    expect(replyTexts(alice).length).toBe(before + 3);
  });

  it("edits of what the bot never admitted are ignored: a chat's message before its approval, a command", async () => {
    const first = e2e.send(pending, "hello, can I use you?");
    await e2e.waitText(pending.id, /approv/i);
    await e2e.waitText(alice.id, /waiting for approval/);
    expect(await e2e.ask(alice, `/admin_chat_approve ${pending.id}`)).toMatch(/Approved chat/);
    const status = e2e.send(alice, "/status");
    await e2e.waitText(alice.id, /Conversation:/);
    const requests = e2e.model.requests.length;
    const shown = { pending: replyTexts(pending).length, alice: replyTexts(alice).length };
    const edit = e2e.telegram.editText(pending, messageId(first), "hello, can I use you? please");
    const commandEdit = e2e.telegram.editText(alice, messageId(status), "/help");
    await admitted(Math.max(edit, commandEdit));
    // Both are decided (and logged) where they would otherwise have been admitted or run.
    await editLogged(messageId(first), "edit of a message the bot did not admit (or no longer knows); ignored");
    expect(await editLogged(messageId(status), "edited message ignored")).toMatchObject({ why: "edited into a command" });
    expect(e2e.model.requests.length).toBe(requests);
    expect(replyTexts(pending).length).toBe(shown.pending);
    expect(replyTexts(alice).length).toBe(shown.alice);
  });

  it("in a group an edit follows the mention rules: into a mention it is answered, without one it is context", async () => {
    const note = e2e.send(group, "the deploy is on friday", bob);
    await admitted(note);
    const requests = e2e.model.requests.length;
    e2e.telegram.editText(group, messageId(note), `${BOT} is the deploy on friday or monday?`);
    await e2e.waitText(group.id, /friday or monday/);
    expect(lastUserText(e2e.model.requests[requests]!)).toMatch(/edited/i);

    const lunch = e2e.send(group, "lunch at noon", bob);
    await admitted(lunch);
    const edit = e2e.telegram.editText(group, messageId(lunch), "lunch at 1pm");
    await admitted(edit);
    // Kept as context: decided (and logged) where a turn would otherwise have been asked for.
    expect(await editLogged(messageId(lunch))).toMatchObject({ outcome: "context" });
    await e2e.ask(group, `${BOT} when is lunch?`, { from: bob });
    // The unaddressed edit started no turn: a turn of its own would have come before this one.
    expect(e2e.model.requests.length).toBe(requests + 2);
    expect(requestText(e2e.model.requests.at(-1)!)).toContain("lunch at 1pm");
  });

  it("in a group a photo kept as context, its caption edited into a mention: the agent gets the photo with the edit", async () => {
    const photo = makeJpeg("the group photo");
    const sent = e2e.telegram.sendPhoto(group, { fileName: "g.jpg", mimeType: "image/jpeg", bytes: photo, caption: "our new logo" }, { from: bob });
    await admitted(sent);
    const requests = e2e.model.requests.length;
    const before = replyTexts(group).length;
    e2e.telegram.editText(group, messageId(sent), `${BOT} what do you think of this logo?`);
    await e2e.waitReplies(group.id, before + 1, "the answer to the edit");
    expect(lastUserText(e2e.model.requests[requests]!)).toContain("what do you think of this logo?");
    const user = wireMessages(e2e.model.requests[requests]!).filter((m) => m.role === "user").at(-1)!;
    const parts = user.content as string | { type: string; text?: string; image_url?: { url: string } }[];
    // Before the fix: the edit notice alone (a string naming "[photo: …]"), the photo the question is about never sent.
    expect(Array.isArray(parts) ? parts.filter((p) => p.type === "image_url").map((p) => p.image_url?.url) : []).toEqual([`data:image/jpeg;base64,${photo.toString("base64")}`]);
  });

  it("an edit that only replaces a photo (same caption) reaches the agent with the new photo, and is answered", async () => {
    const before = replyTexts(alice).length;
    const first = makeJpeg("the first photo");
    const second = makeJpeg("the photo that replaced it");
    const sent = e2e.telegram.sendPhoto(alice, { fileName: "a.jpg", mimeType: "image/jpeg", bytes: first, caption: "what is in this picture? [replaced photo]" });
    await e2e.waitReplies(alice.id, before + 1, "the answer to the photo");
    const requests = e2e.model.requests.length;
    e2e.telegram.editFile(alice, messageId(sent), "photo", { fileName: "b.jpg", mimeType: "image/jpeg", bytes: second });
    await e2e.waitReplies(alice.id, before + 2, "an answer to the replaced photo");
    const user = wireMessages(e2e.model.requests[requests]!).filter((m) => m.role === "user").at(-1)!;
    const parts = user.content as { type: string; text?: string; image_url?: { url: string } }[];
    expect(parts.find((p) => p.type === "text")?.text).toMatch(/replaced the photo of a message they sent earlier[^]*what is in this picture\?/);
    expect(parts.filter((p) => p.type === "image_url").map((p) => p.image_url?.url)).toEqual([`data:image/jpeg;base64,${second.toString("base64")}`]);
    // Answered once: a second answer would come before the answer to a later message.
    expect(await e2e.ask(alice, "[after the replaced photo]")).toBe("echo: [after the replaced photo]");
    expect(replyTexts(alice).length).toBe(before + 3);
  });

  it("host killed at the edit's commit (STARLING_CRASH_AT=edit): after the restart the edit is answered once", async () => {
    const before = replyTexts(alice).length;
    const sent = e2e.send(alice, "how tall is Mont Blanc");
    await e2e.waitReplies(alice.id, before + 1, "the answer to the original");
    await e2e.stop();
    const host = e2e.start({ STARLING_CRASH_AT: "edit" });
    e2e.telegram.editText(alice, messageId(sent), "how tall is the Matterhorn");
    await e2e.killedAt(host, "edit");
    e2e.start();
    await e2e.waitText(alice.id, /Matterhorn/);
    // A second answer to the edit would come before the answer to a later message.
    expect(await e2e.ask(alice, "[after the restart]")).toBe("echo: [after the restart]");
    expect(replyTexts(alice).filter((t) => t.includes("Matterhorn"))).toHaveLength(1);
    expect(replyTexts(alice).length).toBe(before + 3);
  });
});
