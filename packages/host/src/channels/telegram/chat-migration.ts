import { HostKeys, type HostStore, type HostTransaction } from "../../state/host-store.js";
import type { ChatRecord, ConversationRecord, OutboundItem } from "../../state/records.js";
import type { ChatRef } from "../channel.js";
import { telegramCode, telegramDescription } from "./api-retry.js";
import { TelegramError } from "telegraf";

/**
 * A basic group upgraded to a supergroup gets a new chat id (ARCHITECTURE §8 "Groups and topics").
 * Telegram says so with a service message in each chat (`migrate_to_chat_id` in the old one,
 * `migrate_from_chat_id` in the new one) and answers any call naming the old id with 400 "group chat
 * was upgraded to a supergroup chat" and `parameters.migrate_to_chat_id`. The chat keeps what it had:
 * its approval, its conversation (session, workspace, settings) and the replies still in the outbox.
 */
export function migrateChat(tx: HostTransaction, store: HostStore, channelId: string, oldChatId: string, newChatId: string, title?: string): boolean {
  if (oldChatId === newChatId) return false;
  let changed = false;
  const before = store.chat(channelId, oldChatId);
  const after = store.chat(channelId, newChatId);
  // The old id remembers where the chat went: a command or update of it still waiting in its lane goes there.
  if (before && before.migratedTo !== newChatId) {
    tx.put(HostKeys.chat(channelId, oldChatId), { ...before, migratedTo: newChatId });
    changed = true;
  }
  // The approval follows (a chat already decided under its new id keeps that decision unless it is only pending).
  if (before && (!after || (after.access === "pending" && before.access !== "pending"))) {
    const { migratedTo: _from, ...kept } = before; // where the old id went is not the new chat's own
    const record: ChatRecord = { ...kept, chatId: newChatId, type: "supergroup", title: title || before.title, firstSeenAt: after?.firstSeenAt ?? before.firstSeenAt };
    tx.put(HostKeys.chat(channelId, newChatId), record);
    changed = true;
  }
  const conversation = store.conversationOfChat(channelId, oldChatId);
  if (conversation && !store.conversationOfChat(channelId, newChatId)) {
    const moved: ConversationRecord = { ...conversation, chatId: newChatId };
    tx.put(HostKeys.conversation(conversation.id), moved);
    tx.put(HostKeys.chatConversation(channelId, newChatId), conversation.id);
    tx.del(HostKeys.chatConversation(channelId, oldChatId));
    changed = true;
  }
  for (const item of store.outboundOf(channelId)) {
    if (item.chatId !== oldChatId) continue;
    const readdressed: OutboundItem = { ...item, chatId: newChatId };
    tx.put(HostKeys.outbound(item.seq), readdressed);
    changed = true;
  }
  return changed;
}

/** How many upgrades `migratedChat` follows (a group becomes a supergroup once; this only bounds a cycle in bad data). */
const MAX_HOPS = 4;

/**
 * The chat `chat` has become when it was a basic group upgraded since (`ChatRecord.migratedTo`), else `chat` itself.
 * A command or update of the old group still waiting in its lane when the upgrade came is answered in the supergroup,
 * whose conversation it is now.
 */
export function migratedChat(store: HostStore, chat: ChatRef): ChatRef {
  let chatId = chat.chatId;
  for (let hop = 0; hop < MAX_HOPS; hop++) {
    const next = store.chat(chat.channelId, chatId)?.migratedTo;
    if (next === undefined || next === chatId) break;
    chatId = next;
  }
  return chatId === chat.chatId ? chat : { ...chat, chatId, type: "supergroup" };
}

/** The supergroup a basic group became, when `err` is Telegram's "group chat was upgraded" answer. */
export function upgradedChatId(err: unknown): string | null {
  if (telegramCode(err) !== 400 || !telegramDescription(err).includes("upgraded to a supergroup")) return null;
  const to = err instanceof TelegramError ? err.parameters?.migrate_to_chat_id : undefined;
  return typeof to === "number" ? String(to) : null;
}
