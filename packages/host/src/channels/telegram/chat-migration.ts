import { HostKeys, type HostStore, type HostTransaction } from "../../state/host-store.js";
import type { ChatRecord, ConversationRecord, OutboundItem } from "../../state/records.js";
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
  // The approval follows (a chat already decided under its new id keeps that decision unless it is only pending).
  if (before && (!after || (after.access === "pending" && before.access !== "pending"))) {
    const record: ChatRecord = { ...before, chatId: newChatId, type: "supergroup", title: title || before.title, firstSeenAt: after?.firstSeenAt ?? before.firstSeenAt };
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

/** The supergroup a basic group became, when `err` is Telegram's "group chat was upgraded" answer. */
export function upgradedChatId(err: unknown): string | null {
  if (telegramCode(err) !== 400 || !telegramDescription(err).includes("upgraded to a supergroup")) return null;
  const to = err instanceof TelegramError ? err.parameters?.migrate_to_chat_id : undefined;
  return typeof to === "number" ? String(to) : null;
}
