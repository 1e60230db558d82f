import type { TranscriptItem, TranscriptMessage } from "@starling/protocol";
import { headTail } from "../tools/bounded-text.js";
import type { TokenEstimator } from "../tokens/estimator.js";

/** A compaction makes at most this many summary calls, however long the history. */
export const MAX_SUMMARY_CALLS = 8;
/** Below this many tokens per message, messages are not clipped further: pieces are left out instead. */
const MIN_CLIP_TOKENS = 32;

export interface SummaryPlan {
  /** Consecutive parts of the history, each within the budget; a tool call and its results share a part. */
  pieces: TranscriptMessage[][];
  /** Messages too many to fit MAX_SUMMARY_CALLS pieces even clipped, left out of the summary (0 normally). */
  omitted: number;
}

/**
 * Splits the history to summarise into at most MAX_SUMMARY_CALLS pieces of at most `budget` tokens.
 * Messages longer than a piece (one huge tool result) are clipped to head and tail; when the history
 * needs more pieces than allowed, the longest messages are clipped further, and only as a last resort
 * the middle of the history is left out (the first piece, with the user's first asks, always stays).
 */
export function planSummary(messages: readonly TranscriptMessage[], budget: number, estimator: TokenEstimator): SummaryPlan {
  const groups = toolGroups(messages);
  let cap = Number.POSITIVE_INFINITY;
  for (;;) {
    const pieces = pack(groups, budget, cap, estimator);
    if (pieces.length <= MAX_SUMMARY_CALLS) return { pieces, omitted: 0 };
    if (cap <= MIN_CLIP_TOKENS) {
      const kept = [pieces[0]!, ...pieces.slice(pieces.length - (MAX_SUMMARY_CALLS - 1))];
      const omitted = pieces.slice(1, pieces.length - (MAX_SUMMARY_CALLS - 1)).reduce((n, p) => n + p.length, 0);
      return { pieces: kept, omitted };
    }
    cap = Math.max(MIN_CLIP_TOKENS, Math.floor((Number.isFinite(cap) ? cap : budget) / 2));
  }
}

/** A message together with the tool results that follow it: never split across pieces. */
function toolGroups(messages: readonly TranscriptMessage[]): TranscriptMessage[][] {
  const groups: TranscriptMessage[][] = [];
  for (const m of messages) {
    const last = groups.at(-1);
    if (m.role === "tool" && last) last.push(m);
    else groups.push([m]);
  }
  return groups;
}

function pack(groups: readonly TranscriptMessage[][], budget: number, cap: number, estimator: TokenEstimator): TranscriptMessage[][] {
  const pieces: TranscriptMessage[][] = [];
  let current: TranscriptMessage[] = [];
  let used = 0;
  for (const group of groups) {
    const perMessage = Math.min(cap, Math.floor(budget / group.length));
    const fitted = group.map((m) => (estimator.messageTokens(m) > perMessage ? clipMessage(m, perMessage, estimator) : m));
    const tokens = fitted.reduce((n, m) => n + estimator.messageTokens(m), 0);
    if (current.length && used + tokens > budget) {
      pieces.push(current);
      current = [];
      used = 0;
    }
    current.push(...fitted);
    used += tokens;
  }
  if (current.length) pieces.push(current);
  return pieces;
}

/** The message with its texts and tool results cut to head and tail so it takes about `maxTokens`. */
export function clipMessage(message: TranscriptMessage, maxTokens: number, estimator: TokenEstimator): TranscriptMessage {
  let clipped = message;
  // Characters per token vary (code, other scripts): shrink until the count agrees, a few rounds at most.
  for (let round = 0; round < 4 && estimator.messageTokens(clipped) > maxTokens; round++) {
    const share = Math.max(0, maxTokens - 8) / estimator.messageTokens(clipped);
    clipped = { ...clipped, content: clipped.content.map((item) => clipItem(item, share)) };
  }
  return clipped;
}

function clipItem(item: TranscriptItem, share: number): TranscriptItem {
  const cut = (text: string) => headTail(text, Math.floor(text.length * share), (n) => `[... ${n} characters left out of this summary request ...]`).text;
  if (item.type === "text") return { ...item, text: cut(item.text) };
  if (item.type === "tool_result") return { ...item, content: cut(item.content) };
  // Still a JSON object, which every wire format takes as arguments.
  if (item.type === "tool_call") return { ...item, arguments: JSON.stringify({ clipped_arguments: cut(item.arguments) }) };
  return item;
}
