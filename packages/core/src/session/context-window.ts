import type { TranscriptItem, TranscriptMessage } from "@starling/protocol";
import type { CompactionRecord } from "../store/records.js";

/**
 * Token estimate: about 4 characters per token over every text, tool argument and tool result, plus
 * 4 tokens of framing per message and a flat 256 per file item (images/PDFs are sized by the provider,
 * not by their bytes). Deliberately simple and tokenizer-free; it only decides when to compact.
 */
export const CHARS_PER_TOKEN = 4;
const MESSAGE_OVERHEAD = 4;
const FILE_TOKENS = 256;

export function itemTokens(item: TranscriptItem): number {
  switch (item.type) {
    case "text":
      return Math.ceil(item.text.length / CHARS_PER_TOKEN);
    case "file":
      return FILE_TOKENS;
    case "tool_call":
      return Math.ceil((item.name.length + item.arguments.length) / CHARS_PER_TOKEN);
    case "tool_result":
      return Math.ceil(item.content.length / CHARS_PER_TOKEN);
  }
}

export function messageTokens(message: TranscriptMessage): number {
  return MESSAGE_OVERHEAD + message.content.reduce((sum, item) => sum + itemTokens(item), 0);
}

export function estimateTokens(messages: readonly TranscriptMessage[]): number {
  return messages.reduce((sum, m) => sum + messageTokens(m), 0);
}

export function summaryMessage(record: CompactionRecord): TranscriptMessage {
  return {
    index: record.fromIndex,
    role: "context",
    time: record.at,
    content: [{ type: "text", text: record.summary }],
  };
}

/** What the model sees now: the latest compaction summary (if any) followed by the newer messages. */
export function currentContext(
  messages: readonly TranscriptMessage[],
  compaction: CompactionRecord | null,
): TranscriptMessage[] {
  if (!compaction) return [...messages];
  return [summaryMessage(compaction), ...messages.slice(compaction.fromIndex)];
}

/**
 * Where to cut the current messages so that about `retainTokens` of the newest stay verbatim. The cut
 * never lands on a tool result, so a tool call and its results always stay on the same side.
 * Returns an index into `messages` (0 = nothing to summarise).
 */
export function compactionSplit(messages: readonly TranscriptMessage[], retainTokens: number): number {
  let kept = 0;
  let split = messages.length;
  while (split > 0 && kept < retainTokens) {
    split--;
    kept += messageTokens(messages[split]!);
  }
  while (split > 0 && messages[split]?.role === "tool") split--;
  // Keep at least the last message verbatim, and never summarise a lone context message.
  if (split >= messages.length) split = Math.max(0, messages.length - 1);
  while (split > 0 && messages[split]?.role === "tool") split--;
  if (split === 1 && messages[0]?.role === "context") return 0;
  return split;
}
