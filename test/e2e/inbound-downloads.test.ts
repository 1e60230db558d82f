// Inbound files are downloaded after the admission (ARCHITECTURE §8): a message with a file is stored
// at once and held until its file is in the workspace, so a slow download holds only its own chat —
// other chats are answered meanwhile, and the same chat's next message waits behind the file instead of
// overtaking it. The held message survives kill -9 (the download runs again after the restart) and
// the commit that stores the file has a crash point (`inbound_files`).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { privateChat } from "../fakes/telegram-api.js";
import { markersIn } from "../reliability/history.js";
import { DUPLICATE_LABEL, requestText, sleep, startE2E, wireMessages, contentText, type E2E } from "./fixture.js";

const photoChat = privateChat(8801, "Photo");
const other = privateChat(8802, "Other");
let e2e: E2E;

beforeAll(async () => {
  e2e = await startE2E({
    responder: (req) => {
      const users = ((req.body.messages ?? []) as { role: string }[]).filter((m) => m.role === "user");
      const text = JSON.stringify(users.at(-1) ?? {});
      const missing = /could not be downloaded/.test(text) ? " (file missing)" : "";
      return { text: `Answer to ${markersIn(text).at(-1) ?? "nothing"}${missing}.` };
    },
    config: { adminUserIds: [photoChat.id, other.id] },
  });
  expect(await e2e.ask(other, "warm up [m:w-0]", { timeoutMs: 60_000 })).toContain("m:w-0");
}, 90_000);

afterAll(async () => {
  e2e.telegram.setNemesis(undefined);
  await e2e?.close();
});

const photo = (caption: string) => ({ fileName: "cat.jpg", mimeType: "image/jpeg", bytes: Buffer.from("not really a jpeg"), caption });
const answers = (chatId: number, marker: string) => e2e.replies(chatId).filter((m) => (m.text ?? "").includes(`Answer to ${marker}`));

/** getFile calls wait until `release()`; `held()` counts the calls waiting so far. */
function holdGetFile(): { release: () => void; held: () => number } {
  let release!: () => void;
  const until = new Promise<void>((resolve) => (release = resolve));
  let held = 0;
  e2e.telegram.setNemesis(({ method }) => (method === "getFile" ? (held++, { kind: "hold", until }) : undefined));
  return {
    release: () => {
      e2e.telegram.setNemesis(undefined);
      release();
    },
    held: () => held,
  };
}

describe("inbound downloads after admission", () => {
  it("a held download holds neither another chat nor its order: the chat's next message waits behind the file", async () => {
    const gate = holdGetFile();
    e2e.telegram.sendPhoto(photoChat, photo("look at this [m:d-1]"));
    await e2e.until(() => gate.held() > 0, "the photo's getFile to be held");
    e2e.send(photoChat, "and then this [m:d-2]");
    // While the photo's download is still held, the other chat is answered.
    e2e.send(other, "meanwhile [m:d-3]");
    await e2e.waitText(other.id, /Answer to m:d-3\b/, 45_000);
    expect(answers(photoChat.id, "m:d-1"), "nothing of the photo's chat is answered before its file is in").toHaveLength(0);
    expect(answers(photoChat.id, "m:d-2")).toHaveLength(0);

    gate.release();
    await e2e.waitText(photoChat.id, /Answer to m:d-2\b/, 45_000);
    // The photo reached the model whole, and before the later message of its chat.
    const request = e2e.model.requests.find((r) => requestText(r).includes("m:d-2"))!;
    const users = wireMessages(request).filter((m) => m.role === "user");
    const photoAt = users.findIndex((m) => contentText(m).includes("m:d-1"));
    const laterAt = users.findIndex((m) => contentText(m).includes("m:d-2"));
    expect(photoAt, "the photo's message is in the model's context").toBeGreaterThanOrEqual(0);
    expect(photoAt).toBeLessThan(laterAt);
    expect(JSON.stringify(users[photoAt])).not.toContain("could not be downloaded");
    expect(e2e.replies(photoChat.id).some((m) => (m.text ?? "").includes("could not download"))).toBe(false);
  }, 120_000);

  it("an album's files are downloaded after its admission too: a held download holds no other chat", async () => {
    const gate = holdGetFile();
    const album = { mediaGroupId: "alb-1" };
    e2e.telegram.sendPhoto(photoChat, { ...photo("three cats [m:d-8]") }, album);
    e2e.telegram.sendPhoto(photoChat, { ...photo(""), fileName: "cat2.jpg" }, album);
    e2e.telegram.sendPhoto(photoChat, { ...photo(""), fileName: "cat3.jpg" }, album);
    await e2e.until(() => gate.held() > 0, "the album's first getFile to be held");
    e2e.send(other, "meanwhile again [m:d-9]");
    await e2e.waitText(other.id, /Answer to m:d-9\b/, 45_000);
    expect(answers(photoChat.id, "m:d-8")).toHaveLength(0);
    gate.release();
    const answer = await e2e.waitText(photoChat.id, /Answer to m:d-8\b/, 45_000);
    expect(answer.text).not.toContain("(file missing)");
    const request = e2e.model.requests.find((r) => requestText(r).includes("m:d-8"))!;
    const message = wireMessages(request).filter((m) => m.role === "user").find((m) => contentText(m).includes("m:d-8"))!;
    // Three photos, each downloaded into the workspace (the default model gets them as file references).
    expect(new Set(contentText(message).match(/incoming\/\d{8}T\d{6}Z-photo-\w+\.jpg/g)).size, "the album reached the model with its photos").toBe(3);
  }, 120_000);

  it("kill -9 while the download is held: after the restart the file is downloaded and the message answered once", async () => {
    const gate = holdGetFile();
    e2e.telegram.sendPhoto(photoChat, photo("survive this [m:d-4]"));
    await e2e.until(() => gate.held() > 0, "the photo's getFile to be held");
    const exit = await e2e.stop("SIGKILL");
    expect(exit.signal).toBe("SIGKILL");
    gate.release();
    e2e.start();
    const answer = await e2e.waitText(photoChat.id, /Answer to m:d-4\b/, 60_000);
    expect(answer.text).not.toContain("(file missing)");
    expect(await e2e.ask(other, "after the restart [m:d-5]")).toContain("m:d-5");
    // A second copy would be queued with the first; the /status reply is queued after it (the chat's outbox sends in order).
    await e2e.ask(photoChat, "/status");
    expect(answers(photoChat.id, "m:d-4")).toHaveLength(1);
  }, 120_000);

  it("kill -9 right after the file is stored (STARLING_CRASH_AT=inbound_files): answered once after the restart", async () => {
    expect((await e2e.stop()).code).toBe(0);
    const host = e2e.start({ STARLING_CRASH_AT: "inbound_files" });
    e2e.telegram.sendPhoto(photoChat, photo("crash after storing me [m:d-6]"));
    const exit = await Promise.race([host.exited, sleep(45_000).then(() => null)]);
    expect(exit, "the host killed itself at the crash point").toEqual({ code: null, signal: "SIGKILL" });
    e2e.start();
    const answer = await e2e.waitText(photoChat.id, /Answer to m:d-6\b/, 60_000);
    expect(answer.text).not.toContain("(file missing)");
    expect(await e2e.ask(other, "still fine [m:d-7]")).toContain("m:d-7");
    await e2e.ask(photoChat, "/status"); // queued after a second copy (see above)
    const copies = answers(photoChat.id, "m:d-6");
    expect(copies.length === 1 || (copies.length === 2 && copies.some((m) => m.text!.includes(DUPLICATE_LABEL)))).toBe(true);
  }, 120_000);
});
