// What demanding users send that is neither plain text nor a file, and a group that Telegram upgrades
// to a supergroup (a new chat id) — through the real CLI and the fake Bot API.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RecordedRequest, ScriptedReply } from "../fakes/openai-server.js";
import { groupChat, privateChat, user } from "../fakes/telegram-api.js";
import { supergroupChat } from "../fakes/telegram/groups.js";
import { lastUserText, requestText, startE2E, type E2E } from "./fixture.js";

const alice = privateChat(1, "Alice");
const group = groupChat(-4001, "Team");
const upgraded = supergroupChat(-1004001, "Team");
const bob = user(2001, "Bob");
const docs = groupChat(-4002, "Docs");
const docsUpgraded = supergroupChat(-1004002, "Docs");
/** A reply of three ~3000-character paragraphs: sent as three messages (Telegram's 4096 limit). */
const LONG_REPLY = ["PART-A", "PART-B", "PART-C"].map((tag) => `${tag} ${"word ".repeat(600)}`).join("\n\n");
const BOT = "@starling_test_bot";

function respond(req: RecordedRequest): ScriptedReply {
  const text = lastUserText(req);
  if (text.includes("long answer")) return { text: LONG_REPLY };
  return { text: `echo: ${text.split("\n").filter(Boolean).at(-1)}`, ...(text.includes("slowly") ? { delayMs: 1500 } : {}) };
}

let e2e: E2E;
beforeAll(async () => {
  e2e = await startE2E({ responder: respond, config: { adminUserIds: [1], allowedChatIds: [group.id, docs.id] } });
});
afterAll(async () => {
  await e2e?.close();
});

const now = () => Math.floor(Date.now() / 1000);

describe("telegram input", { timeout: 60_000 }, () => {
  it("a poll, a dice and a forwarded story in a private chat are answered, not silently dropped", async () => {
    const from = user(1, "Alice");
    const kinds = [
      { poll: { id: "p1", question: "Lunch?", options: [{ text: "pizza", voter_count: 0 }, { text: "sushi", voter_count: 0 }], type: "regular" } },
      { dice: { emoji: "🎲", value: 5 } },
      { story: { chat: alice, id: 7 } },
    ];
    e2e.telegram.registerChat(alice);
    for (const [i, kind] of kinds.entries()) {
      e2e.telegram.pushUpdate({ message: { message_id: 500 + i, chat: alice, from, date: now(), ...kind } });
    }
    await e2e.until(() => e2e.telegram.confirmedOffset() > e2e.telegram.updates().at(-1)!.update_id, "the updates to be admitted");
    await e2e.waitText(alice.id, /story/);
    const seen = e2e.model.requests.map(requestText).join("\n");
    expect(seen).toContain('[poll: \\"Lunch?\\" options: pizza / sushi]');
    expect(seen).toContain("[dice 🎲 rolled 5]");
    expect(seen).toContain("[a story (its content is not available to bots)]");
  });

  it("a group upgraded to a supergroup keeps its approval, its conversation and the reply being written", async () => {
    const first = await e2e.ask(group, `${BOT} remember the number 42`, { from: bob });
    expect(first).toContain("remember the number 42");
    const status = await e2e.ask(group, "/status", { from: bob });
    const conversation = /Conversation: (\S+)/.exec(status)![1];

    // The upgrade happens while a turn runs: its answer must reach the new chat, not be dropped.
    e2e.send(group, `${BOT} answer slowly`, bob);
    await e2e.untilTyping(group.id);
    e2e.telegram.migrateGroup(group, upgraded, bob);
    await e2e.waitText(upgraded.id, /answer slowly/);

    // No approval asked again, same conversation (history and workspace) under the new id.
    const after = await e2e.ask(upgraded, "/status", { from: bob });
    expect(after).toContain(`Conversation: ${conversation}`);
    expect(e2e.replies(upgraded.id).map((m) => m.text ?? "").join("\n")).not.toMatch(/waiting for approval/);
    expect(e2e.replies(alice.id).map((m) => m.text ?? "").join("\n")).not.toMatch(/asks for access|wants to use/i);
    await e2e.ask(upgraded, `${BOT} what number?`, { from: bob });
    expect(requestText(e2e.model.requests.at(-1)!)).toContain("remember the number 42");
  });

  it("a group upgraded in the middle of a multi-part reply gets only the parts it did not get yet", async () => {
    await e2e.ask(docs, `${BOT} hello`, { from: bob });
    // Telegram upgrades the group just as the reply's second part goes out: the old id refuses it.
    let parts = 0;
    e2e.telegram.setNemesis(({ method, params }) => {
      if (method === "sendMessage" && String(params["chat_id"]) === String(docs.id) && String(params["text"] ?? "").includes("PART-") && ++parts === 2) {
        e2e.telegram.migrateGroup(docs, docsUpgraded, bob);
      }
      return undefined;
    });
    try {
      e2e.send(docs, `${BOT} give me the long answer`, bob);
      await e2e.waitText(docsUpgraded.id, /PART-C/);
    } finally {
      e2e.telegram.setNemesis(undefined);
    }
    const tags = (chatId: number) => e2e.replies(chatId).flatMap((m) => (m.text ?? "").match(/PART-[ABC]/g) ?? []);
    // The history of the old group is the supergroup's: what it got stays, the rest follows, nothing twice.
    expect(tags(docs.id)).toEqual(["PART-A"]);
    expect(tags(docsUpgraded.id)).toEqual(["PART-B", "PART-C"]);
  });
});
