import { HostKeys, type HostTransaction } from "./host-store.js";
import type { OutboundItem, OutboundPayload } from "./records.js";

/** Adds a message for a chat to the durable outbox inside `tx`; the channel's sender delivers it. */
export function queueOutbound(
  tx: HostTransaction,
  target: { channelId: string; chatId: string; conversationId: string },
  payload: OutboundPayload,
): OutboundItem {
  const item: OutboundItem = { seq: tx.next("outbound"), ...target, payload, createdAt: new Date().toISOString() };
  tx.put(HostKeys.outbound(item.seq), item);
  return item;
}
