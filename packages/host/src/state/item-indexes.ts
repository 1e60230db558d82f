import type { InboundItem, OutboundItem } from "./records.js";

/** Keys of the durable `inbound:` items by session (`deliver()` wakes only the admitted session). */
export class InboundIndex {
  private readonly bySession = new Map<string, Set<string>>();

  /** Keeps the index in step with a durable change of an `inbound:` key (value undefined: deleted). */
  change(key: string, before: InboundItem | undefined, after: InboundItem | undefined): void {
    if (before?.sessionId === after?.sessionId) return;
    if (before) {
      const keys = this.bySession.get(before.sessionId);
      keys?.delete(key);
      if (keys?.size === 0) this.bySession.delete(before.sessionId);
    }
    if (after) {
      let keys = this.bySession.get(after.sessionId);
      if (!keys) this.bySession.set(after.sessionId, (keys = new Set()));
      keys.add(key);
    }
  }

  /** Keys of a session's items in seq (key) order. */
  keysOf(sessionId: string): string[] {
    return [...(this.bySession.get(sessionId) ?? [])].sort();
  }

  sessions(): string[] {
    return [...this.bySession.keys()];
  }
}

/**
 * Keys of the durable `outbound:` items by channel and chat, each chat's keys in seq (key) order. A
 * channel's sender asks for its chats and each chat's next item on every wake and after every send;
 * with this index that touches the chat's own items instead of listing and filtering the whole outbox.
 * A chat is dropped when its last item goes, so a channel's chats come in the order their oldest
 * pending item arrived (roughly: the oldest waiting chat first).
 */
export class OutboundIndex {
  private readonly byChannel = new Map<string, Map<string, string[]>>();

  /** Keeps the index in step with a durable change of an `outbound:` key (value undefined: deleted). */
  change(key: string, before: OutboundItem | undefined, after: OutboundItem | undefined): void {
    if (before && (!after || before.channelId !== after.channelId || before.chatId !== after.chatId)) this.remove(key, before);
    if (after && (!before || before.channelId !== after.channelId || before.chatId !== after.chatId)) this.add(key, after);
  }

  /** Chats of a channel that have items, oldest pending chat first. */
  chats(channelId: string): string[] {
    return [...(this.byChannel.get(channelId)?.keys() ?? [])];
  }

  /** The key of a chat's oldest item. */
  firstKey(channelId: string, chatId: string): string | undefined {
    return this.byChannel.get(channelId)?.get(chatId)?.[0];
  }

  /** Keys of every item of a channel, in seq order. */
  keysOfChannel(channelId: string): string[] {
    const chats = this.byChannel.get(channelId);
    if (!chats) return [];
    return [...chats.values()].flat().sort();
  }

  private add(key: string, item: OutboundItem): void {
    let chats = this.byChannel.get(item.channelId);
    if (!chats) this.byChannel.set(item.channelId, (chats = new Map()));
    let keys = chats.get(item.chatId);
    if (!keys) chats.set(item.chatId, (keys = []));
    // Seqs are handed out in order, so a new key nearly always goes last; concurrent commits may land out of order.
    let at = keys.length;
    while (at > 0 && keys[at - 1]! > key) at--;
    if (keys[at - 1] !== key) keys.splice(at, 0, key);
  }

  private remove(key: string, item: OutboundItem): void {
    const chats = this.byChannel.get(item.channelId);
    const keys = chats?.get(item.chatId);
    if (!chats || !keys) return;
    const at = keys.indexOf(key);
    if (at >= 0) keys.splice(at, 1);
    if (keys.length) return;
    chats.delete(item.chatId);
    if (!chats.size) this.byChannel.delete(item.channelId);
  }
}
