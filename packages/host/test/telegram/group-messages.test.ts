import { describe, expect, it } from "vitest";
import { addressesBot, chatRef, type TelegramMessage } from "../../src/channels/telegram/telegram-message.js";

// Scope: which group messages address the bot, and which messages belong to a forum topic.

const bot = { id: 999, username: "starling_test_bot" };
const from = { id: 1, is_bot: false, first_name: "Bob" };
const message = (extra: Partial<TelegramMessage>): TelegramMessage => ({ message_id: 5, date: 0, chat: { id: -100, type: "supergroup", title: "T" }, from, ...extra });

describe("addressesBot", () => {
  it("accepts an @mention of this bot (any case), a text mention of its user and a reply to it", () => {
    expect(addressesBot(message({ text: "hey @Starling_Test_Bot look", entities: [{ type: "mention", offset: 4, length: 18 }] }), bot)).toBe(true);
    expect(addressesBot(message({ text: "Starling look", entities: [{ type: "text_mention", offset: 0, length: 8, user: { id: 999, is_bot: true, first_name: "S" } }] }), bot)).toBe(true);
    expect(addressesBot(message({ text: "thanks", reply_to_message: message({ from: { id: 999, is_bot: true, first_name: "S" } }) }), bot)).toBe(true);
    expect(addressesBot(message({ caption: "@starling_test_bot what is this", caption_entities: [{ type: "mention", offset: 0, length: 18 }] }), bot)).toBe(true);
  });

  it("rejects other mentions, replies to people and plain chatter", () => {
    expect(addressesBot(message({ text: "@other_bot hi", entities: [{ type: "mention", offset: 0, length: 10 }] }), bot)).toBe(false);
    expect(addressesBot(message({ text: "me too", reply_to_message: message({ from }) }), bot)).toBe(false);
    expect(addressesBot(message({ text: "mail starling_test_bot@example.com" }), bot)).toBe(false);
    expect(addressesBot(message({ text: "lunch?" }), bot)).toBe(false);
  });
});

describe("forum topics", () => {
  it("makes a topic message its own conversation key, but not a reply thread of an ordinary supergroup", () => {
    const forum = { id: -100, type: "supergroup", title: "F", is_forum: true };
    expect(chatRef("tg", message({ chat: forum, message_thread_id: 11, is_topic_message: true })).threadId).toBe(11);
    expect(chatRef("tg", message({ chat: forum })).threadId).toBeUndefined(); // General topic
    expect(chatRef("tg", message({ message_thread_id: 4 })).threadId).toBeUndefined();
  });
});
