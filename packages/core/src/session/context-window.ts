import type { TranscriptMessage } from "@starling/protocol";
import { heuristicEstimator, type TokenEstimator } from "../tokens/estimator.js";
import type { CompactionRecord } from "../store/records.js";

// Token counting lives in tokens/estimator.ts (heuristic or the model's tokenizer).
export { CHARS_PER_TOKEN, estimateTokens } from "../tokens/estimator.js";

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
export function compactionSplit(
  messages: readonly TranscriptMessage[],
  retainTokens: number,
  estimator: TokenEstimator = heuristicEstimator,
): number {
  let kept = 0;
  let split = messages.length;
  while (split > 0 && kept < retainTokens) {
    split--;
    kept += estimator.messageTokens(messages[split]!);
  }
  while (split > 0 && messages[split]?.role === "tool") split--;
  // Keep at least the last message verbatim, and never summarise a lone context message.
  if (split >= messages.length) split = Math.max(0, messages.length - 1);
  while (split > 0 && messages[split]?.role === "tool") split--;
  if (split === 1 && messages[0]?.role === "context") return 0;
  return split;
}
