// A user who edits one photo of an album (its caption, or "replace photo") expects the bot to go by the new
// version, with the album's other photos kept (ARCHITECTURE §8 "Edited messages"): while the parts are still
// collected, while the album waits for a turn, and after the agent took it — through the real CLI and the
// fake Bot API's edited_message.
import { afterAll, describe, expect, it } from "vitest";
import { groupChat, privateChat, user, type FakeChat } from "../fakes/telegram-api.js";
import { join } from "node:path";
import { HostStore } from "../../packages/host/dist/state/host-store.js";
import { makeJpeg } from "../fixtures/media-files.js";
import { lastUserText, requestText, useE2E, wireMessages, type E2E } from "./fixture.js";
import { deferred, echoHolding } from "./echo-slot.js";

/** "slowly" holds the only turn slot until the test lets the current hold go (`slot.resolve()`). */
let slot = deferred();
const respond = echoHolding(() => slot.promise);

const ann = privateChat(61, "Album Ann");
const busy = privateChat(62, "Busy");
const carl = privateChat(63, "Crash Carl");
const dora = privateChat(64, "Old Dora");
const group = groupChat(-6001, "Album Team");
const bob = user(2061, "Bob");

let e2e: E2E;
// One host for the file (each test that needs one running takes it with hostWith): a failed test's host is killed.
useE2E(
  { responder: respond, config: { adminUserIds: [ann.id], allowedChatIds: [busy.id, carl.id, dora.id, group.id], workers: { max_concurrent_turns: 1 }, mainCapabilities: ["chat", "image_in"] } },
  (made) => (e2e = made),
  { keepHost: true },
);
afterAll(() => slot.resolve()); // a failed test must not leave the model call held

const photo = (label: string, caption?: string) => ({ fileName: `${label}.jpg`, mimeType: "image/jpeg", bytes: makeJpeg(label), ...(caption ? { caption } : {}) });
type Photo = ReturnType<typeof photo>;
const dataUrl = (p: Photo) => `data:image/jpeg;base64,${p.bytes.toString("base64")}`;
/** Sends `photos` as one album; returns the parts' message ids. */
function sendAlbum(chat: FakeChat, mediaGroupId: string, photos: Photo[], from?: typeof bob): number[] {
  return photos.map((p) => e2e.telegram.messageIdOf(e2e.telegram.sendPhoto(chat, p, { mediaGroupId, ...(from ? { from } : {}) })));
}
const admitted = (updateId: number) => e2e.until(() => e2e.telegram.confirmedOffset() > updateId, `update ${updateId} to be admitted`);
const replyTexts = (chat: FakeChat) => e2e.replies(chat.id).map((m) => m.text ?? "");
const modelSaw = (text: string) => e2e.model.requests.some((r) => requestText(r).includes(text));
const modelGot = (p: Photo) => e2e.model.requests.some((r) => JSON.stringify(r.body).includes(p.bytes.toString("base64")));
/** Text and images of the newest user message of every model request whose newest user message contains `text`. */
function asked(text: string): { text: string; images: string[] }[] {
  return e2e.model.requests
    .map((r) => wireMessages(r).filter((m) => m.role === "user").at(-1)!)
    .filter((m) => JSON.stringify(m.content).includes(text))
    .map((m) => {
      const parts = Array.isArray(m.content) ? (m.content as { type: string; text?: string; image_url?: { url: string } }[]) : [{ type: "text", text: String(m.content) }];
      return { text: parts.filter((p) => p.type === "text").map((p) => p.text).join("\n"), images: parts.filter((p) => p.type === "image_url").map((p) => p.image_url!.url) };
    });
}
const storedCount = (chat: FakeChat) => e2e.logRecords().filter((r) => r.msg === "inbound files stored" && r.chatId === String(chat.id)).length;

describe("edits of album parts", { timeout: 90_000 }, () => {
  it("while the parts are collected: the edited caption and the replaced photo are the album's, the other photos kept", async () => {
    // Queued before the host polls: the edits come within the album's collection window (1.5 s).
    const [p1, p2, p3, p3b] = [photo("first kept", "which one is oldest? [collected]"), photo("second kept"), photo("third, replaced"), photo("third, the new one")];
    const [id1, , id3] = sendAlbum(ann, "collected", [p1, p2, p3]);
    e2e.telegram.editText(ann, id1!, "which one is newest? [collected]");
    e2e.telegram.editFile(ann, id3!, "photo", p3b);
    e2e.start();
    await e2e.waitText(ann.id, /\[collected\]/);
    // Before the fix: both edits ignored ("part of an album"), the model asked the old question about the old photo.
    expect(asked("[collected]")).toEqual([{ text: expect.stringMatching(/\]\nwhich one is newest\? \[collected\]$/), images: [dataUrl(p1), dataUrl(p2), dataUrl(p3b)] }]);
    expect(modelGot(p3), "the replaced photo reached the model").toBe(false);
    expect(e2e.logRecords().filter((r) => r.msg === "edited message" && r.outcome === "album_part")).toHaveLength(2);
    // Answered once: a second answer would come before the answer to a later message.
    expect(await e2e.ask(ann, "[after the collected album]")).toBe("echo: [after the collected album]");
    expect(replyTexts(ann)).toEqual(["echo: which one is newest? [collected]", "echo: [after the collected album]"]);
  });

  it("host killed at the commit of a collected part's edit (STARLING_CRASH_AT=album_part_edit): after the restart the album has the new photo, answered once", async () => {
    await e2e.stop();
    const host = e2e.start({ STARLING_CRASH_AT: "album_part_edit" });
    const before = replyTexts(carl).length;
    const [p1, p2, p2b] = [photo("crash first", "what changed? [crash collected]"), photo("crash second, replaced"), photo("crash second, the new one")];
    const [, id2] = sendAlbum(carl, "crash-collected", [p1, p2]);
    e2e.telegram.editFile(carl, id2!, "photo", p2b);
    await e2e.killedAt(host, "album_part_edit");
    // The edit was stored but not acknowledged to Telegram: it comes again, a duplicate of the stored edit.
    e2e.start();
    await e2e.waitText(carl.id, /\[crash collected\]/);
    expect(await e2e.ask(carl, "[after the collected crash]")).toBe("echo: [after the collected crash]");
    expect(replyTexts(carl).slice(before)).toEqual(["echo: what changed? [crash collected]", "echo: [after the collected crash]"]);
    expect(asked("[crash collected]").map((a) => a.images)).toEqual([[dataUrl(p1), dataUrl(p2b)]]);
    expect(modelGot(p2), "the replaced photo reached the model").toBe(false);
  });

  it("while the album waits for a turn: the edited part replaces its caption and photo in the one message, answered once", async () => {
    await e2e.hostWith();
    slot = deferred();
    e2e.send(busy, "answer slowly [hold the slot for the album]");
    await e2e.until(() => modelSaw("[hold the slot for the album]"), "the slot to be held");
    const stored = storedCount(ann);
    const [p1, p2, p3, p2b] = [photo("waiting first", "are these the same bird? [waiting]"), photo("waiting second, replaced"), photo("waiting third"), photo("waiting second, the new one")];
    const [id1, id2] = sendAlbum(ann, "waiting", [p1, p2, p3]);
    await e2e.until(() => storedCount(ann) > stored, "the album's download to be stored");
    await admitted(e2e.telegram.editFile(ann, id2!, "photo", p2b));
    await admitted(e2e.telegram.editText(ann, id1!, "are these the same fish? [waiting]"));
    expect(asked("[waiting]"), "the album still waited for the slot").toEqual([]);
    slot.resolve();
    await e2e.waitText(ann.id, /\[waiting\]/);
    // Before the fix: the old album was answered, the edits ignored.
    expect(asked("[waiting]")).toEqual([{ text: expect.stringMatching(/\]\nare these the same fish\? \[waiting\]$/), images: [dataUrl(p1), dataUrl(p2b), dataUrl(p3)] }]);
    expect(modelGot(p2), "the replaced photo reached the model").toBe(false);
    expect(await e2e.ask(ann, "[after the waiting album]")).toBe("echo: [after the waiting album]");
    expect(replyTexts(ann).slice(-2)).toEqual(["echo: are these the same fish? [waiting]", "echo: [after the waiting album]"]);
    expect(modelSaw("replaced the photo"), "an edit came as a new input").toBe(false);
  });

  it("while the album's photos still download: the replaced photo is downloaded with the others, the old download not stored", async () => {
    await e2e.hostWith();
    const before = replyTexts(ann).length;
    const [p1, p2, p2b] = [photo("downloading first", "what breed? [downloading]"), photo("downloading second, replaced"), photo("downloading second, the new one")];
    // The first photo's download hangs until released: the album is admitted, its files not stored yet, when the edit comes.
    const gate = deferred();
    let held = 0;
    const firstFile = () => (e2e.telegram.updates().find((u) => u.message?.caption === p1.caption)?.message?.photo as { file_id: string }[] | undefined)?.at(-1)?.file_id;
    e2e.telegram.setNemesis(({ method, params }) => {
      if (method !== "getFile" || params["file_id"] !== firstFile()) return undefined;
      held++;
      return { kind: "hold", until: gate.promise };
    });
    try {
      const [, id2] = sendAlbum(ann, "downloading", [p1, p2]);
      await e2e.until(() => held > 0, "the album's download to be asked for");
      await admitted(e2e.telegram.editFile(ann, id2!, "photo", p2b));
      // The album's files are downloaded again, the new photo in the second part's place (the first one held again).
      await e2e.until(() => held > 1, "the album's new download to be asked for");
      gate.resolve();
      await e2e.waitText(ann.id, /\[downloading\]/);
    } finally {
      gate.resolve();
      e2e.telegram.setNemesis(undefined);
    }
    expect(asked("[downloading]").map((a) => a.images)).toEqual([[dataUrl(p1), dataUrl(p2b)]]);
    expect(modelGot(p2), "the replaced photo reached the model").toBe(false);
    await e2e.until(() => e2e.logRecords().some((r) => String(r.msg).startsWith("downloaded files not stored") && r.chatId === String(ann.id)), "the old download to be dropped");
    expect(await e2e.ask(ann, "[after the downloading album]")).toBe("echo: [after the downloading album]");
    expect(replyTexts(ann).slice(before)).toEqual(["echo: what breed? [downloading]", "echo: [after the downloading album]"]);
  });

  it("after the agent took the album: a new input quoting the part's change, with its new photo, answered once", async () => {
    await e2e.hostWith();
    const before = replyTexts(ann).length;
    const [p1, p2, p2b] = [photo("taken first", "how many cats? [taken]"), photo("taken second, replaced"), photo("taken second, the new one")];
    const [id1, id2] = sendAlbum(ann, "taken", [p1, p2]);
    await e2e.waitText(ann.id, /\[taken\]/);
    const requests = e2e.model.requests.length;
    e2e.telegram.editFile(ann, id2!, "photo", p2b);
    await e2e.waitReplies(ann.id, before + 2, "an answer to the replaced photo");
    const [replaced] = asked("replaced the photo");
    // Before the fix: ignored, no answer.
    expect(replaced?.images).toEqual([dataUrl(p2b)]);
    expect(e2e.model.requests.length).toBe(requests + 1);
    e2e.telegram.editText(ann, id1!, "how many dogs? [taken]");
    await e2e.waitReplies(ann.id, before + 3, "an answer to the edited caption");
    expect(lastUserText(e2e.model.requests.at(-1)!)).toMatch(/edited a message[^]*how many cats\? \[taken\][^]*how many dogs\? \[taken\]/);
    expect(await e2e.ask(ann, "[after the taken album]")).toBe("echo: [after the taken album]");
    expect(replyTexts(ann).length).toBe(before + 4);
  });

  it("in a group an album kept as context, one part's caption edited into a mention: the agent gets that part's photo with the edit", async () => {
    await e2e.hostWith();
    const [p1, p2] = [photo("group first", "the old office [context]"), photo("group second")];
    const [, id2] = sendAlbum(group, "context", [p1, p2], bob);
    // The group's next message for the bot makes the album go first (kept as context: its photos only named).
    await e2e.ask(group, "@starling_test_bot hello [before the edit]", { from: bob });
    const before = e2e.replies(group.id).length;
    e2e.telegram.editText(group, id2!, "@starling_test_bot which building is this? [context edit]");
    await e2e.waitReplies(group.id, before + 1, "the answer to the edit");
    // Before the fix: ignored ("part of an album"), never answered.
    const [edit] = asked("[context edit]");
    expect(edit?.text).toMatch(/edited/i);
    expect(edit?.images).toEqual([dataUrl(p2)]);
    expect(modelGot(p1), "the other part's photo (kept as context, only named) was sent").toBe(false);
  });

  it("host killed at the commit of a taken album part's edit (STARLING_CRASH_AT=edit): the re-delivered edit is a duplicate, answered once", async () => {
    await e2e.hostWith();
    const before = replyTexts(carl).length;
    const [p1, p2] = [photo("redelivered first", "which city? [redelivered]"), photo("redelivered second")];
    const [, id2] = sendAlbum(carl, "redelivered", [p1, p2]);
    await e2e.waitText(carl.id, /\[redelivered\]/);
    await e2e.stop();
    const host = e2e.start({ STARLING_CRASH_AT: "edit" });
    e2e.telegram.editText(carl, id2!, "which country? [redelivered edit]");
    await e2e.killedAt(host, "edit");
    e2e.start();
    await e2e.waitText(carl.id, /\[redelivered edit\]/);
    // A second answer to the edit would come before the answer to a later message.
    expect(await e2e.ask(carl, "[after the redelivered edit]")).toBe("echo: [after the redelivered edit]");
    expect(replyTexts(carl).slice(before)).toEqual(["echo: which city? [redelivered]", "echo: which country? [redelivered edit]", "echo: [after the redelivered edit]"]);
    expect(asked("[redelivered edit]")).toHaveLength(1);
  });

  it("parts an older host stored (no message id): their edits are ignored with the log line, the album still goes out once", async () => {
    await e2e.stop();
    const host = e2e.start({ STARLING_CRASH_AT: "album_part:2" });
    const [p1, p2, p2b] = [photo("older first", "from before the upgrade [older]"), photo("older second"), photo("older second, the new one")];
    const [, id2] = sendAlbum(dora, "older", [p1, p2]);
    await e2e.killedAt(host, "album_part:2");
    // The parts as a host before album edits stored them: without the part's message id.
    const store = await HostStore.open(join(e2e.workdir, "state", "host"));
    const parts = store.list<Record<string, unknown>>("album:tg:older:");
    expect(parts).toHaveLength(2);
    await store.commit("album_part", (tx) => {
      for (const { sourceId: _new, ...old } of parts) tx.put(`album:tg:older:${String(old["updateId"]).padStart(12, "0")}`, old);
    });
    await store.close();
    e2e.telegram.editFile(dora, id2!, "photo", p2b);
    e2e.start();
    await e2e.waitText(dora.id, /\[older\]/);
    expect(e2e.logRecords().some((r) => r.msg === "edit of a message the bot did not admit (or no longer knows); ignored" && r.messageId === id2)).toBe(true);
    expect(asked("[older]").map((a) => a.images)).toEqual([[dataUrl(p1), dataUrl(p2)]]);
    expect(modelGot(p2b)).toBe(false);
    expect(await e2e.ask(dora, "[after the older album]")).toBe("echo: [after the older album]");
    expect(replyTexts(dora)).toEqual(["echo: from before the upgrade [older]", "echo: [after the older album]"]);
  });
});
