import type { ModelConfig, TranscriptMessage } from "@starling/protocol";
import type { FileOpener } from "../media/media-bytes.js";
import { normalizeMessages } from "../media/normalize.js";
import { isContextOverflow, statedContextWindow, type ModelProvider } from "../providers/types.js";
import type { SessionStore } from "../store/session-store.js";
import { estimateTokens, heuristicEstimatorFor, tokenEstimatorFor, type TokenEstimator } from "../tokens/estimator.js";
import { fixedRequestTokens } from "../tokens/request-tokens.js";
import type { ToolSchema } from "../tools/types.js";
import type { ContextWindowMemory } from "./context-window-memory.js";
import type { RefusedUrlMemory } from "./refused-url-memory.js";
import { compactionSplit, currentContext, summaryMessage } from "./context-window.js";
import { MAX_SUMMARY_CALLS, planSummary } from "./summary-pieces.js";
import { toolItemsAsText } from "../providers/tool-text.js";

export interface CompactionSettings {
  thresholdTokens: number;
  retainRecentTokens: number;
}

/** What every model call sends besides the messages. */
export interface RequestFrame {
  system: string;
  tools: readonly ToolSchema[];
}

const SUMMARY_SYSTEM = [
  "You compress a conversation between a user and an AI agent into a summary that lets the agent carry on.",
  "Keep: the user's goals and preferences, decisions made, facts learned, files and paths touched, commands run and",
  "their outcomes, open tasks and next steps. Drop chit-chat. Write plain prose and short lists, no preamble.",
  "A long conversation comes in parts: then the summary of the parts before comes first; fold it into your summary.",
].join(" ");

/**
 * Share of `token_max_context` a request (system prompt, tool definitions, messages) may fill before
 * the history is compacted: the rest is room for the answer and for the estimate's error.
 */
export const WINDOW_SHARE = 0.85;
/** Room kept in a summary request for the summary carried from the previous piece (and in the window for the new one). */
const SUMMARY_ROOM = 4_096;
/** Below this share of the threshold by the heuristic, the context is not tokenized at all (the tokenizer loads lazily). */
const PRECHECK_SHARE = 0.25;
/** The same for the window, counted with the system prompt and tools: the heuristic is off by far less than half. */
const WINDOW_PRECHECK_SHARE = 0.5;

/**
 * The most tokens a request to this model may carry before compacting, or null when its window is not
 * known: `token_max_context`, else the window a refusal stated (`statedWindow`, statedContextWindow).
 */
export function requestLimit(model: ModelConfig, statedWindow: number | null = null): number | null {
  const window = model.token_max_context ?? statedWindow;
  return window ? Math.floor(window * WINDOW_SHARE) : null;
}

/**
 * Tokens of recent history kept verbatim: `retainTokens` (null: a quarter of the room), and never more
 * than the window leaves next to the system prompt, the tools and a summary.
 */
function retainedTokens(retainTokens: number | null, limit: number | null, fixed: number): number {
  if (limit === null) return retainTokens ?? 0;
  const room = Math.max(0, limit - fixed - SUMMARY_ROOM);
  return Math.min(retainTokens ?? Math.floor(room / 4), room);
}

/**
 * Whether the history must be compacted before the next model call: its messages pass the configured
 * threshold, or the whole request (system prompt + tool definitions + messages) passes WINDOW_SHARE of
 * the model's `token_max_context`. Counted by the model's estimator; a context far below both by the
 * cheap heuristic is not tokenized, so small sessions never load a tokenizer.
 */
export function needsCompaction(
  store: SessionStore,
  settings: CompactionSettings | null,
  model: ModelConfig,
  frame: RequestFrame,
  statedWindow: number | null = null,
): boolean {
  const threshold = settings && settings.thresholdTokens > 0 ? settings.thresholdTokens : null;
  const limit = requestLimit(model, statedWindow);
  if (threshold === null && limit === null) return false;
  const context = currentContext(store.messages, store.compaction);
  const heuristic = heuristicEstimatorFor(model);
  const cheap = estimateTokens(context, heuristic);
  const nearThreshold = threshold !== null && cheap >= threshold * PRECHECK_SHARE;
  const nearWindow = limit !== null && cheap + fixedRequestTokens(heuristic, frame.system, frame.tools) >= limit * WINDOW_PRECHECK_SHARE;
  if (!nearThreshold && !nearWindow) return false;
  const estimator = tokenEstimatorFor(model);
  const messages = estimateTokens(context, estimator);
  const fixed = limit === null ? 0 : fixedRequestTokens(estimator, frame.system, frame.tools);
  const over = (threshold !== null && messages > threshold) || (limit !== null && messages + fixed > limit);
  if (!over) return false;
  return compactionSplit(context, retainedTokens(settings?.retainRecentTokens ?? null, limit, fixed), estimator) > 0;
}

/**
 * Summarises the older part of the current context into one context message, keeping about
 * `retainTokens` of the newest verbatim (null: what the model's window leaves room for). A history
 * whose summary request would not fit the window is summarised in pieces, each with the summary of
 * the ones before (at most MAX_SUMMARY_CALLS calls). Nothing is stored until the final summary is:
 * the full log stays, and only the compaction record (summary + first verbatim index) changes, in
 * one commit, with the context window a refusal stated (`learned`), so a restarted worker knows it.
 * `open` opens the context's file:// paths, as for a model call (SessionDeps.openFile). Files given by
 * URL the provider refused (`refused`) are summarised as their notes, and stored in the same commit.
 */
export async function compact(
  store: SessionStore,
  provider: ModelProvider,
  retainTokens: number | null,
  signal: AbortSignal,
  frame: RequestFrame,
  learned: ContextWindowMemory | null = null,
  open?: FileOpener,
  refused: RefusedUrlMemory | null = null,
  manual = false,
): Promise<{ summarisedMessages: number; tokensBefore: number; tokensAfter: number } | null> {
  const { context, split, estimator, limit } = compactionPlan(store, provider, retainTokens, frame, learned, refused);
  if (split <= 0) return null;
  const older = context.slice(0, split);
  const fromIndex = context[split]!.index;
  const summary = await summarise(older, provider, estimator, limit, signal, open);
  if (!summary) return null;
  // Stopped while the summary came back: nothing is stored (a /cancel was told the compaction stopped).
  signal.throwIfAborted();
  const tokensBefore = estimateTokens(context, estimator);
  await store.commit("compaction", (tx) => {
    tx.setCompaction({ fromIndex, summary, summarisedMessages: older.length, at: new Date().toISOString() });
    learned?.keep(tx);
    refused?.keep(tx);
    const tokensAfter = estimateTokens(currentContext(store.messages, store.compaction), estimator);
    const counts = { summarisedMessages: older.length, tokensBefore, tokensAfter };
    // A compaction the host asked for is told to the chat (durable); one a turn needed is not.
    tx.emit(manual ? { type: "manual_compaction", outcome: "compacted", ...counts } : { type: "compacted", ...counts });
  });
  return {
    summarisedMessages: older.length,
    tokensBefore,
    tokensAfter: estimateTokens(currentContext(store.messages, store.compaction), estimator),
  };
}

/**
 * What a compaction would summarise: the current context (with refused URLs as their notes), and how many of its
 * oldest messages go into the summary (0: too short, everything is kept verbatim), by the model's estimator.
 */
export function compactionPlan(
  store: SessionStore,
  provider: ModelProvider,
  retainTokens: number | null,
  frame: RequestFrame,
  learned: ContextWindowMemory | null = null,
  refused: RefusedUrlMemory | null = null,
): { context: TranscriptMessage[]; split: number; estimator: TokenEstimator; limit: number | null } {
  const estimator = tokenEstimatorFor(provider.config);
  const limit = requestLimit(provider.config, learned?.window ?? null);
  const fixed = limit === null ? 0 : fixedRequestTokens(estimator, frame.system, frame.tools);
  const current = currentContext(store.messages, store.compaction);
  const context = refused ? refused.apply(current) : current;
  return { context, split: compactionSplit(context, retainedTokens(retainTokens, limit, fixed), estimator), estimator, limit };
}

/**
 * The summary of `older`, in as few calls as fit: one request when it fits `limit` (or no window is
 * known), else pieces. A piece the provider still refuses as too long (the estimate is only an
 * estimate; an unknown window) makes the pieces fit the window the refusal states, or half as big when it
 * states none (or pieces of that size were refused already), within MAX_SUMMARY_CALLS calls in all. Each
 * request carries no tools, so its piece's tool calls and results go as text (toolItemsAsText), and
 * its files normalised for the model as in any model call.
 */
async function summarise(
  older: TranscriptMessage[],
  provider: ModelProvider,
  estimator: TokenEstimator,
  limit: number | null,
  signal: AbortSignal,
  open: FileOpener | undefined,
): Promise<string | null> {
  const frame = estimator.textTokens(SUMMARY_SYSTEM) + estimator.messageTokens(instruction(older.at(-1)!.index, 0));
  const whole = frame + estimateTokens(older, estimator);
  const budgetFor = (limit: number) => Math.max(SUMMARY_ROOM, limit - frame - Math.min(SUMMARY_ROOM, Math.floor(limit / 4)));
  let budget = limit === null ? whole : budgetFor(limit);
  let calls = 0;
  for (;;) {
    const plan = planSummary(older, budget, estimator);
    if (calls + plan.pieces.length > MAX_SUMMARY_CALLS) throw new Error(`summarising would take more than ${MAX_SUMMARY_CALLS} model calls`);
    let summary: string | null = null;
    try {
      for (const piece of plan.pieces) {
        calls++;
        const first = piece[0]!.index;
        const carried = summary === null ? [] : [summaryMessage({ fromIndex: first, summary, summarisedMessages: 0, at: new Date().toISOString() })];
        const omittedNote = plan.omitted && summary !== null && piece === plan.pieces[1] ? plan.omitted : 0;
        const messages = [...carried, ...toolItemsAsText(piece), instruction(piece.at(-1)!.index + 1, omittedNote)];
        const response = await provider.complete({ system: SUMMARY_SYSTEM, messages: await normalizeMessages(provider.config, messages, open), tools: [] }, { signal });
        summary = response.content
          .filter((i) => i.type === "text")
          .map((i) => i.text)
          .join("\n")
          .trim();
        if (!summary) return null;
      }
      return summary;
    } catch (err) {
      if (!isContextOverflow(err) || budget <= SUMMARY_ROOM / 4) throw err;
      // Refused as too long: smaller pieces, from the start (a partial summary is never stored).
      const halved = Math.floor(Math.min(budget, whole) / 2);
      const stated = statedContextWindow(err);
      const fitted = stated === null ? null : budgetFor(Math.floor(stated * WINDOW_SHARE));
      budget = fitted !== null && fitted < budget ? fitted : halved;
    }
  }
}

function instruction(index: number, omitted: number): TranscriptMessage {
  const gap = omitted ? ` (${omitted} messages before this part were too many to include and are left out.)` : "";
  return {
    index,
    role: "user",
    time: new Date().toISOString(),
    content: [{ type: "text", text: `Summarise the conversation above for your own later use, as instructed.${gap}` }],
  };
}
