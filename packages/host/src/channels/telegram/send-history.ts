import { HostKeys, type HostStore, type HostTransaction } from "../../state/host-store.js";
import type { SendBudget } from "./send-budget.js";

/**
 * Send-budget windows across a restart (ARCHITECTURE §8): a host restarted within Telegram's windows
 * (a crash loop, `systemctl restart`) would otherwise send a chat's next replies at once, on top of
 * the ones it just sent, and earn 429s. No write of its own: the chat's send times still inside its
 * longest window go into the batch that deletes a delivered outbox item (`outbox_sent`), and an
 * item whose attempt is recorded but not its delivery counts as sent at its attempt.
 */
interface SendTimesRecord {
  chatId: string;
  /** Milliseconds since the epoch, oldest first. */
  times: number[];
}

/** Stages the chat's recent send times in the batch of a delivered item. */
export function stageSendTimes(tx: HostTransaction, channelId: string, chatId: string, budget: SendBudget): void {
  const times = budget.sendTimes(chatId);
  if (times.length) tx.put(HostKeys.sendTimes(channelId, chatId), { chatId, times } satisfies SendTimesRecord);
}

/**
 * At start: counts the sends an earlier run of the host made, and deletes the records with no send left
 * in any of their chat's windows (a bot that replied once to many chats would otherwise keep and read
 * one record per chat forever). The delete is an unnamed commit, and a failed one is logged and does not fail the
 * start: a lost delete leaves only records the next start drops again.
 */
export async function restoreSendTimes(store: HostStore, channelId: string, budget: SendBudget, onPruneFailed?: (error: unknown) => void): Promise<void> {
  const expired: string[] = [];
  for (const record of store.list<SendTimesRecord>(HostKeys.sendTimes(channelId, ""))) {
    budget.restore(record.chatId, record.times);
    if (!budget.sendTimes(record.chatId).length) expired.push(HostKeys.sendTimes(channelId, record.chatId));
  }
  for (const item of store.outboundOf(channelId)) {
    if (item.attemptedAt) budget.restore(item.chatId, [Date.parse(item.attemptedAt)]);
  }
  if (expired.length) await store.commit(null, (tx) => expired.forEach((key) => tx.del(key))).catch((error: unknown) => onPruneFailed?.(error));
}
