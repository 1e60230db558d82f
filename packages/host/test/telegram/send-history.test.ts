import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { privateChat, startFakeTelegram, type FakeTelegram } from "../../../../test/fakes/telegram-api.js";
import { TELEGRAM_LIMITS, telegramLimits, type TelegramLimits } from "../../../../test/fakes/telegram/limits.js";
import { SendBudget } from "../../src/channels/telegram/send-budget.js";
import { SendHistory } from "../../src/channels/telegram/send-history.js";
import { createTelegramChannel } from "../../src/channels/telegram/telegram-channel.js";
import { HostKeys, HostStore } from "../../src/state/host-store.js";
import { queueOutbound } from "../../src/state/outbox.js";
import { CHANNEL_ID, testChannelOptions, testController } from "./harness.js";

// Scope: the send budget across a restart (ARCHITECTURE §8 "Send budget"): the send times stored with
// delivered outbox items refill the windows of the next run, so a host restarted within a chat's
// window does not send past Telegram's limits. The store is closed and opened again, as by a new process.

let fake: FakeTelegram | undefined;
let dir: string | undefined;
afterEach(async () => {
  await fake?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
  fake = dir = undefined;
});

const TARGET = { channelId: CHANNEL_ID, chatId: "5301", conversationId: "tg-000001" };

/** A fake Bot API enforcing Telegram's limits, and the folder of the host's store. */
async function setUp(): Promise<{ api: FakeTelegram; limits: TelegramLimits; stateDir: string }> {
  const api = (fake = await startFakeTelegram());
  const limits = telegramLimits(TELEGRAM_LIMITS);
  api.setNemesis(limits.nemesis);
  api.registerChat(privateChat(5301, "Rae"));
  dir = mkdtempSync(join(tmpdir(), "starling-tg-sendtimes-"));
  return { api, limits, stateDir: join(dir, "state") };
}

/** One run of the host's channel on `store` until `done`, then its stop and the store's close. */
async function run(api: FakeTelegram, store: HostStore, done: () => boolean): Promise<void> {
  // A stop that hardly waits for the outbox: the next start comes within the chat's window.
  const log = pino({ level: process.env.TEST_LOG ?? "silent" });
  const channel = createTelegramChannel(testChannelOptions(api, store, log, { allowedChatIds: ["5301"], timing: { retryBaseDelayMs: 20, retryMaxDelayMs: 200, stopTimeoutMs: 50 } }));
  try {
    await channel.start(testController(store, join(dir!, "conversations")));
    await api.waitFor(done, 15_000);
  } finally {
    await channel.stop();
    await store.close();
  }
}

describe("send budget across a restart", () => {
  it("a host restarted with replies queued for one chat keeps to 3 sends in any 3 s, with no 429", async () => {
    const { api, limits, stateDir } = await setUp();
    const store = await HostStore.open(stateDir);
    await store.commit("event_processed", (tx) => {
      for (let i = 1; i <= 6; i++) queueOutbound(tx, TARGET, { kind: "text", text: `reply ${i}` });
    });
    await run(api, store, () => api.messages(5301).length >= 3);
    await run(api, await HostStore.open(stateDir), () => api.messages(5301).length === 6);

    expect(api.messages(5301).map((m) => m.text)).toEqual([1, 2, 3, 4, 5, 6].map((i) => `reply ${i}`));
    expect(limits.violations).toEqual([]);
    expect(api.calls().filter((c) => c.status === 429)).toEqual([]);
    const sends = api.calls("sendMessage").map((c) => c.startedAt);
    const crowded = sends.slice(3).map((at, i) => at - sends[i]!).filter((gap) => gap < 3000);
    expect(crowded, "4 sends within 3 s (ms between the 1st and the 4th)").toEqual([]);
  });

  it("an item whose send was attempted by a host that died before its delivery was recorded counts as sent", async () => {
    const { api, limits, stateDir } = await setUp();
    const store = await HostStore.open(stateDir);
    // What the earlier run left: two delivered sends stored with their times, and a third attempted whose
    // outcome is unknown (it may have reached Telegram): the chat's window of 3 in 3 s is full.
    const t = Date.now();
    await store.commit("event_processed", (tx) => {
      tx.put(HostKeys.sendTimes(CHANNEL_ID, "5301"), { chatId: "5301", times: [t - 400, t - 300] });
      const item = queueOutbound(tx, TARGET, { kind: "text", text: "reply 3" });
      tx.put(HostKeys.outbound(item.seq), { ...item, attemptedAt: new Date(t - 200).toISOString() });
    });
    await run(api, store, () => api.messages(5301).length === 1);

    expect(api.messages(5301)[0]?.text).toContain("reply 3");
    // Not before the first stored send left the window (3 s after it).
    expect(api.calls("sendMessage")[0]!.startedAt - (t - 400)).toBeGreaterThanOrEqual(3000);
    expect(limits.violations).toEqual([]);
  });

  it("an attempted item counts as sent at the next start, not at its attempt (it may have reached Telegram until the host stopped)", async () => {
    dir = mkdtempSync(join(tmpdir(), "starling-tg-sendtimes-"));
    const store = await HostStore.open(join(dir, "state"));
    const budget = new SendBudget();
    const history = new SendHistory({ store, channelId: CHANNEL_ID, budget });
    try {
      // Attempted 2 s ago, inside the chat's window of 3 s either way; its answer never came.
      await store.commit("event_processed", (tx) => {
        const item = queueOutbound(tx, TARGET, { kind: "text", text: "reply" });
        tx.put(HostKeys.outbound(item.seq), { ...item, attemptedAt: new Date(Date.now() - 2000).toISOString() });
      });
      const start = Date.now();
      await history.restore();
      const [counted, ...more] = budget.sendTimes("5301");
      expect(more).toEqual([]);
      expect(counted).toBeGreaterThanOrEqual(start);
    } finally {
      history.stop();
      await store.close();
    }
  });
});

describe("send times records", () => {
  it("a start drops the records with no send left in their chat's windows; a fresh one is kept and still paces", async () => {
    const { api, limits, stateDir } = await setUp();
    const store = await HostStore.open(stateDir);
    const t = Date.now();
    const STALE = 20_000;
    await store.commit("event_processed", (tx) => {
      // Chats the bot answered once long ago: private chats 10 s ago, groups past their minute.
      for (let i = 0; i < STALE; i++) {
        const chatId = i % 2 ? String(100_000 + i) : String(-100_000 - i);
        tx.put(HostKeys.sendTimes(CHANNEL_ID, chatId), { chatId, times: [t - (i % 2 ? 10_000 : 70_000)] });
      }
      // A group answered 30 s ago is still inside its minute; the chat 5301's window of 3 in 3 s is full.
      tx.put(HostKeys.sendTimes(CHANNEL_ID, "-4242"), { chatId: "-4242", times: [t - 30_000] });
      tx.put(HostKeys.sendTimes(CHANNEL_ID, "5301"), { chatId: "5301", times: [t - 400, t - 300, t - 200] });
      queueOutbound(tx, TARGET, { kind: "text", text: "paced reply" });
    });
    expect(store.count("sendtimes:")).toBe(STALE + 2);
    await run(api, store, () => api.messages(5301).length === 1);

    expect(api.calls("sendMessage")[0]!.startedAt - (t - 400)).toBeGreaterThanOrEqual(3000);
    expect(limits.violations).toEqual([]);
    // The next start reads only the records still inside a window.
    const reopened = await HostStore.open(stateDir);
    try {
      expect(reopened.list<{ chatId: string }>("sendtimes:").map((r) => r.chatId).sort()).toEqual(["-4242", "5301"]);
    } finally {
      await reopened.close();
    }
  });

  it("a running host deletes a chat's record once its window has passed; a record still inside its window stays", async () => {
    const { api, stateDir } = await setUp();
    api.registerChat(privateChat(5302, "Sam"));
    const store = await HostStore.open(stateDir);
    const log = pino({ level: process.env.TEST_LOG ?? "silent" });
    const channel = createTelegramChannel(testChannelOptions(api, store, log, { allowedChatIds: ["5301"], timing: { stopTimeoutMs: 50 } }));
    const record = (chatId: string) => store.get(HostKeys.sendTimes(CHANNEL_ID, chatId));
    try {
      await channel.start(testController(store, join(dir!, "conversations")));
      await store.commit("event_processed", (tx) => queueOutbound(tx, TARGET, { kind: "text", text: "early reply" }));
      channel.wakeOutbox();
      await api.waitFor(() => api.messages(5301).length === 1 && record("5301"), 10_000);
      // A private chat's window is 3 s: the host deletes the record soon after, without any further send.
      await api.waitFor(() => record("5301") === undefined, 10_000);
      await store.commit("event_processed", (tx) => queueOutbound(tx, { ...TARGET, chatId: "5302" }, { kind: "text", text: "late reply" }));
      channel.wakeOutbox();
      await api.waitFor(() => api.messages(5302).length === 1 && record("5302"), 10_000);
    } finally {
      await channel.stop();
      await store.close();
    }
    const reopened = await HostStore.open(stateDir);
    try {
      expect(reopened.list<{ chatId: string }>("sendtimes:").map((r) => r.chatId)).toEqual(["5302"]);
    } finally {
      await reopened.close();
    }
  });
});
