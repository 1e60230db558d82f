import { afterEach, describe, expect, it } from "vitest";
import { groupChat, privateChat, startFakeTelegram, user, type FakeTelegram } from "../../../../test/fakes/telegram-api.js";
import { supergroupChat } from "../../../../test/fakes/telegram/groups.js";
import { NO_SEND_LIMITS } from "../../src/channels/telegram/send-budget.js";
import { HostKeys } from "../../src/state/host-store.js";
import { CHANNEL_ID, createHarness, eventually, type Harness } from "./harness.js";

// Scope: the channel against the fake Bot API, with a real HostStore and a recording test
// controller (see harness.ts) — the conversation service itself is not exercised here.

let fake: FakeTelegram;
let h: Harness;
afterEach(async () => {
  await h?.close();
  await fake?.close();
});

// Unpaced: pacing has its own tests (send-budget.test.ts, e2e with the real limits); here it only made
// the admin's notices and answers wait for room (about 3 s a test).
async function setup() {
  fake = await startFakeTelegram();
  h = await createHarness(fake, { sendLimits: NO_SEND_LIMITS });
}

const alice = privateChat(42, "Alice");
const bob = privateChat(7, "Bob");
const group = groupChat(-100123, "Team");

describe("access", () => {
  it("makes the first private user admin and admits their message", async () => {
    await setup();
    await h.startChannel();
    fake.sendText(alice, "hello bot");
    await eventually(() => h.controller.admits.length === 1, 5000, "admit");
    const admitted = h.controller.admits[0]!;
    expect(admitted.chat).toMatchObject({ channelId: CHANNEL_ID, chatId: "42", type: "private" });
    expect(admitted.message.role).toBe("user");
    expect(admitted.message.content).toEqual([{ type: "text", text: "hello bot" }]);
    expect(admitted.message.time).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(admitted.messageId).toBe(`${CHANNEL_ID}:${admitted.updateId}`);
    expect(h.store.admins(CHANNEL_ID)).toEqual(["42"]);
    expect(h.store.chat(CHANNEL_ID, "42")?.access).toBe("approved");
    await fake.waitFor(() => fake.messages(42).find((m) => m.text?.includes("You are now the admin")));
  });

  it("keeps a group pending until the admin approves it; nothing reaches the controller before", async () => {
    await setup();
    fake.registerChat(alice); // the admin has talked to the bot before
    await h.startChannel({ adminUserIds: ["42"] });
    fake.sendText(group, "hi from the group");
    const notice = await fake.waitFor(() => fake.messages(group.id).find((m) => m.text?.includes("waiting for approval")));
    expect(notice).toBeDefined();
    const request = await fake.waitFor(() => fake.messages(42).find((m) => m.text?.includes(`/admin_chat_approve ${group.id}`)));
    expect(request.replyMarkup?.inline_keyboard?.flat().map((b) => b.callback_data)).toContain(`admin:approve:${group.id}`);
    expect(h.store.chat(CHANNEL_ID, String(group.id))?.access).toBe("pending");

    // More messages: still nothing admitted, and no second notice within the hour.
    fake.sendText(group, "anyone?");
    fake.sendCommand(group, "status");
    await fake.waitFor(() => fake.confirmedOffset() > fake.updates().at(-1)!.update_id);
    expect(h.controller.admits).toHaveLength(0);
    expect(h.controller.commandCalls).toHaveLength(0);
    expect(fake.messages(group.id).filter((m) => m.text?.includes("waiting for approval"))).toHaveLength(1);

    // A non-admin cannot approve.
    fake.sendCommand(bob, `admin_chat_approve ${group.id}`);
    await fake.waitFor(() => fake.confirmedOffset() > fake.updates().at(-1)!.update_id);
    expect(h.store.chat(CHANNEL_ID, String(group.id))?.access).toBe("pending");

    fake.sendCommand(alice, `admin_chat_approve ${group.id}`);
    await fake.waitFor(() => fake.messages(42).find((m) => m.text?.startsWith(`Approved chat ${group.id}`)));
    await fake.waitFor(() => fake.messages(group.id).find((m) => m.text?.includes("was approved")));
    expect(h.store.chat(CHANNEL_ID, String(group.id))?.access).toBe("approved");

    fake.sendText(group, "now it works", { from: user(9, "Carol") });
    await eventually(() => h.controller.admits.length === 1, 5000, "group admit");
    expect(h.controller.admits[0]!.message.content).toEqual([{ type: "text", text: "now it works" }]);
    expect(h.controller.admits[0]!.user.userId).toBe("9");

    fake.sendCommand(alice, "admin_chat_list");
    const list = await fake.waitFor(() => fake.messages(42).find((m) => m.text?.includes("Chats:")));
    expect(list.text).toContain(`${group.id}: approved`);
    expect(list.text).toContain("7: pending");
  });

  it("approves from the admin's button and rejects by command", async () => {
    await setup();
    fake.registerChat(alice);
    await h.startChannel({ adminUserIds: ["42"] });
    fake.sendText(group, "hello");
    const request = await fake.waitFor(() => fake.messages(42).find((m) => m.text?.includes("waiting for approval")));
    fake.pressButton(alice, request.messageId, `admin:approve:${group.id}`);
    await fake.waitFor(() => h.store.chat(CHANNEL_ID, String(group.id))?.access === "approved");
    await fake.waitFor(() => fake.callbackAnswers().length === 1);
    fake.sendCommand(alice, `admin_chat_reject ${group.id}`);
    await fake.waitFor(() => h.store.chat(CHANNEL_ID, String(group.id))?.access === "rejected");
    fake.sendText(group, "still here?");
    await fake.waitFor(() => fake.messages(group.id).find((m) => m.text?.includes("not approved")));
    expect(h.controller.admits).toHaveLength(0);
  });
});

describe("polling and admission", () => {
  it("confirms an offset only after the update was admitted", async () => {
    await setup();
    await h.startChannel({ adminUserIds: ["42"] });
    let release!: () => void;
    h.controller.gate = new Promise<void>((r) => (release = r));
    const id = fake.sendText(alice, "slow admission");
    await fake.waitFor(() => fake.calls("getUpdates").some((c) => c.status === 200 && c.params.offset === id));
    await new Promise((r) => setTimeout(r, 300));
    expect(fake.confirmedOffset()).toBeLessThanOrEqual(id);
    expect(h.store.lastUpdateId(CHANNEL_ID)).toBeLessThan(id);
    release();
    await fake.waitFor(() => fake.confirmedOffset() === id + 1);
    expect(h.store.lastUpdateId(CHANNEL_ID)).toBe(id);
    expect(h.controller.admits).toHaveLength(1);
  });

  it("admits an update once when the channel restarts before its offset was confirmed", async () => {
    await setup();
    const first = await h.startChannel({ adminUserIds: ["42"], timing: { stopTimeoutMs: 300 } });
    let release!: () => void;
    h.controller.holdAfterCommit = new Promise<void>((r) => (release = r));
    const id = fake.sendText(alice, "only once");
    await eventually(() => h.controller.admits.length === 1, 5000, "admit");
    // Stored, but the poller has not asked Telegram for more yet: the offset is unconfirmed.
    await first.stop();
    expect(fake.confirmedOffset()).toBeLessThanOrEqual(id);
    h.controller.holdAfterCommit = null;
    await h.startChannel({ adminUserIds: ["42"] });
    await fake.waitFor(() => fake.confirmedOffset() > id);
    fake.sendText(alice, "next");
    await eventually(() => h.controller.admits.length === 2, 5000, "second admit");
    expect(h.controller.admits.map((a) => a.message.content[0])).toEqual([
      { type: "text", text: "only once" },
      { type: "text", text: "next" },
    ]);
    release();
  });

  it("skips update ids at or below the stored one (re-delivery after a crash)", async () => {
    await setup();
    const id = fake.sendText(alice, "admitted before the crash");
    // The previous process admitted this update but crashed before confirming its offset.
    await h.store.commit("admit", (tx) => tx.put(HostKeys.lastUpdate(CHANNEL_ID), id));
    await h.startChannel({ adminUserIds: ["42"] });
    fake.sendText(alice, "new one");
    await eventually(() => h.controller.admits.length === 1, 5000, "admit");
    expect(h.controller.admits[0]!.message.content).toEqual([{ type: "text", text: "new one" }]);
    expect(fake.calls("getUpdates")[0]!.params.offset).toBe(id + 1);
  });

  it("keeps polling through 5xx, 429 and 409 answers", async () => {
    await setup();
    fake.failNext("getUpdates", { status: 502 });
    fake.failNext("getUpdates", { status: 429, retryAfter: 1 });
    await h.startChannel({ adminUserIds: ["42"] });
    fake.sendText(alice, "eventually");
    await eventually(() => h.controller.admits.length === 1, 8000, "admit after faults");
    fake.failNext("getUpdates", { status: 409, description: "Conflict: terminated by other getUpdates request" });
    fake.sendText(alice, "after conflict");
    await eventually(() => h.controller.admits.length === 2, 15_000, "admit after conflict");
  }, 30_000);
});

describe("commands and callbacks", () => {
  it("routes /cmd and /cmd@thisbot, ignores /cmd@otherbot, answers /start and unknown commands", async () => {
    await setup();
    const channel = await h.startChannel({ adminUserIds: ["42"] });
    expect(channel.username).toBe(fake.botUser.username);
    fake.sendCommand(alice, "status");
    fake.sendCommand(alice, `status@${fake.botUser.username}`);
    const other = fake.sendCommand(alice, "status@some_other_bot");
    fake.sendCommand(alice, "frobnicate");
    fake.sendCommand(alice, "start");
    await fake.waitFor(() => fake.messages(42).find((m) => m.text?.startsWith("Hello!")));
    await fake.waitFor(() => fake.confirmedOffset() > other);
    expect(h.controller.commandCalls.filter((c) => c.name === "status")).toHaveLength(2);
    expect(fake.messages(42).filter((m) => m.text === "status of chat 42: ok")).toHaveLength(2);
    expect(fake.messages(42).some((m) => m.text === "Unknown command /frobnicate. Try /help.")).toBe(true);
    const hello = fake.messages(42).find((m) => m.text?.startsWith("Hello!"))!;
    expect(hello.text).toContain("Commands: /status, /model, /help");
    expect(h.controller.admits).toHaveLength(0);
    // Everyone's menu has the conversation commands; the admin commands are in admins' chats only (menu.test.ts).
    expect(fake.currentCommands().map((c) => c.command)).toEqual(["status", "model", "help"]);
  });

  it("a command waiting on its worker holds no other chat; one pending at a stop is answered once after the start", async () => {
    await setup();
    const first = await h.startChannel({ allowedChatIds: ["42", "7"] });
    let release = () => {};
    h.controller.commandGate = new Promise((resolve) => (release = resolve));
    const status = fake.sendCommand(alice, "status");
    fake.sendText(bob, "hello while Alice's /status waits");
    await eventually(() => h.controller.admits.some((a) => a.chat.chatId === "7"), 5000, "Bob's message admitted");
    await fake.waitFor(() => fake.confirmedOffset() > status);
    expect(h.store.list(`cmdpending:${CHANNEL_ID}:`)).toHaveLength(1);
    const answers = () => fake.messages(42).filter((m) => m.text === "status of chat 42: ok" || m.text?.startsWith("Commands:"));
    expect(answers()).toHaveLength(0);

    // A restart while it still waits: the stop leaves it stored, the next start runs it again; answered once.
    await first.stop();
    await h.startChannel({ allowedChatIds: ["42", "7"] });
    await eventually(() => h.controller.commandCalls.filter((c) => c.name === "status").length === 2, 5000, "the stored command run again");
    release();
    await fake.waitFor(() => fake.messages(42).find((m) => m.text === "status of chat 42: ok"));
    await eventually(() => h.store.list(`cmdpending:${CHANNEL_ID}:`).length === 0, 5000, "the pending command deleted");
    fake.sendCommand(alice, "help");
    await fake.waitFor(() => fake.messages(42).find((m) => m.text?.startsWith("Commands:")));
    expect(answers().map((m) => m.text)).toEqual(["status of chat 42: ok", "Commands: /status, /model, /help"]);
  });

  it("the poller never waits for a command: forty chats' commands stuck on their workers do not delay another chat's message", { timeout: 90_000 }, async () => {
    await setup();
    const chats = Array.from({ length: 40 }, (_, i) => privateChat(100 + i, `Stuck${i}`));
    await h.startChannel({ allowedChatIds: [...chats.map((c) => String(c.id)), "7"] });
    let release = () => {};
    h.controller.commandGate = new Promise((resolve) => (release = resolve));
    for (const chat of chats) fake.sendCommand(chat, "status");
    fake.sendText(bob, "hello behind forty stuck commands");
    // Until 0.23.1 the poller gave each command up to 1 s before the next update: Bob waited 40 s, past any wait's
    // limit (30 s). Now every command waits in its own chat's lane and Bob is answered meanwhile.
    await eventually(() => h.controller.admits.some((a) => a.chat.chatId === "7"), 30_000, "Bob's message admitted while the commands wait");
    expect(h.controller.commandCalls.filter((c) => c.name === "status")).toHaveLength(40);
    expect(chats.flatMap((c) => fake.messages(c.id)).filter((m) => m.text?.startsWith("status of chat"))).toEqual([]);
    release();
    for (const chat of chats) await fake.waitFor(() => fake.messages(chat.id).find((m) => m.text === `status of chat ${chat.id}: ok`));
  });

  it("a chat's message and press behind its waiting command wait for it, across a stop too; other chats do not", async () => {
    await setup();
    const first = await h.startChannel({ allowedChatIds: ["42", "7"] });
    fake.sendCommand(alice, "model");
    const picker = await fake.waitFor(() => fake.messages(42).find((m) => m.text === "Pick a model:"));
    let release = () => {};
    h.controller.commandGate = new Promise((resolve) => (release = resolve));
    fake.sendCommand(alice, "status");
    fake.sendText(alice, "hello after /status");
    const press = fake.pressButton(alice, picker.messageId, "model:smart");
    fake.sendText(bob, "hello while Alice's /status waits");
    await eventually(() => h.controller.admits.some((a) => a.chat.chatId === "7"), 5000, "Bob's message admitted");
    await fake.waitFor(() => fake.confirmedOffset() > press);
    await fake.waitFor(() => fake.callbackAnswers().length === 1); // the held press's spinner is answered at once
    const alices = () => h.controller.admits.filter((a) => a.chat.chatId === "42").map((a) => a.message.content);
    expect(alices(), "Alice's message waits behind her /status").toEqual([]);
    expect(h.store.list<{ kind: string }>(`cmdpending:${CHANNEL_ID}:`).map((r) => r.kind)).toEqual(["command", "update", "update"]);

    // Stopped while they wait: the next start runs the command, then the message and the press, once each.
    await first.stop();
    await h.startChannel({ allowedChatIds: ["42", "7"] });
    await eventually(() => h.controller.commandCalls.filter((c) => c.name === "status").length === 2, 5000, "the stored command run again");
    expect(alices()).toEqual([]);
    release();
    await fake.waitFor(() => fake.messages(42).find((m) => m.text === "Model set to smart."));
    await eventually(() => h.store.list(`cmdpending:${CHANNEL_ID}:`).length === 0, 5000, "the pending records deleted");
    expect(alices()).toEqual([[{ type: "text", text: "hello after /status" }]]);
    const answers = fake.messages(42).filter((m) => m.text === "status of chat 42: ok" || m.text === "Model set to smart.");
    expect(answers.map((m) => m.text)).toEqual(["status of chat 42: ok", "Model set to smart."]);
    expect(h.controller.callbackCalls.map((c) => c.data)).toEqual(["model:smart"]);
  });

  it("a group upgraded to a supergroup while its command waits: the command's reply and the updates held behind it go to the supergroup", async () => {
    await setup();
    const old = groupChat(-4200, "Team");
    const upgraded = supergroupChat(-1004200, "Team");
    await h.startChannel({ allowedChatIds: [String(old.id)], groupTrigger: "all" });
    let release = () => {};
    h.controller.commandGate = new Promise((resolve) => (release = resolve));
    fake.sendCommand(old, "status", { from: user(9, "Carol") });
    fake.sendText(old, "hello behind /status", { from: user(9, "Carol") });
    const second = fake.sendCommand(old, "help", { from: user(9, "Carol") });
    await fake.waitFor(() => fake.confirmedOffset() > second);
    expect(h.store.list<{ kind: string }>(`cmdpending:${CHANNEL_ID}:`).map((r) => r.kind)).toEqual(["command", "update", "update"]);
    // The upgrade is not held (it moves the chat): it comes while /status still waits.
    const moved = fake.migrateGroup(old, upgraded);
    await fake.waitFor(() => fake.confirmedOffset() > moved);
    expect(h.store.chat(CHANNEL_ID, String(old.id))?.migratedTo).toBe(String(upgraded.id));
    release();
    await fake.waitFor(() => fake.messages(upgraded.id).find((m) => m.text?.startsWith("Commands:")));
    expect(h.controller.admits.map((a) => [a.chat.chatId, a.chat.type, a.message.content])).toEqual([[String(upgraded.id), "supergroup", [{ type: "text", text: "hello behind /status" }]]]);
    expect(h.controller.commandCalls.map((c) => [c.name, c.chat.chatId])).toEqual([["status", String(old.id)], ["help", String(upgraded.id)]]);
    await fake.waitFor(() => fake.messages(upgraded.id).find((m) => m.text === `status of chat ${old.id}: ok`));
    expect(fake.calls("sendMessage").filter((c) => String(c.params.chat_id) === String(old.id))).toEqual([]);
    await eventually(() => h.store.list(`cmdpending:${CHANNEL_ID}:`).length === 0, 5000, "the held records deleted");
  });

  it("a press of a button no longer active, held behind the chat's waiting command, says so in the chat once the command is done", async () => {
    await setup();
    await h.startChannel({ allowedChatIds: ["42"] });
    fake.sendCommand(alice, "model");
    const picker = await fake.waitFor(() => fake.messages(42).find((m) => m.text === "Pick a model:"));
    let release = () => {};
    h.controller.commandGate = new Promise((resolve) => (release = resolve));
    h.controller.inactiveButtons.add("model:fast");
    fake.sendCommand(alice, "status");
    const press = fake.pressButton(alice, picker.messageId, "model:fast");
    await fake.waitFor(() => fake.confirmedOffset() > press);
    await fake.waitFor(() => fake.callbackAnswers().length === 1); // its spinner answered when it was held, without text
    release();
    await fake.waitFor(() => fake.messages(42).find((m) => m.text === "This button is no longer active."));
    expect(fake.messages(42).map((m) => m.text).slice(-2)).toEqual(["status of chat 42: ok", "This button is no longer active."]);
  });

  it("answers every callback query and shows the controller's reply", async () => {
    await setup();
    await h.startChannel({ adminUserIds: ["42"] });
    fake.sendCommand(alice, "model");
    const picker = await fake.waitFor(() => fake.messages(42).find((m) => m.text === "Pick a model:"));
    expect(picker.replyMarkup?.inline_keyboard?.[0]?.map((b) => b.callback_data)).toEqual(["model:fast", "model:smart"]);
    fake.pressButton(alice, picker.messageId, "model:smart");
    await fake.waitFor(() => fake.messages(42).find((m) => m.text === "Model set to smart."));
    expect(h.controller.callbackCalls.map((c) => c.data)).toEqual(["model:smart"]);
    await fake.waitFor(() => fake.callbackAnswers().length === 1);
  });

  it("a button press waiting on its worker holds no other chat: the query is answered, the reply comes when it is done", async () => {
    await setup();
    await h.startChannel({ allowedChatIds: ["42", "7"] });
    fake.sendCommand(alice, "model");
    const picker = await fake.waitFor(() => fake.messages(42).find((m) => m.text === "Pick a model:"));
    let release = () => {};
    h.controller.commandGate = new Promise((resolve) => (release = resolve));
    fake.pressButton(alice, picker.messageId, "model:smart");
    fake.sendText(bob, "hello while Alice's press waits");
    await eventually(() => h.controller.admits.some((a) => a.chat.chatId === "7"), 5000, "Bob's message admitted");
    await fake.waitFor(() => fake.callbackAnswers().length === 1); // no spinner left on the button meanwhile
    expect(fake.messages(42).filter((m) => m.text === "Model set to smart.")).toHaveLength(0);
    release();
    await fake.waitFor(() => fake.messages(42).find((m) => m.text === "Model set to smart."));
    expect(h.controller.callbackCalls.map((c) => c.data)).toEqual(["model:smart"]);
  });
});
