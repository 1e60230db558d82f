import type { ChatMessage } from "@starling/protocol";
import { HostKeys, type HostStore, type HostTransaction } from "../state/host-store.js";
import { queueOutbound } from "../state/outbox.js";
import type { OutboundItem } from "../state/records.js";
import { MAX_QUOTES, quoteOf, refusalNotice, type Refusal } from "./inbound-limits.js";

/** The chat's refusal notice still waiting in the outbox, and what it names (key `refusal:<channel>:<chat>`). */
interface PendingRefusal {
  outboundSeq: number;
  kind: Refusal["kind"];
  quotes: string[];
  more: number;
}

const refusalKey = (channelId: string, chatId: string) => `refusal:${channelId}:${chatId}`;

/**
 * Queues the notice for a refused message inside the admission batch. While the chat's previous
 * notice of the same kind is still unsent, the message is added to it instead, so a flood gets one
 * notice naming every refused message rather than one send per message (Telegram allows about one
 * message a second per chat). The outbox sender re-reads an item when it starts sending it, so an
 * item changed here before that is sent as changed; once it is being sent a new notice is started.
 */
export function queueRefusalNotice(
  store: HostStore,
  tx: HostTransaction,
  target: { channelId: string; chatId: string; conversationId: string },
  refusal: Refusal,
  message: ChatMessage,
): void {
  const key = refusalKey(target.channelId, target.chatId);
  const quote = quoteOf(message);
  const pending = store.get<PendingRefusal>(key);
  const item = pending ? store.get<OutboundItem>(HostKeys.outbound(pending.outboundSeq)) : undefined;
  if (pending && item && !item.attemptedAt && pending.kind === refusal.kind) {
    const full = pending.quotes.length >= MAX_QUOTES;
    const next: PendingRefusal = { ...pending, quotes: full ? pending.quotes : [...pending.quotes, quote], more: pending.more + (full ? 1 : 0) };
    tx.put(HostKeys.outbound(item.seq), { ...item, payload: { kind: "text", text: refusalNotice(refusal, next.quotes, next.more) } });
    tx.put(key, next);
    return;
  }
  const created = queueOutbound(tx, target, { kind: "text", text: refusalNotice(refusal, [quote]) });
  tx.put(key, { outboundSeq: created.seq, kind: refusal.kind, quotes: [quote], more: 0 } satisfies PendingRefusal);
}
