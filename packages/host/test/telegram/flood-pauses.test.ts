import { afterEach, describe, expect, it } from "vitest";
import { privateChat, startFakeTelegram, type CallRecord, type FakeTelegram } from "../../../../test/fakes/telegram-api.js";
import { FloodPauses } from "../../src/channels/telegram/flood-pauses.js";
import { queueOutbound } from "../../src/state/outbox.js";
import { CHANNEL_ID, createHarness, type Harness } from "./harness.js";

// Scope: 429 pauses that hold the whole bot (ARCHITECTURE §8 "Send budget"): a 429 on a call naming no
// chat, or for a second chat while another chat's pause runs, holds back every call of the bot but
// getUpdates until its retry_after has passed; the replies are delayed, never dropped.

let fake: FakeTelegram;
let h: Harness;
afterEach(async () => {
  await h?.close();
  await fake?.close();
});

const CHATS = [5201, 5202, 5203, 5204].map((id) => privateChat(id, `User ${id}`));

async function queueReplies(chatIds: number[]): Promise<void> {
  await h.store.commit("event_processed", (tx) => {
    for (const id of chatIds) queueOutbound(tx, { channelId: CHANNEL_ID, chatId: String(id), conversationId: `tg-${id}` }, { kind: "text", text: `reply to ${id}` });
  });
}

/** Calls other than getUpdates that reached the fake after `from` and before `to`. */
function callsBetween(from: number, to: number): CallRecord[] {
  return fake.calls().filter((c) => c.method !== "getUpdates" && c.startedAt > from && c.startedAt < to);
}

const settle = () => new Promise((r) => setTimeout(r, 100));

describe("flood pause rules", () => {
  it("a chat's own 429s pause only it; one naming no chat, or a second chat's during a pause, pause the bot", () => {
    let t = 1_000_000;
    const pauses = new FloodPauses(() => t);
    expect(pauses.refused("1", 2000, true)).toBe("chat");
    expect(pauses.refused("1", 3000, true)).toBe("chat"); // the same chat again: still its own limit
    expect(pauses.until("1")).toBe(t + 3000);
    expect(pauses.until("2")).toBeLessThanOrEqual(t);
    expect(pauses.until(null)).toBeLessThanOrEqual(t);
    t += 1000;
    expect(pauses.refused("5", 1000, false)).toBe("chat"); // a typing action: its own, looser limit
    expect(pauses.refused("2", 1000, true)).toBe("bot"); // chat 1's pause still runs: the bot's limit
    expect(pauses.until("3")).toBe(t + 2000); // every chat waits until the longer of the two
    t += 5000;
    expect(pauses.refused("3", 1000, true)).toBe("chat"); // the other pauses are over
    expect(pauses.until("4")).toBeLessThanOrEqual(t);
    expect(pauses.refused(null, 2000, false)).toBe("bot");
    expect(pauses.until("4")).toBe(t + 2000);
  });
});

describe("a 429 for the whole bot", () => {
  it("a 429 on a call that names no chat (setMyCommands) pauses every call for its retry_after; the replies arrive once after it", async () => {
    fake = await startFakeTelegram();
    for (const chat of CHATS) fake.registerChat(chat);
    fake.failNext("setMyCommands", { status: 429, retryAfter: 2 });
    h = await createHarness(fake, { allowedChatIds: CHATS.map((c) => String(c.id)) });
    const channel = await h.startChannel();
    const refused = await fake.waitFor(() => fake.calls("setMyCommands").find((c) => c.status === 429));
    await settle();
    await queueReplies([5201, 5202, 5203]);
    channel.wakeOutbox();
    await fake.waitFor(() => fake.messages().length === 3 && fake.calls("setMyCommands").some((c) => c.status === 200));

    expect(callsBetween(refused.at, refused.at + 2000).map((c) => `${c.method} ${c.params["chat_id"] ?? ""}`)).toEqual([]);
    expect(fake.messages().map((m) => m.text).sort()).toEqual(["reply to 5201", "reply to 5202", "reply to 5203"]);
    await fake.waitFor(() => h.store.outbound().length === 0);
  });

  it("a 429 for a second chat while the first chat's pause runs pauses every chat; the replies arrive once after it", async () => {
    fake = await startFakeTelegram();
    for (const chat of CHATS) fake.registerChat(chat);
    const refusedOnce = new Set<string>();
    // Telegram's per-bot limit answers every chat with 429: the first send to each of two chats is refused.
    fake.setNemesis(({ method, params }) => {
      const chat = String(params["chat_id"]);
      if (method !== "sendMessage" || !["5201", "5202"].includes(chat) || refusedOnce.has(chat)) return undefined;
      refusedOnce.add(chat);
      return { kind: "fault", fault: { status: 429, retryAfter: 2 } };
    });
    h = await createHarness(fake, { allowedChatIds: CHATS.map((c) => String(c.id)) });
    const channel = await h.startChannel();
    await queueReplies([5201]);
    channel.wakeOutbox();
    await fake.waitFor(() => fake.calls("sendMessage").some((c) => c.status === 429));
    await queueReplies([5202]);
    channel.wakeOutbox();
    const second = await fake.waitFor(() => fake.calls("sendMessage").find((c) => c.status === 429 && String(c.params["chat_id"]) === "5202"));
    await settle();
    await queueReplies([5203, 5204]);
    channel.wakeOutbox();
    await fake.waitFor(() => fake.messages().length === 4);

    // Chats 5203 and 5204 were never refused, yet waited out the bot-wide pause.
    expect(callsBetween(second.at, second.at + 2000).map((c) => `${c.method} ${c.params["chat_id"] ?? ""}`)).toEqual([]);
    expect(fake.messages().map((m) => m.text).sort()).toEqual(["reply to 5201", "reply to 5202", "reply to 5203", "reply to 5204"]);
    await fake.waitFor(() => h.store.outbound().length === 0);
  });
});
