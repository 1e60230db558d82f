import type { ChatMessage } from "@starling/protocol";
import type { HostStore, HostTransaction } from "../state/host-store.js";

/**
 * Group messages that did not address the bot (ARCHITECTURE §8, `group_trigger: "mention"`): admitted
 * durably like every message, kept per conversation, and given to the model in front of the next
 * message that does address it. At most GROUP_CONTEXT_MAX are kept; older ones are dropped and
 * counted, and the model is told how many it did not see.
 */
export const GROUP_CONTEXT_MAX = 50;

const pad = (n: number) => String(n).padStart(12, "0");
const itemKey = (conversationId: string, seq: number) => `groupctx:${conversationId}:${pad(seq)}`;
const droppedKey = (conversationId: string) => `groupctx-dropped:${conversationId}`;

interface ContextItem {
  seq: number;
  message: ChatMessage;
}

/** Stores an untriggered group message inside the admission batch `tx`. */
export function keepAsContext(store: HostStore, tx: HostTransaction, conversationId: string, message: ChatMessage): void {
  const kept = store.list<ContextItem>(`groupctx:${conversationId}:`);
  const excess = kept.length - GROUP_CONTEXT_MAX + 1;
  if (excess > 0) {
    for (const old of kept.slice(0, excess)) tx.del(itemKey(conversationId, old.seq));
    tx.put(droppedKey(conversationId), (store.get<number>(droppedKey(conversationId)) ?? 0) + excess);
  }
  const seq = tx.next("groupctx");
  tx.put(itemKey(conversationId, seq), { seq, message } satisfies ContextItem);
}

/** The triggered message with the kept context in front of it; the context is consumed in `tx`. */
export function withGroupContext(store: HostStore, tx: HostTransaction, conversationId: string, message: ChatMessage): ChatMessage {
  const kept = store.list<ContextItem>(`groupctx:${conversationId}:`);
  if (!kept.length || message.role !== "user") return message;
  const dropped = store.get<number>(droppedKey(conversationId)) ?? 0;
  for (const item of kept) tx.del(itemKey(conversationId, item.seq));
  if (dropped) tx.del(droppedKey(conversationId));
  const lines = kept.map(({ message: m }) => `[${shortTime(m.time)}] ${m.userName ?? "someone"}: ${textOf(m)}`);
  const header = `Earlier in this group (not addressed to you)${dropped ? `; ${dropped} older message${dropped === 1 ? "" : "s"} not shown` : ""}:`;
  const context = { type: "text" as const, text: `${header}\n${lines.join("\n")}\n\nThe message for you:` };
  return { ...message, content: [context, ...message.content] };
}

function textOf(message: ChatMessage): string {
  const parts = message.content.map((item) => (item.type === "text" ? item.text : `[${item.type}]`));
  return parts.join(" ").replace(/\s+/g, " ").trim() || "(no text)";
}

function shortTime(iso: string | undefined): string {
  return iso ? iso.slice(0, 16).replace("T", " ") : "?";
}
