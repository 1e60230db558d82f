// A user who edits a message (a typo, a changed question, a replaced photo) expects the bot to go by the
// new version (ARCHITECTURE §8 "Edited messages") — through the real CLI and the fake Bot API's edited_message.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { groupChat, privateChat, user, type FakeChat, type TgUpdate } from "../fakes/telegram-api.js";
import { makeJpeg } from "../fixtures/media-files.js";
import { lastUserText, requestText, startE2E, wireMessages, type E2E } from "./fixture.js";
import { deferred, echoHolding } from "./echo-slot.js";

/** "slowly" holds the only turn slot until the test lets the current hold go (`slot.resolve()`). */
let slot = deferred();
const respond = echoHolding(() => slot.promise);

const alice = privateChat(51, "Alice");
const busy = privateChat(52, "Busy");
const pending = privateChat(53, "Pending Pat");
const photos = privateChat(54, "Photo Phil");
const group = groupChat(-5001, "Edit Team");
const bob = user(2051, "Bob");
const BOT = "@starling_test_bot";

let e2e: E2E;
beforeAll(async () => {
  e2e = await startE2E({
    responder: respond,
    // Unpaced sends (the fake has no send limits; pacing is not the subject): the answers to the later messages
    // that stand behind the "answered once" checks would otherwise wait ~1 s each behind alice's earlier replies.
    config: { adminUserIds: [alice.id], allowedChatIds: [busy.id, group.id, photos.id], workers: { max_concurrent_turns: 1 }, mainCapabilities: ["chat", "image_in"] },
  });
});
afterAll(async () => {
  slot.resolve(); // a failed test must not leave the model call held
  e2e?.telegram.setNemesis(undefined);
  await e2e?.close();
});

const admitted = (updateId: number) => e2e.until(() => e2e.telegram.confirmedOffset() > updateId, `update ${updateId} to be admitted`);
const messageId = (updateId: number) => e2e.telegram.messageIdOf(updateId);
const replyTexts = (chat: FakeChat) => e2e.replies(chat.id).map((m) => m.text ?? "");
const modelSaw = (text: string) => e2e.model.requests.some((r) => requestText(r).includes(text));
/** The host's log record of its decision on the edit of message `id` ("edited message ..."). */
const editLogged = (id: number, msg = "edited message") =>
  e2e.until(() => e2e.logRecords().find((r) => r.msg === msg && r.messageId === id), `the log record "${msg}" of message ${id}`);
const dataUrl = (bytes: Buffer) => `data:image/jpeg;base64,${bytes.toString("base64")}`;
const photo = (label: string, caption?: string) => ({ fileName: `${label}.jpg`, mimeType: "image/jpeg", bytes: makeJpeg(label), ...(caption ? { caption } : {}) });
/** True when any model request carried the image `bytes`. */
const modelGot = (bytes: Buffer) => e2e.model.requests.some((r) => JSON.stringify(r.body).includes(bytes.toString("base64")));
/** The images of every model request whose newest user message contains `text`, one list per request. */
function imagesAsked(text: string): string[][] {
  return e2e.model.requests
    .map((r) => wireMessages(r).filter((m) => m.role === "user").at(-1)!)
    .filter((m) => JSON.stringify(m.content).includes(text))
    .map((m) => (Array.isArray(m.content) ? (m.content as { type: string; image_url?: { url: string } }[]) : []).filter((p) => p.type === "image_url").map((p) => p.image_url!.url));
}
const storedCount = (chat: FakeChat) => e2e.logRecords().filter((r) => r.msg === "inbound files stored" && r.chatId === String(chat.id)).length;
/**
 * Holds the only turn slot (busy's turn `marker`, until `slot.resolve()`), then sends `file` from the photos
 * chat and waits until it is downloaded: it waits for the slot only. Returns the photo's update id.
 */
async function photoWaitingForSlot(file: ReturnType<typeof photo>, marker: string): Promise<number> {
  slot = deferred();
  e2e.send(busy, `answer slowly ${marker}`);
  await e2e.until(() => modelSaw(marker), `the model to be asked ${marker}`);
  const stored = storedCount(photos);
  const sent = e2e.telegram.sendPhoto(photos, file);
  await e2e.until(() => storedCount(photos) > stored, "the photo's download to be stored");
  return sent;
}
/** Downloads (getFile) held by `holdDownload` until released: of one file, or of every file (`fileId` undefined). */
const holds = new Set<{ fileId: string | undefined; gate: ReturnType<typeof deferred>; asked: boolean }>();
/**
 * Holds the download of the photo of update `updateId` (a message or an edit; of every file when not given)
 * until `release()`; `held()` resolves once it was asked for.
 */
function holdDownload(updateId?: number): { held: () => Promise<unknown>; release: () => void } {
  const update = updateId === undefined ? undefined : e2e.telegram.updates().find((u: TgUpdate) => u.update_id === updateId)!;
  const message = update?.message ?? update?.edited_message;
  const hold = { fileId: message && (message.photo as { file_id: string }[]).at(-1)!.file_id, gate: deferred(), asked: false };
  holds.add(hold);
  e2e.telegram.setNemesis(({ method, params }) => {
    const held = method === "getFile" ? [...holds].find((h) => h.fileId === undefined || h.fileId === params["file_id"]) : undefined;
    if (!held) return undefined;
    held.asked = true;
    return { kind: "hold", until: held.gate.promise };
  });
  return {
    held: () => e2e.until(() => hold.asked, "the photo's download to be asked for"),
    release: () => {
      holds.delete(hold);
      hold.gate.resolve();
    },
  };
}

describe("edited messages", { timeout: 90_000 }, () => {
  it("an edit of a message still waiting for a turn replaces it: one answer, to the corrected question", async () => {
    e2e.send(busy, "answer slowly [hold the slot]");
    await e2e.untilTyping(busy.id);
    const sent = e2e.send(alice, "what is 2+3");
    await admitted(sent);
    const edit = e2e.telegram.editText(alice, messageId(sent), "what is 2+4");
    await admitted(edit);
    expect(e2e.model.requests.some((r) => requestText(r).includes("what is 2+")), "the message still waited for the slot").toBe(false);
    slot.resolve();
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

  it("a photo replaced while its message waits for a turn: one answer, about the new photo and the caption", async () => {
    const [first, second] = [photo("the wrong photo", "what is on this receipt? [waiting]"), photo("the right photo")];
    const sent = await photoWaitingForSlot(first, "[hold the slot for the photo]");
    const edit = e2e.telegram.editFile(photos, messageId(sent), "photo", second);
    await admitted(edit);
    expect(imagesAsked("[waiting]"), "the message still waited for the slot").toEqual([]);
    slot.resolve();
    await e2e.waitText(photos.id, /\[waiting\]/);
    // A later message waits behind everything the conversation had: a second answer would come first.
    expect(await e2e.ask(photos, "[after the waiting photo]")).toBe("echo: [after the waiting photo]");
    expect(replyTexts(photos)).toEqual(["echo: what is on this receipt? [waiting]", "echo: [after the waiting photo]"]);
    expect(imagesAsked("[waiting]")).toEqual([[dataUrl(second.bytes)]]);
    // Before the fix: the wrong photo was asked about too, then a "replaced the photo" input with the right one.
    expect(modelGot(first.bytes), "the wrong photo reached the model").toBe(false);
    expect(e2e.model.requests.some((r) => requestText(r).includes("replaced the photo") && requestText(r).includes("[waiting]"))).toBe(false);
  });

  it("a photo replaced while the first one is still downloading, its caption changed too: one answer, about the new photo", async () => {
    const before = replyTexts(photos).length;
    const [first, second] = [photo("the first download", "which bird is this? [downloading]"), photo("the second download")];
    const sent = e2e.telegram.sendPhoto(photos, first);
    const old = holdDownload(sent);
    await old.held();
    const edit = e2e.telegram.editFile(photos, messageId(sent), "photo", second);
    const replacement = holdDownload(edit); // held before the host can see the edit
    await admitted(edit);
    // Does not wait for the old download (hung here; 120 s before it would time out).
    await replacement.held();
    await admitted(e2e.telegram.editText(photos, messageId(sent), "which bird is this one? [downloading]"));
    old.release(); // the first photo's download ends after it was replaced: it must not be stored
    await e2e.until(() => e2e.logRecords().some((r) => String(r.msg).startsWith("downloaded files not stored") && r.chatId === String(photos.id)), "the old download to be dropped");
    replacement.release();
    await e2e.waitReplies(photos.id, before + 1, "the answer to the photo");
    expect(await e2e.ask(photos, "[after the downloading photo]")).toBe("echo: [after the downloading photo]");
    expect(replyTexts(photos).slice(before)).toEqual(["echo: which bird is this one? [downloading]", "echo: [after the downloading photo]"]);
    expect(imagesAsked("[downloading]")).toEqual([[dataUrl(second.bytes)]]);
    expect(modelGot(first.bytes), "the replaced photo reached the model").toBe(false);
  });

  it("a photo replaced while its message waits: the chat's next message, waiting behind it, stays behind it", async () => {
    const [first, second] = [photo("the old chart", "what does this chart show? [in front]"), photo("the new chart")];
    const sent = await photoWaitingForSlot(first, "[hold the slot for the order]");
    await admitted(e2e.send(photos, "and is the trend up? [behind]"));
    const download = holdDownload(); // the new photo is still downloading when the slot is free
    await admitted(e2e.telegram.editFile(photos, messageId(sent), "photo", second));
    await download.held();
    slot.resolve();
    await e2e.waitText(busy.id, /hold the slot for the order/);
    // The photos chat waited for the slot before busy's next message: a turn of its own would take it first.
    expect(await e2e.ask(busy, "[meanwhile]")).toBe("echo: [meanwhile]");
    // Before the fix (only the photo's message held again): the later message was answered first.
    expect(modelSaw("[behind]"), "the later message overtook the photo's").toBe(false);
    download.release();
    await e2e.waitText(photos.id, /\[behind\]/);
    const users = wireMessages(e2e.model.requests.find((r) => requestText(r).includes("[behind]"))!)
      .filter((m) => m.role === "user")
      .map((m) => JSON.stringify(m.content));
    const photoAt = users.findIndex((u) => u.includes("[in front]"));
    expect(photoAt, "the photo's message comes right before the later one").toBe(users.findIndex((u) => u.includes("[behind]")) - 1);
    expect(users[photoAt]).toContain(dataUrl(second.bytes));
    expect(modelGot(first.bytes), "the replaced photo reached the model").toBe(false);
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

  it("host killed at the commit of a waiting message's replaced photo (STARLING_CRASH_AT=edit): after the restart one answer, about the new photo", async () => {
    await e2e.stop();
    const host = e2e.start({ STARLING_CRASH_AT: "edit" });
    const before = replyTexts(photos).length;
    const [first, second] = [photo("the crash photo", "how old is this house? [crash]"), photo("the photo after the crash")];
    const sent = e2e.telegram.sendPhoto(photos, first);
    const download = holdDownload(sent); // the message waits (for its file) when the edit comes
    await download.held();
    e2e.telegram.editFile(photos, messageId(sent), "photo", second);
    await e2e.killedAt(host, "edit");
    download.release();
    e2e.start();
    await e2e.waitText(photos.id, /\[crash\]/);
    expect(await e2e.ask(photos, "[after the crash]")).toBe("echo: [after the crash]");
    expect(replyTexts(photos).slice(before)).toEqual(["echo: how old is this house? [crash]", "echo: [after the crash]"]);
    expect(imagesAsked("[crash]")).toEqual([[dataUrl(second.bytes)]]);
    expect(modelGot(first.bytes), "the replaced photo reached the model").toBe(false);
  });
});
