// A host asked to stop (SIGTERM) while replies wait for room in Telegram's send windows (pace_sends, on by
// default and set here, since the e2e harness turns it off): the stop does not wait for the windows
// (ARCHITECTURE §2, §8 "Send budget"). The waiting replies stay in the durable outbox, unattempted, and the
// next start sends each once, unlabelled.
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HostStore } from "../../packages/host/dist/state/host-store.js";
import { queueOutbound } from "../../packages/host/dist/state/outbox.js";
import { privateChat } from "../fakes/telegram-api.js";
import { DUPLICATE_LABEL, startE2E, type E2E } from "./fixture.js";

const chat = privateChat(401, "Paced");
const REPLIES = 9;
const queued = (i: number) => `queued reply ${i}`;
let e2e: E2E;

beforeAll(async () => {
  e2e = await startE2E({ responder: () => ({ text: "hello back" }), config: { adminUserIds: [chat.id], channel: { pace_sends: true } } });
});

afterAll(async () => {
  await e2e?.close();
});

describe("stopping with paced replies waiting", { timeout: 120_000 }, () => {
  it("SIGTERM while replies wait for the chat's window: the host exits without sending the replies that must wait, and after a restart each reply arrives once", async () => {
    expect(await e2e.ask(chat, "hello")).toBe("hello back");
    expect((await e2e.stop()).code).toBe(0);

    // Nine replies queued at once for the chat: Telegram allows 3 per 3 s, so six of them wait.
    const store = await HostStore.open(join(e2e.workdir, "state", "host"));
    const conversation = store.conversationOfChat("tg", String(chat.id));
    expect(conversation, "the chat's conversation").toBeDefined();
    await store.commit("event_processed", (tx) => {
      for (let i = 1; i <= REPLIES; i++) queueOutbound(tx, { channelId: "tg", chatId: String(chat.id), conversationId: conversation!.id }, { kind: "text", text: queued(i) });
    });
    await store.close();

    const texts = () => e2e.replies(chat.id).map((m) => m.text ?? "").filter((t) => t.includes("queued reply"));
    e2e.start();
    await e2e.until(() => texts().length >= 3, "the first three queued replies");
    const exit = await e2e.stop();
    expect(exit.code).toBe(0);
    // A stop that waited for the window (its 5 s flush budget) sent the next three at the window's end
    // (6 before the exit); one that leaves waiting replies in the outbox sends none of them.
    expect(texts().length, "replies sent before the exit (a stop waiting for the window sends 6)").toBeLessThan(6);

    e2e.start();
    await e2e.until(() => texts().length >= REPLIES, "every queued reply after the restart", 30_000);
    // Every queued item is done (sent, then deleted from the outbox) by one of the two hosts: all their sends came before.
    const itemsDone = () => e2e.logRecords().filter((r) => r["msg"] === "outbox item done (sent, or dropped as unsendable)" && r["chatId"] === String(chat.id)).length;
    await e2e.until(() => itemsDone() >= 1 + REPLIES, "every queued item done"); // 1: the answer to "hello"
    expect(texts()).toEqual(Array.from({ length: REPLIES }, (_, i) => queued(i + 1)));
    expect(texts().filter((t) => t.includes(DUPLICATE_LABEL))).toEqual([]);
  });
});
