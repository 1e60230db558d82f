import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { privateChat, startFakeTelegram, type FakeTelegram } from "../../../../test/fakes/telegram-api.js";
import { NO_SEND_LIMITS } from "../../src/channels/telegram/send-budget.js";
import { HostKeys } from "../../src/state/host-store.js";
import { queueOutbound } from "../../src/state/outbox.js";
import { noteBoot } from "../../src/state/boot.js";
import type { OutboundPayload } from "../../src/state/records.js";
import { CHANNEL_ID, createHarness, type Harness } from "./harness.js";

// Scope: the channel's outbox sender against the fake Bot API with a real HostStore; items are
// written to the store the way the host core writes them (queueOutbound inside a commit).

let fake: FakeTelegram;
let h: Harness;
afterEach(async () => {
  await h?.close();
  await fake?.close();
});

const alice = privateChat(42, "Alice");
const bob = privateChat(7, "Bob");

async function setup() {
  fake = await startFakeTelegram();
  fake.registerChat(alice);
  fake.registerChat(bob);
  h = await createHarness(fake, { adminUserIds: ["42"] });
}

async function queue(chatId: string, payload: OutboundPayload, conversationId = "") {
  await h.store.commit("event_processed", (tx) => queueOutbound(tx, { channelId: CHANNEL_ID, chatId, conversationId }, payload));
}

const outboxEmpty = () => h.store.outbound().length === 0;

describe("outbox", () => {
  it("renders Markdown as HTML and removes the item once Telegram accepted it", async () => {
    await setup();
    const channel = await h.startChannel();
    await queue("42", { kind: "text", text: "**bold** and `code`" });
    channel.wakeOutbox();
    const sent = await fake.waitFor(() => fake.messages(42)[0]);
    expect(sent.text).toBe("bold and code");
    expect(sent.parseMode).toBe("HTML");
    expect(sent.entities.map((e) => e.type)).toEqual(["bold", "code"]);
    await fake.waitFor(outboxEmpty);
  });

  it("delivers after retry_after when sendMessage answers 429", async () => {
    await setup();
    fake.failNext("sendMessage", { status: 429, retryAfter: 1 });
    const channel = await h.startChannel();
    const queuedAt = Date.now();
    await queue("42", { kind: "text", text: "patience" });
    channel.wakeOutbox();
    await fake.waitFor(() => fake.messages(42).find((m) => m.text === "patience"));
    expect(Date.now() - queuedAt).toBeGreaterThanOrEqual(900);
    expect(fake.calls("sendMessage").map((c) => c.status)).toEqual([429, 200]);
    await fake.waitFor(outboxEmpty);
  });

  it("falls back to plain text when Telegram cannot parse the HTML", async () => {
    await setup();
    fake.failNext("sendMessage", { status: 400, description: "Bad Request: can't parse entities: unsupported start tag" });
    const channel = await h.startChannel();
    await queue("42", { kind: "text", text: "a **b** c" });
    channel.wakeOutbox();
    const sent = await fake.waitFor(() => fake.messages(42)[0]);
    expect(sent.text).toBe("a b c");
    expect(sent.parseMode).toBeUndefined();
    await fake.waitFor(outboxEmpty);
  });

  it("splits a 9,000-character reply into 3 messages without losing anything", async () => {
    await setup();
    const channel = await h.startChannel();
    const paragraphs = Array.from({ length: 90 }, (_, i) => `Paragraph ${String(i).padStart(2, "0")}: ${"x".repeat(84)}.`);
    const text = paragraphs.join("\n\n");
    expect(text.length).toBeGreaterThan(9000);
    await queue("42", { kind: "text", text });
    channel.wakeOutbox();
    await fake.waitFor(outboxEmpty);
    const sent = fake.messages(42);
    expect(sent).toHaveLength(3);
    for (const m of sent) expect(m.text!.length).toBeLessThanOrEqual(4096);
    const joined = sent.map((m) => m.text).join("\n\n");
    for (const p of paragraphs) expect(joined.split(p).length - 1).toBe(1);
  });

  // outbox_attempt:2 is the attempt of the second part, recorded after the first went out (its retry goes on from the count kept in memory).
  it.each(["outbox_part:1:2", "outbox_attempt:2:2"])("a failed write between the parts of a reply (%s) does not send a part again", async (failAt) => {
    await setup();
    process.env["STARLING_FAIL_AT"] = failAt;
    try {
      const channel = await h.startChannel();
      const paragraphs = Array.from({ length: 90 }, (_, i) => `Paragraph ${String(i).padStart(2, "0")}: ${"x".repeat(84)}.`);
      await queue("42", { kind: "text", text: paragraphs.join("\n\n") });
      channel.wakeOutbox();
      await fake.waitFor(outboxEmpty, 20_000);
    } finally {
      delete process.env["STARLING_FAIL_AT"];
    }
    const sent = fake.messages(42);
    expect(sent).toHaveLength(3);
    const joined = sent.map((m) => m.text).join("\n\n");
    expect(joined).not.toContain("possible duplicate");
    for (const i of [0, 45, 89]) expect(joined.split(`Paragraph ${String(i).padStart(2, "0")}:`).length - 1).toBe(1);
  });

  it("a reply cut between parts by a host whose split differs (another version) is sent whole, labelled, not from the old count", async () => {
    await setup();
    const paragraphs = Array.from({ length: 90 }, (_, i) => `Paragraph ${String(i).padStart(2, "0")}: ${"x".repeat(84)}.`);
    // An earlier host sent one message of its own split of this reply (recorded by `outbox_part`) and stopped.
    await h.store.commit("outbox_part", (tx) => {
      const item = queueOutbound(tx, { channelId: CHANNEL_ID, chatId: "42", conversationId: "" }, { kind: "text", text: paragraphs.join("\n\n") });
      tx.put(HostKeys.outbound(item.seq), { ...item, deliveredParts: 1, partsOf: "another-version" });
    });
    await h.startChannel();
    await fake.waitFor(outboxEmpty, 20_000);
    const sent = fake.messages(42);
    // Before the fix: 2 messages from this split's second part on, paragraphs 00-~44 never shown (the earlier
    // host's first message held fewer, or other, paragraphs).
    expect(sent).toHaveLength(3);
    expect(sent[0]!.text).toMatch(/^♻️ \(possible duplicate\) Paragraph 00:/);
    const joined = sent.map((m) => m.text).join("\n\n");
    for (const p of paragraphs) expect(joined.split(p).length - 1).toBe(1);
  });

  it("keeps per-chat order and drops an item a chat can never receive", async () => {
    await setup();
    const channel = await h.startChannel();
    // Chats drain in parallel: the refusal goes to chat 42's first send, whichever chat sends first.
    let refused = false;
    fake.setNemesis(({ method, params }) => {
      if (refused || method !== "sendMessage" || String(params["chat_id"]) !== "42") return undefined;
      refused = true;
      return { kind: "fault", fault: { status: 400, description: "Bad Request: chat not found" } };
    });
    await queue("42", { kind: "text", text: "lost" });
    await queue("42", { kind: "text", text: "one" });
    await queue("42", { kind: "text", text: "two" });
    await queue("7", { kind: "text", text: "for bob" });
    channel.wakeOutbox();
    await fake.waitFor(outboxEmpty);
    expect(fake.messages(42).map((m) => m.text)).toEqual(["one", "two"]);
    expect(fake.messages(7).map((m) => m.text)).toEqual(["for bob"]);
  });

  it("re-sends an item whose earlier send has an unknown outcome, marked as a possible duplicate", async () => {
    await setup();
    // A previous process committed `attemptedAt` and crashed before Telegram's answer arrived.
    await h.store.commit("outbox_attempt", (tx) => {
      const item = queueOutbound(tx, { channelId: CHANNEL_ID, chatId: "42", conversationId: "" }, { kind: "text", text: "your answer" });
      tx.put(HostKeys.outbound(item.seq), { ...item, attemptedAt: new Date().toISOString() });
    });
    await queue("42", { kind: "text", text: "a fresh one" });
    await h.startChannel();
    await fake.waitFor(outboxEmpty);
    expect(fake.messages(42).map((m) => m.text)).toEqual(["♻️ (possible duplicate) your answer", "a fresh one"]);
  });

  it("records no attempt while a reply waits for room in the send budget, so a restart then re-sends it unlabelled", async () => {
    await setup();
    const slow = { count: 1, windowMs: 60_000 };
    const channel = await h.startChannel({ sendLimits: { perChat: slow, perGroup: slow, perBot: { count: 1000, windowMs: 1000 } } });
    await queue("42", { kind: "text", text: "first" });
    await queue("42", { kind: "text", text: "second, a minute later" });
    channel.wakeOutbox();
    await fake.waitFor(() => fake.messages(42)[0]);
    await fake.waitFor(() => h.store.outbound().length === 1);
    await new Promise((r) => setTimeout(r, 300)); // the sender now waits for room for "second"
    const [waiting] = h.store.outbound();
    expect(waiting?.attemptedAt, "an item waiting for room has not been attempted").toBeUndefined();
    await channel.stop();
    // The next process (unpaced) finds no unknown outcome: the reply goes out once, without the label.
    await h.startChannel();
    await fake.waitFor(outboxEmpty);
    expect(fake.messages(42).map((m) => m.text)).toEqual(["first", "second, a minute later"]);
  });

  it("after a reboot re-sends what the outbox still holds labelled (its unsynced attempt may be lost); after a process restart not", async () => {
    await setup();
    await noteBoot(h.store, "boot-before");
    await queue("42", { kind: "text", text: "queued before the power failure" });
    expect(await noteBoot(h.store, "boot-before")).toBe(0);
    expect(await noteBoot(h.store, "boot-after")).toBe(1);
    await queue("42", { kind: "text", text: "queued after it" });
    await h.startChannel();
    await fake.waitFor(outboxEmpty);
    expect(fake.messages(42).map((m) => m.text)).toEqual(["♻️ (possible duplicate) queued before the power failure", "queued after it"]);
  });

  it("sends inline keyboards and workspace attachments after the text", async () => {
    await setup();
    // Unpaced: four messages in one chat would wait for room in its 3 per 3 s (pacing is not the subject).
    const channel = await h.startChannel({ sendLimits: NO_SEND_LIMITS });
    const workspace = await h.controller.workspaceFor({ channelId: CHANNEL_ID, chatId: "42", type: "private", title: "" });
    mkdirSync(join(workspace, "out"), { recursive: true });
    writeFileSync(join(workspace, "out", "chart.png"), Buffer.from("89504e470d0a1a0a", "hex"));
    writeFileSync(join(workspace, "report.txt"), "numbers");
    await queue("42", { kind: "text", text: "Pick:", replyMarkup: [[{ text: "A", data: "model:a" }]] }, "tg-42");
    await queue(
      "42",
      { kind: "text", text: "Here:\n<attachment>out/chart.png</attachment>\n<attachment>report.txt</attachment>\n<attachment>../../etc/passwd</attachment>" },
      "tg-42",
    );
    channel.wakeOutbox();
    await fake.waitFor(outboxEmpty);
    const sent = fake.messages(42);
    expect(sent.map((m) => m.method)).toEqual(["sendMessage", "sendMessage", "sendPhoto", "sendDocument"]);
    expect(sent[0]!.replyMarkup?.inline_keyboard?.[0]?.[0]).toMatchObject({ text: "A", callback_data: "model:a" });
    expect(sent[1]!.text).toContain("Here:");
    expect(sent[1]!.text).toContain("Could not attach");
    expect(sent[2]!.uploaded).toBe(true);
    expect(sent[3]!.file?.fileName).toBe("report.txt");
  });

  // The workspace is the agent's: a command may swap a checked attachment for a link while the text before it is sent.
  it("an attachment swapped for a link after it was checked is not uploaded: the link's target stays unsent", async () => {
    await setup();
    const channel = await h.startChannel({ sendLimits: NO_SEND_LIMITS });
    const workspace = await h.controller.workspaceFor({ channelId: CHANNEL_ID, chatId: "42", type: "private", title: "" });
    const outside = mkdtempSync(join(tmpdir(), "starling-outside-"));
    try {
      writeFileSync(join(outside, "secret.txt"), "OUTSIDE-SECRET");
      writeFileSync(join(workspace, "report.txt"), "numbers");
      fake.setNemesis(({ method }) => {
        if (method === "sendMessage") {
          renameSync(join(workspace, "report.txt"), join(workspace, "report.moved"));
          symlinkSync(join(outside, "secret.txt"), join(workspace, "report.txt"));
        }
        return undefined;
      });
      await queue("42", { kind: "text", text: "Here:\n<attachment>report.txt</attachment>" }, "tg-42");
      channel.wakeOutbox();
      await fake.waitFor(outboxEmpty);
      const sent = fake.messages(42);
      expect(sent.filter((m) => m.file).map((m) => m.file!.bytes.toString())).not.toContain("OUTSIDE-SECRET");
      expect(sent.map((m) => m.text).join("\n")).toMatch(/Could not send the file report\.txt: .*changed/);
    } finally {
      rmSync(outside, { recursive: true, force: true });
    }
  });

  it("flushes the outbox when stopping", async () => {
    await setup();
    const channel = await h.startChannel();
    await queue("42", { kind: "text", text: "last words" });
    await channel.stop();
    expect(fake.messages(42).map((m) => m.text)).toEqual(["last words"]);
    expect(outboxEmpty()).toBe(true);
  });
});

describe("outbox: a group upgraded to a supergroup", () => {
  it("re-addresses a reply Telegram refuses with migrate_to_chat_id to the new chat, with the chat's approval and conversation", async () => {
    fake = await startFakeTelegram();
    const group = { id: -4100, type: "group" as const, title: "Old" };
    const upgraded = { id: -1004100, type: "supergroup" as const, title: "Old" };
    fake.registerChat(group);
    h = await createHarness(fake, { adminUserIds: ["42"] });
    await h.store.commit("chat_access", (tx) => {
      tx.put(HostKeys.chat(CHANNEL_ID, "-4100"), { channelId: CHANNEL_ID, chatId: "-4100", access: "approved", title: "Old", type: "group", firstSeenAt: new Date().toISOString() });
    });
    await queue("-4100", { kind: "text", text: "the answer" });
    // Upgraded before the host polled the service messages: the first send to the old id is refused.
    fake.migrateGroup(group, upgraded);
    await h.startChannel();
    const sent = await fake.waitFor(() => fake.messages(upgraded.id).find((m) => m.text === "the answer"));
    expect(sent.chatId).toBe(upgraded.id);
    expect(fake.calls("sendMessage").some((c) => c.status === 400 && String(c.params.chat_id) === "-4100")).toBe(true);
    await fake.waitFor(outboxEmpty);
    expect(h.store.chat(CHANNEL_ID, "-1004100")?.access).toBe("approved");
  });
});
