import pino from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { groupChat, privateChat, startFakeTelegram, type FakeTelegram } from "../../../../test/fakes/telegram-api.js";
import { telegramLimits, type TelegramLimitsOptions } from "../../../../test/fakes/telegram/limits.js";
import type { TurnActivity } from "../../src/channels/channel.js";
import { BotApi } from "../../src/channels/telegram/bot-api.js";
import { BudgetDeferredError, SendBudget } from "../../src/channels/telegram/send-budget.js";
import { queueOutbound } from "../../src/state/outbox.js";
import { CHANNEL_ID, createHarness, type Harness } from "./harness.js";

// Scope: the shared send budget (ARCHITECTURE §8) — unit rules with a hand-driven clock, then the
// channel against a fake Bot API that enforces Telegram's flood limits (429 + retry_after when exceeded).

describe("send budget rules", () => {
  const limits = { perChat: { count: 3, windowMs: 3000 }, perGroup: { count: 20, windowMs: 60_000 }, perBot: { count: 30, windowMs: 1000 } };

  it("lets a turn's panel and reply go at once, then keeps room for replies before cosmetic edits", async () => {
    let t = 1_000_000;
    const budget = new SendBudget(limits, () => t);
    budget.tryAcquire("42"); // the panel
    budget.settle("42");
    await budget.acquire("42"); // the reply: fits at once
    budget.settle("42");
    expect(() => budget.tryAcquire("42")).toThrow(BudgetDeferredError); // the last slot stays for a reply
    t += 3200;
    expect(() => budget.tryAcquire("42")).not.toThrow();
  });

  it("room held for a send counts as now until its answer, then from its answer", async () => {
    let t = 1_000_000;
    const one = { perChat: { count: 1, windowMs: 1000 }, perGroup: { count: 20, windowMs: 60_000 }, perBot: { count: 30, windowMs: 1000 } };
    const budget = new SendBudget(one, () => t);
    await budget.acquire("42"); // held (the outbox records its attempt, then the send goes)
    t += 2000; // long past the window: a send not answered yet still fills it (it may arrive now)
    expect(() => budget.tryAcquire("42")).toThrow(BudgetDeferredError);
    budget.settle("42"); // its answer came: it reached Telegram by now
    t += 700;
    expect(() => budget.tryAcquire("42")).toThrow(BudgetDeferredError);
    t += 400; // 1 100 ms after its answer (the window plus its slack)
    expect(() => budget.tryAcquire("42")).not.toThrow();
    await budget.acquire("7");
    budget.dropHeld("7"); // given back unused
    expect(() => budget.tryAcquire("7")).not.toThrow();
  });

  it("counts a group's messages per minute on top of the per-chat window", () => {
    let t = 1_000_000;
    const budget = new SendBudget(limits, () => t);
    for (let i = 0; i < 15; i++) {
      budget.tryAcquire("-100");
      budget.settle("-100");
      t += 3200;
    }
    // 15 of 20 used this minute: cosmetic edits stop (a quarter is kept for replies)...
    expect(() => budget.tryAcquire("-100")).toThrow(/deferred/);
    // ...while a private chat is not affected.
    expect(() => budget.tryAcquire("42")).not.toThrow();
  });
});

let fake: FakeTelegram;
let h: Harness;
afterEach(async () => {
  await h?.close();
  await fake?.close();
});

// Telegram's limits scaled down 10–30× so the burst finishes in seconds; the channel keeps to the same ones.
const SCALED: TelegramLimitsOptions = {
  perChat: { count: 3, windowMs: 300 },
  perGroup: { count: 20, windowMs: 3000 },
  perBot: { count: 30, windowMs: 1000 },
};

describe("send budget against Telegram's limits", () => {
  it("keeps to a chat's window when its first send, on a fresh connection, reaches Telegram late", async () => {
    const api = await startFakeTelegram();
    const limits = telegramLimits(SCALED);
    api.setNemesis(limits.nemesis);
    const chat = privateChat(5310, "Lee");
    api.registerChat(chat);
    // The first request on a connection arrives late (a handshake), after the window plus the budget's
    // slack has passed since it went: counted from when it went, the chat's window would look free
    // again once it is answered, and the fourth send would arrive right after the three.
    const LATE_MS = SCALED.perChat.windowMs + 200;
    api.holdArrival(({ firstOnConnection }) => (firstOnConnection ? new Promise((resolve) => setTimeout(resolve, LATE_MS)) : undefined));
    const bot = new BotApi(api.token, api.apiRoot, pino({ level: "silent" }), { baseDelayMs: 20, maxDelayMs: 200 }, new SendBudget(SCALED));
    try {
      for (let i = 1; i <= 4; i++) await bot.call("sendMessage", { chat_id: chat.id, text: `reply ${i}` });
      expect(api.messages(chat.id).map((m) => m.text)).toEqual([1, 2, 3, 4].map((i) => `reply ${i}`));
      expect(limits.violations).toEqual([]);
      expect(api.calls().filter((c) => c.status === 429)).toEqual([]);
    } finally {
      bot.close();
      await api.close();
    }
  });

  it("delivers a burst of 30 replies to a group in order with no 429, while the panel gives way", async () => {
    fake = await startFakeTelegram();
    const limits = telegramLimits(SCALED);
    fake.setNemesis(limits.nemesis);
    const group = groupChat(-100500, "Busy group");
    fake.registerChat(group);
    h = await createHarness(fake, { adminUserIds: ["42"], allowedChatIds: ["-100500"] });
    const channel = await h.startChannel({ sendLimits: SCALED, timing: { panelMinEditIntervalMs: 50, retryBaseDelayMs: 20, retryMaxDelayMs: 200, stopTimeoutMs: 2000 } });
    const chat = { channelId: CHANNEL_ID, chatId: "-100500", type: "group", title: "Busy group" };
    const activity = (phase: TurnActivity["phase"], step: number): TurnActivity => ({
      chat,
      conversationId: "tg-000001",
      turnKey: "tg-000001.foreground@1#1",
      model: "main",
      phase,
      step,
      startedAt: Date.now(),
    });
    channel.turnActivity(activity("calling_model", 1));
    await fake.waitFor(() => fake.messages(-100500).length === 1);
    await h.store.commit("event_processed", (tx) => {
      for (let i = 1; i <= 30; i++) queueOutbound(tx, { channelId: CHANNEL_ID, chatId: "-100500", conversationId: "tg-000001" }, { kind: "text", text: `reply ${i}` });
    });
    channel.wakeOutbox();
    // The turn keeps reporting progress while the replies go out: those edits are cosmetic.
    let reports = 0;
    const ticker = setInterval(() => {
      reports++;
      channel.turnActivity(activity("running_tool", Math.floor(Math.random() * 1000)));
    }, 20);
    try {
      await fake.waitFor(() => fake.messages(-100500).filter((m) => m.text?.startsWith("reply ")).length === 30, 20_000);
    } finally {
      clearInterval(ticker);
    }
    channel.turnActivity(activity("done", 2));
    await fake.waitFor(() => fake.messages(-100500)[0]?.text?.includes("Done"), 10_000);
    const replies = fake.messages(-100500).filter((m) => m.text?.startsWith("reply ")).map((m) => m.text);
    expect(replies).toEqual(Array.from({ length: 30 }, (_, i) => `reply ${i + 1}`));
    expect(limits.violations).toEqual([]);
    expect(fake.calls().filter((c) => c.status === 429)).toEqual([]);
    // The panel gave way: far fewer edits than progress reports, the final state shown exactly once. (Relative
    // to the reports: on a loaded machine the burst takes longer and the gaps between replies leave more room.)
    const edits = fake.edits(-100500);
    expect(edits.length, `${edits.length} edits for ${reports} progress reports`).toBeLessThan(Math.max(12, reports / 4));
    expect(edits.filter((e) => e.text?.includes("Done"))).toHaveLength(1);
    await fake.waitFor(() => h.store.outbound().length === 0);
  });
});
