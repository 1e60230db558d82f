import { estimateTokens } from "../tokens/estimator.js";
import { compact, compactionPlan, type RequestFrame } from "./compaction.js";
import { classifyFailure } from "./model-step.js";
import type { SessionDeps } from "./session-deps.js";
import { WorkerStopping } from "../tools/errors.js";

/** One compaction the host asked for: how to stop it, and its end (a shutdown waits for its outcome to be stored). */
export class CompactionRun {
  readonly stop = new AbortController();
  done: Promise<void> = Promise.resolve();
}

/** The abort reason of a /cancel (a shutdown aborts with WorkerStopping). */
export const COMPACTION_CANCELLED = "cancelled by /cancel";

/**
 * A compaction the host asked for (`session/compact`, the chat's /compact), run while the session rests: the same
 * summary as a turn's compaction, keeping the configured recent tokens verbatim (or what the model's window leaves
 * room for), whatever the threshold. Its outcome is a durable `manual_compaction` event, written at the
 * `compaction` point (with the summary when there is one): compacted, skipped (nothing left to summarise) or failed
 * (the summary request failed, or the worker was stopped first: the history is unchanged). Stopped by /cancel:
 * nothing is written, and the cancel's answer says so.
 */
export async function compactNow(deps: SessionDeps, frame: RequestFrame, signal: AbortSignal): Promise<void> {
  const retain = deps.compression?.retainRecentTokens ?? null;
  const plan = compactionPlan(deps.store, deps.provider, retain, frame, deps.window, deps.refusedUrls);
  const tokens = estimateTokens(plan.context, plan.estimator);
  const notDone = async (outcome: "skipped" | "failed", reason: string): Promise<void> => {
    await deps.store.commit("compaction", (tx) => tx.emit({ type: "manual_compaction", outcome, summarisedMessages: 0, tokensBefore: tokens, tokensAfter: tokens, reason }));
  };
  if (plan.split <= 0) return notDone("skipped", shortHistory(tokens));
  let result: Awaited<ReturnType<typeof compact>>;
  try {
    result = await compact(deps.store, deps.provider, retain, signal, frame, deps.window, deps.tools.openFile?.bind(deps.tools), deps.refusedUrls, true);
  } catch (err) {
    if (signal.aborted) {
      if (!(signal.reason instanceof WorkerStopping)) return; // /cancel: its answer says it stopped
      return notDone("failed", "the session's worker was stopped before it finished (a changed setting, /new or the host stopping); send /compact again");
    }
    const { error } = classifyFailure(err);
    deps.log.warn({ err: String(err) }, "a compaction the host asked for failed; the history is unchanged");
    return notDone("failed", `the summary request failed (${error.kind}): ${error.message}`);
  }
  if (!result) return notDone("failed", "the model returned an empty summary");
}

/** What the next model call sends besides the messages. */
export const requestFrame = (deps: SessionDeps): RequestFrame => ({ system: deps.systemPrompt(), tools: deps.tools.catalog() });

const shortHistory = (tokens: number): string => `the history is short (≈${tokens} tokens): all of it is what a compaction keeps verbatim`;

/**
 * Why a compaction asked for now would summarise nothing (null: it would). `session/compact` refuses such a request
 * in its answer, so the chat is not told "compacting" and then "nothing compacted".
 */
export function nothingToCompact(deps: SessionDeps): string | null {
  const plan = compactionPlan(deps.store, deps.provider, deps.compression?.retainRecentTokens ?? null, requestFrame(deps), deps.window, deps.refusedUrls);
  return plan.split > 0 ? null : shortHistory(estimateTokens(plan.context, plan.estimator));
}
