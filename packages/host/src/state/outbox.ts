import { HostKeys, type HostTransaction } from "./host-store.js";
import type { OutboundItem, OutboundPayload } from "./records.js";
import { hostRedactor } from "../security/host-secrets.js";

/** Adds a message for a chat to the durable outbox inside `tx`; the channel's sender delivers it. */
export function queueOutbound(
  tx: HostTransaction,
  target: { channelId: string; chatId: string; conversationId: string },
  payload: OutboundPayload,
): OutboundItem {
  // Every reply, failure notice and error text to a chat passes here: no secret value leaves.
  const item: OutboundItem = { seq: tx.next("outbound"), ...target, payload: hostRedactor().redactDeep(payload), createdAt: new Date().toISOString() };
  tx.put(HostKeys.outbound(item.seq), item);
  return item;
}
