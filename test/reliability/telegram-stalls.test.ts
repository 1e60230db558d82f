// Telegram nemesis, the stalls (issue #7): a getUpdates that hangs past the long-poll timeout (the
// poller's watchdog recovers), and an inbound file whose getFile hangs or is slow (the file message is
// admitted with a clear note, never lost, and the other chats keep being served). The host runs with
// the test-only shortcuts STARLING_TEST_TELEGRAM_WATCHDOG_GRACE_SECONDS and
// STARLING_TEST_TELEGRAM_DOWNLOAD_TIMEOUT_MS so the stalls resolve in seconds, not minutes.
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startE2E, type E2E } from "../e2e/fixture.js";
import { privateChat } from "../fakes/telegram-api.js";
import { markersIn } from "./history.js";

const photoChat = privateChat(8701, "Photo");
const other = privateChat(8702, "Other");
const DOWNLOAD_TIMEOUT_MS = 8000; // long enough for the slow case on a loaded machine (it failed at load 89 with 4 s)
let e2e: E2E;

beforeAll(async () => {
  e2e = await startE2E({
    start: false,
    responder: (req) => {
      const messages = (req.body.messages ?? []) as { role: string }[];
      const text = JSON.stringify(messages.filter((m) => m.role === "user").at(-1) ?? {});
      const missing = /could not be downloaded/.test(text) ? " (file missing)" : "";
      return { text: `Answer to ${markersIn(text).at(-1) ?? "nothing"}${missing}.` };
    },
    config: { adminUserIds: [photoChat.id, other.id] },
  });
  e2e.start({ STARLING_TEST_TELEGRAM_WATCHDOG_GRACE_SECONDS: "2", STARLING_TEST_TELEGRAM_DOWNLOAD_TIMEOUT_MS: String(DOWNLOAD_TIMEOUT_MS) });
  expect(await e2e.ask(other, "warm up [m:s2-0]", { timeoutMs: 60_000 })).toContain("m:s2-0");
}, 90_000);

afterAll(async () => {
  await e2e?.close();
});

const answer = (chatId: number, marker: string) => e2e.waitText(chatId, new RegExp(`Answer to ${marker}\\b`), 40_000);
const photo = () => ({ fileName: "cat.jpg", mimeType: "image/jpeg", bytes: Buffer.from("not really a jpeg") });

describe("Telegram stalls", () => {
  it("a getUpdates that hangs past the poll timeout is aborted by the watchdog; the waiting message is answered", async () => {
    let hung = 0;
    e2e.telegram.setNemesis(({ method }) => (method === "getUpdates" && hung++ === 0 ? { kind: "hang" } : undefined));
    await e2e.until(() => hung > 0, "a getUpdates to hang");
    e2e.send(other, "are you polling? [m:s2-1]");
    // The default grace (30 s past the poll timeout) would not recover within this wait.
    await e2e.waitText(other.id, /Answer to m:s2-1\b/, 25_000);
    expect(e2e.logTail(400)).toContain("getUpdates hung; watchdog restarts polling");
    e2e.telegram.setNemesis(undefined);
  }, 40_000);

  it("a photo whose getFile hangs is admitted with a note and answered; the other chat is served too", async () => {
    let struck = false;
    e2e.telegram.setNemesis(({ method }) => (method === "getFile" && !struck ? ((struck = true), { kind: "hang" }) : undefined));
    e2e.telegram.sendPhoto(photoChat, { ...photo(), caption: "look [m:s1-1]" });
    e2e.send(other, "meanwhile [m:s2-2]");
    const answered = await answer(photoChat.id, "m:s1-1");
    expect(struck).toBe(true);
    expect(answered.text, "the model was told the file is missing").toContain("(file missing)");
    const notice = await e2e.waitText(photoChat.id, /could not download your file/);
    expect(notice.text).toContain(`did not arrive within ${DOWNLOAD_TIMEOUT_MS / 1000} s`);
    await answer(other.id, "m:s2-2");
    expect(e2e.host!.child.exitCode).toBeNull();
    e2e.telegram.setNemesis(undefined);
  }, 60_000);

  it("a photo whose getFile is slow (within the limit) arrives whole; the other chat is served too", async () => {
    e2e.telegram.setNemesis(({ method }) => (method === "getFile" ? { kind: "delay", ms: 300 } : undefined));
    e2e.telegram.sendPhoto(photoChat, { ...photo(), caption: "again [m:s1-2]" });
    e2e.send(other, "still there [m:s2-3]");
    const answered = await answer(photoChat.id, "m:s1-2");
    expect(answered.text).not.toContain("(file missing)");
    await answer(other.id, "m:s2-3");
    const conversations = join(e2e.workdir, "conversations");
    const incoming = readdirSync(conversations).flatMap((c) => {
      const dir = join(conversations, c, "attachments", "incoming");
      return existsSync(dir) ? readdirSync(dir) : [];
    });
    expect(incoming.filter((name) => name.endsWith(".jpg")), JSON.stringify(incoming)).toHaveLength(1);
    e2e.telegram.setNemesis(undefined);
  }, 60_000);
});
