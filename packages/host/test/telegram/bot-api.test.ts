import pino from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { privateChat, startFakeTelegram, type FakeTelegram } from "../../../../test/fakes/telegram-api.js";
import { BotApi } from "../../src/channels/telegram/bot-api.js";
import { SendBudget } from "../../src/channels/telegram/send-budget.js";

// Scope: BotApi against the fake Bot API over real HTTP: a chat's 429 pause covers every call for it.

let fake: FakeTelegram | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

describe("BotApi", () => {
  it("a 429 for the chat that arrives while a send waits for the budget is waited out before that send", async () => {
    fake = await startFakeTelegram();
    const chat = privateChat(5101, "Ann");
    fake.registerChat(chat);
    // One send per 2 s per chat, so the second send waits in the budget (long enough for a loaded machine
    // to get the 429 in while it waits: it is one local HTTP call).
    const budget = new SendBudget({ perChat: { count: 1, windowMs: 2000 }, perGroup: { count: 20, windowMs: 60_000 }, perBot: { count: 30, windowMs: 1000 } });
    const api = new BotApi(fake.token, fake.apiRoot, pino({ level: "silent" }), {}, budget);
    fake.setNemesis(({ method }) => (method === "sendChatAction" ? { kind: "fault", fault: { status: 429, retryAfter: 3 } } : undefined));

    await api.call("sendMessage", { chat_id: chat.id, text: "first" });
    const second = api.call("sendMessage", { chat_id: chat.id, text: "second" });
    await new Promise((r) => setImmediate(r));
    await expect(api.call("sendChatAction", { chat_id: chat.id, action: "typing" }, { maxAttempts: 1 })).rejects.toThrow(/429/);
    await second;

    const refused = fake.calls("sendChatAction").at(-1)!;
    const secondSend = fake.calls("sendMessage").find((c) => c.params["text"] === "second")!;
    // The budget alone would have let it go < 2 s after the 429; retry_after asked for 3 s.
    expect(secondSend.startedAt - refused.at).toBeGreaterThanOrEqual(2900);
  });

  it("gives up a request that gets no answer after its time limit and tries again", async () => {
    fake = await startFakeTelegram();
    const chat = privateChat(5102, "Bo");
    fake.registerChat(chat);
    let hung = 0;
    fake.setNemesis(({ method }) => (method === "sendMessage" && hung++ === 0 ? { kind: "hang" } : undefined));
    const api = new BotApi(fake.token, fake.apiRoot, pino({ level: "silent" }), { baseDelayMs: 10 }, undefined, { requestTimeoutMs: 2000 });
    const sent = await api.call("sendMessage", { chat_id: chat.id, text: "hello" }, { afterUnknownOutcome: (p: { text: string }) => ({ ...p, text: `again: ${p.text}` }) as never });
    expect(sent.text).toBe("again: hello");
    expect(fake.calls("sendMessage")).toHaveLength(2);
  });
});
