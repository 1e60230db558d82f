import type { ModelConfig, TranscriptMessage } from "@starling/protocol";
import type { ModelProvider } from "../providers/types.js";
import type { SessionStore } from "../store/session-store.js";
import { estimateTokens, heuristicEstimator, tokenEstimatorFor } from "../tokens/estimator.js";
import { compactionSplit, currentContext } from "./context-window.js";

export interface CompactionSettings {
  thresholdTokens: number;
  retainRecentTokens: number;
}

const SUMMARY_SYSTEM = [
  "You compress a conversation between a user and an AI agent into a summary that lets the agent carry on.",
  "Keep: the user's goals and preferences, decisions made, facts learned, files and paths touched, commands run and",
  "their outcomes, open tasks and next steps. Drop chit-chat. Write plain prose and short lists, no preamble.",
].join(" ");

/** Below this share of the threshold by the heuristic, the context is not tokenized at all (the tokenizer loads lazily). */
const PRECHECK_SHARE = 0.25;

/**
 * Whether the current context passes the threshold, counted by the model's estimator
 * (`tokenEstimatorFor(model)`; heuristic when no model is given). A context far below the
 * threshold by the cheap heuristic is not tokenized, so small sessions never load a tokenizer.
 */
export function needsCompaction(store: SessionStore, settings: CompactionSettings | null, model?: ModelConfig): boolean {
  if (!settings || settings.thresholdTokens <= 0) return false;
  const context = currentContext(store.messages, store.compaction);
  if (estimateTokens(context, heuristicEstimator) < settings.thresholdTokens * PRECHECK_SHARE) return false;
  const estimator = model ? tokenEstimatorFor(model) : heuristicEstimator;
  if (estimateTokens(context, estimator) <= settings.thresholdTokens) return false;
  return compactionSplit(context, settings.retainRecentTokens, estimator) > 0;
}

/**
 * Summarises the older part of the current context into one context message. The full log stays in
 * the store; only the compaction record (summary + first verbatim index) changes.
 */
export async function compact(
  store: SessionStore,
  provider: ModelProvider,
  settings: CompactionSettings,
  signal: AbortSignal,
): Promise<{ summarisedMessages: number; tokensBefore: number; tokensAfter: number } | null> {
  const estimator = tokenEstimatorFor(provider.config);
  const context = currentContext(store.messages, store.compaction);
  const split = compactionSplit(context, settings.retainRecentTokens, estimator);
  if (split <= 0) return null;
  const older = context.slice(0, split);
  const fromIndex = context[split]!.index;
  const instruction: TranscriptMessage = {
    index: fromIndex,
    role: "user",
    time: new Date().toISOString(),
    content: [{ type: "text", text: "Summarise the conversation above for your own later use, as instructed." }],
  };
  const response = await provider.complete(
    { system: SUMMARY_SYSTEM, messages: [...older, instruction], tools: [] },
    { signal },
  );
  const summary = response.content
    .filter((i) => i.type === "text")
    .map((i) => i.text)
    .join("\n")
    .trim();
  if (!summary) return null;
  const tokensBefore = estimateTokens(context, estimator);
  await store.commit("compaction", (tx) => {
    tx.setCompaction({ fromIndex, summary, summarisedMessages: older.length, at: new Date().toISOString() });
    const tokensAfter = estimateTokens(currentContext(store.messages, store.compaction), estimator);
    tx.emit({ type: "compacted", summarisedMessages: older.length, tokensBefore, tokensAfter });
  });
  return {
    summarisedMessages: older.length,
    tokensBefore,
    tokensAfter: estimateTokens(currentContext(store.messages, store.compaction), estimator),
  };
}
