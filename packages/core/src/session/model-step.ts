import type { ToolCallItem, TranscriptItem, TranscriptMessage } from "@starling/protocol";
import { saveModelImages } from "../media/model-images.js";
import { normalizeMessages } from "../media/normalize.js";
import { refusedUrlMedia } from "../media/refused-url-media.js";
import { isContextOverflow, ProviderError, replyCutBy } from "../providers/types.js";
import type { TurnRecord } from "../store/records.js";
import { currentContext } from "./context-window.js";
import type { SessionDeps, TurnFailure } from "./session-deps.js";
import type { TurnControl } from "./turn-control.js";
import { answerImageStamp, withTurnImages } from "./turn-images.js";

export type ModelStepOutcome = { kind: "tools"; turn: TurnRecord } | { kind: "final"; turn: TurnRecord };

/**
 * One model call of a turn. The answer is stored before anything acts on it: an answer with tool calls
 * is journaled (`model_answer`) before the batch runs; a final answer closes the turn (`turn_end`).
 */
export async function runModelStep(deps: SessionDeps, turn: TurnRecord, control: TurnControl): Promise<ModelStepOutcome> {
  const next: TurnRecord = { ...turn, steps: turn.steps + 1 };
  // `turn_started` stands for the turn's first model call: it is announced only after something else was (compaction, tools).
  if (next.steps > 1 || control.otherPhaseShown) {
    void deps.store.emitEphemeral({ type: "progress", turnId: turn.turnId, phase: "calling_model", step: next.steps });
  }
  // The tool servers were prepared just before (session machine, `preparing`): the catalog is the one the window check counted.
  let messages: TranscriptMessage[] = [];
  const call = async () => {
    // Media normalisation (images fitted, PDFs/audio inlined or turned into text) for this model.
    messages = await normalizeMessages(deps.provider.config, deps.refusedUrls.apply(currentContext(deps.store.messages, deps.store.compaction)), deps.tools.openFile?.bind(deps.tools));
    return deps.provider.complete(
      { system: deps.systemPrompt(), messages, tools: deps.tools.catalog() },
      {
        signal: control.modelSignal,
        onDelta: deps.streamDeltas
          ? (text) => void deps.store.emitEphemeral({ type: "assistant_delta", turnId: turn.turnId, text })
          : undefined,
        onRetry: (n) =>
          void deps.store.emitEphemeral({
            type: "progress",
            turnId: turn.turnId,
            phase: "retrying",
            text: `${n.error.kind}: retry ${n.attempt} in ${Math.round(n.delayMs / 1000)}s`,
          }),
      },
    );
  };
  const response = await call().catch(async (err: unknown) => {
    // A file given by URL the provider refused (fetched by it, so its size and pages are known only there)
    // would be refused on every later call: it becomes a note, from this call on, and the call is made once more.
    const refused = control.stopped ? null : refusedUrlMedia(err, messages);
    if (!refused) throw err;
    deps.refusedUrls.refused(refused);
    deps.log.warn({ err: String(err), url: refused.url }, "the model's provider refused a file given by URL; sending a note instead and retrying");
    return call();
  });
  // An answer that arrives after a stop is dropped: the turn is ending and must not act on it.
  if (control.stopped) throw new ProviderError("aborted", "turn stopped while the model answered");
  // Images the model returned are files in the workspace before the answer that names them is stored.
  // The first call of a continue may retry an answer cut short after its images were saved (a fresh turn's
  // first call cannot: its answers are named for its own start), so only then is `generated/` looked through.
  const saved = await saveModelImages(response.content, deps.workspace, answerImageStamp(turn, deps.store.messages), { retried: next.steps === 1 && turn.resumed === true });
  const content = withCallIds(saved, turn.turnId, next.steps, idsInTurn(deps));
  if (content.some((i) => i.type === "tool_call")) {
    await deps.journal.recordToolRequest(next, content, response.usage);
    return { kind: "tools", turn: next };
  }
  // Images saved by the turn's earlier answers (with tool calls) reach the chat with this one.
  const finalContent = withTurnImages(content.length ? content : [{ type: "text", text: "" }], deps.store.messages, turn);
  await deps.journal.completeTurn(next, finalContent, response.usage, replyCutBy(response.finishReason));
  return { kind: "final", turn: next };
}

/** Every tool call needs a unique id to pair with its result; some servers omit or repeat them. */
function withCallIds(content: TranscriptItem[], turnId: number, step: number, seen: Set<string>): TranscriptItem[] {
  return content.map((item, i): TranscriptItem => {
    if (item.type !== "tool_call") return item;
    const call: ToolCallItem = item.id && !seen.has(item.id) ? item : { ...item, id: `call_${turnId}_${step}_${i}` };
    seen.add(call.id);
    return call;
  });
}

/** Tool-call ids already used since the last user message (ids must be unique to pair results). */
function idsInTurn(deps: SessionDeps): Set<string> {
  const ids = new Set<string>();
  const messages = deps.store.messages;
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i]!;
    for (const item of m.content) if (item.type === "tool_call") ids.add(item.id);
    if (m.role === "user" || m.role === "context") break;
  }
  return ids;
}

/** Maps a model-call failure to what the turn reports. Auth, config and request errors need a fix first. */
export function classifyFailure(err: unknown): TurnFailure {
  // Reached only after the turn compacted and retried (session-machine): /continue or the same message would fail alike.
  if (isContextOverflow(err)) {
    const message = (err as ProviderError).message.replace(/[.\s]+$/, "");
    return {
      error: {
        kind: "context_overflow",
        message:
          `${message}. The conversation does not fit the model's context window even after compacting it ` +
          "(the latest message or tool result alone may be too long). Send /new to start a fresh conversation " +
          "(this one's history stays stored), send a shorter message, or switch to a model with a larger context window.",
        status: (err as ProviderError).status,
      },
      canContinue: false,
    };
  }
  if (err instanceof ProviderError) {
    const kind = err.kind === "aborted" ? "internal" : err.kind;
    return {
      error: { kind, message: err.message, status: err.status },
      canContinue: !["auth", "config", "bad_request"].includes(kind),
    };
  }
  const message = err instanceof Error ? err.message : String(err);
  return { error: { kind: "internal", message }, canContinue: true };
}
