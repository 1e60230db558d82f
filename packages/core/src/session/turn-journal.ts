import type { FileItem, ToolCallItem, TranscriptItem, TurnError, Usage } from "@starling/protocol";
import type { SessionStore, Transaction, CommitPoint } from "../store/session-store.js";
import type { TurnRecord } from "../store/records.js";
import { danglingToolCalls, resultMessage } from "../store/history.js";
import type { ReplyCut } from "../providers/types.js";
import type { ContextWindowMemory } from "./context-window-memory.js";
import type { RefusedUrlMemory } from "./refused-url-memory.js";
import { deliverTurnImages } from "./turn-images.js";

/**
 * Journal operations of a turn. Each is one named commit: the state change, the history it implies
 * and the event that announces it are written together, so a crash never leaves them disagreeing.
 */
export class TurnJournal {
  constructor(
    private readonly store: SessionStore,
    private readonly isReadOnly: (tool: string) => boolean,
    /** The model's learned context window: an answer's or a failed turn's commit stores it; an answer may prove it wrong. */
    private readonly window: ContextWindowMemory | null = null,
    /** Files given by URL the provider refused: stored in the same commits as the window. */
    private readonly refusedUrls: RefusedUrlMemory | null = null,
  ) {}

  get currentTurn(): TurnRecord | null {
    const t = this.store.lastTurn;
    return t && (t.status === "running" || this.isUnfinished(t)) ? t : null;
  }

  /** A turn that stopped but can be continued. */
  isUnfinished(t: TurnRecord | null = this.store.lastTurn): boolean {
    return !!t && (t.status === "recovered" || ((t.status === "failed" || t.status === "cancelled") && !!t.canContinue));
  }

  /** Gives every dangling tool call a synthetic result saying why it never ran to completion. */
  private pairDangling(tx: Transaction, turnId: number, why: string, reason: string): void {
    for (const call of danglingToolCalls(this.store.messages)) {
      tx.deleteIntent(call.id);
      tx.appendMessage(resultMessage(turnId, { callId: call.id, name: call.name, content: why, isError: true, synthetic: reason }));
    }
  }

  /** Gives each side-effecting call that has an intent but no result (it may have acted) a synthetic result; returns their names. */
  private pairUnknownOutcomes(tx: Transaction, turnId: number, why: string, reason: "crash" | "failed"): string[] {
    const names: string[] = [];
    for (const call of danglingToolCalls(this.store.messages)) {
      if (!this.store.intents.has(call.id) || this.isReadOnly(call.name)) continue;
      tx.deleteIntent(call.id);
      names.push(call.name);
      tx.appendMessage(resultMessage(turnId, { callId: call.id, name: call.name, content: why, isError: true, synthetic: reason }));
    }
    return names;
  }

  /**
   * Starts a turn with every queued input. An unfinished earlier turn is closed as superseded. A
   * `notice` (what changed in the workspace's skills) goes into history just before the inputs.
   */
  beginTurn(notice: string | null = null): Promise<TurnRecord | null> {
    return this.store.commit("turn_start", (tx) => {
      const inputs = tx.takeQueue();
      if (inputs.length === 0) return null;
      const prev = this.store.lastTurn;
      // Images of the superseded turn no notice delivered (one recovered after a crash) ride on this turn's ending.
      let carriedImages: string[] | undefined;
      if (prev && (prev.status === "running" || this.isUnfinished(prev))) {
        this.pairDangling(tx, prev.turnId, "Not run: the user sent a new message before this call ran.", "superseded");
        const { attachments, imagesSent } = deliverTurnImages(this.store.messages, prev);
        carriedImages = attachments;
        tx.putTurn({ ...prev, imagesSent, status: "superseded", canContinue: false, endedAt: new Date().toISOString() });
      }
      const turnId = this.store.meta.nextTurnId++;
      if (notice) tx.appendMessage({ role: "user", turnId, time: new Date().toISOString(), content: [{ type: "text", text: notice }] });
      for (const input of inputs) {
        tx.appendMessage({
          role: "user",
          turnId,
          messageId: input.messageId,
          userName: input.message.userName,
          time: input.message.time ?? input.receivedAt,
          content: input.message.content,
        });
      }
      const turn: TurnRecord = {
        turnId,
        status: "running",
        steps: 0,
        startedAt: new Date().toISOString(),
        messageIds: inputs.map((i) => i.messageId),
        ...(carriedImages ? { carriedImages } : {}),
      };
      tx.putTurn(turn);
      tx.emit({ type: "turn_started", turnId, messageIds: turn.messageIds });
      return turn;
    });
  }

  /** Stores a model answer that asks for tools, before any of them runs. */
  recordToolRequest(turn: TurnRecord, content: TranscriptItem[], usage: Usage | undefined): Promise<void> {
    return this.store.commit("model_answer", (tx) => {
      tx.appendMessage({ role: "assistant", turnId: turn.turnId, time: new Date().toISOString(), content });
      tx.putTurn({ ...turn, steps: turn.steps, usage: addUsage(turn.usage, usage) });
      this.addSessionUsage(usage);
      this.window?.answered(tx, usage);
      this.refusedUrls?.keep(tx);
    });
  }

  /** Stores the final answer, closes the turn and queues `turn_completed` in one batch. `cut`: what stopped the answer before the model was done. */
  completeTurn(turn: TurnRecord, content: TranscriptItem[], usage: Usage | undefined, cut?: ReplyCut): Promise<void> {
    return this.store.commit("turn_end", (tx) => {
      tx.appendMessage({ role: "assistant", turnId: turn.turnId, time: new Date().toISOString(), content });
      const total = addUsage(turn.usage, usage);
      tx.putTurn({ ...turn, status: "completed", usage: total, endedAt: new Date().toISOString() });
      this.addSessionUsage(usage);
      this.window?.answered(tx, usage);
      this.refusedUrls?.keep(tx);
      this.store.meta.usage.turns += 1;
      this.store.meta.lastTurnUsage = total ?? null;
      tx.emit({
        type: "turn_completed",
        turnId: turn.turnId,
        message: { role: "assistant", content },
        usage: total,
        ...(cut === "output_limit" ? { outputLimited: true as const } : {}),
        ...(cut === "content_filter" ? { contentFiltered: true as const } : {}),
        ...this.ends(turn),
      });
    });
  }

  failTurn(turn: TurnRecord, error: TurnError, canContinue: boolean): Promise<void> {
    return this.store.commit("turn_failed", (tx) => {
      if (!canContinue) this.pairDangling(tx, turn.turnId, `Not run: the turn failed (${error.message}).`, "failed");
      // A side-effecting call whose result could not be stored may have acted: it is never re-run on /continue.
      else this.pairUnknownOutcomes(tx, turn.turnId, "Its result could not be stored; outcome unknown. Check the workspace before repeating this action.", "failed");
      const { attachments, imagesSent } = deliverTurnImages(this.store.messages, turn);
      tx.putTurn({
        ...turn,
        imagesSent,
        status: "failed",
        error,
        canContinue,
        unfinishedReason: error.kind === "step_limit" ? "step_limit" : "failed",
        endedAt: new Date().toISOString(),
      });
      // A turn refused as too long even after compacting (or with nothing to compact) still learned the window.
      this.window?.keep(tx);
      this.refusedUrls?.keep(tx);
      tx.emit({ type: "turn_failed", turnId: turn.turnId, error, canContinue, ...this.ends(turn), ...(attachments ? { attachments } : {}) });
    });
  }

  /** What every turn-ending event carries: the worker's queue now and the inputs the turn answers. */
  private ends(turn: TurnRecord): { queuedInputs: number; messageIds: string[] } {
    return { queuedInputs: this.store.queue.length, messageIds: turn.messageIds };
  }

  /** Is `turn` still the running turn? Checked inside a commit, so two endings of one turn cannot both apply. */
  private stillRunning(turn: TurnRecord): boolean {
    const current = this.store.lastTurn;
    return current?.turnId === turn.turnId && current.status === "running";
  }

  cancelTurn(turn: TurnRecord, reason: string | undefined): Promise<void> {
    return this.store.commit("turn_cancelled", (tx) => {
      if (!this.stillRunning(turn)) return;
      this.pairDangling(tx, turn.turnId, "Cancelled by the user before this call finished.", "cancelled");
      const { attachments, imagesSent } = deliverTurnImages(this.store.messages, turn);
      tx.putTurn({ ...turn, imagesSent, status: "cancelled", canContinue: true, unfinishedReason: "cancelled", endedAt: new Date().toISOString() });
      // Cancelled while the compaction a refusal forced was running: the window it stated is still worth keeping.
      this.window?.keep(tx);
      this.refusedUrls?.keep(tx);
      tx.emit({ type: "turn_cancelled", turnId: turn.turnId, reason, ...this.ends(turn), ...(attachments ? { attachments } : {}) });
    });
  }

  /**
   * Ends the unfinished turn `turnId` (one waiting for a continue) for good: closed as cancelled and no
   * longer continuable; calls it left without a result get one saying they never ran. False (nothing
   * written) when that turn is not the one waiting.
   */
  endUnfinished(turnId: number, reason: string | undefined): Promise<boolean> {
    return this.store.commit("turn_given_up", (tx) => {
      const turn = this.store.lastTurn;
      if (!turn || turn.turnId !== turnId || !this.isUnfinished(turn)) return false;
      this.pairDangling(tx, turnId, "Not run: the turn was ended without being continued.", "cancelled");
      // A turn recovered after a crash sent none of its images yet.
      const { attachments, imagesSent } = deliverTurnImages(this.store.messages, turn);
      tx.putTurn({ ...turn, imagesSent, status: "cancelled", canContinue: false, unfinishedReason: undefined, endedAt: new Date().toISOString() });
      tx.emit({ type: "turn_cancelled", turnId, reason, ...this.ends(turn), ...(attachments ? { attachments } : {}) });
      return true;
    });
  }

  supersedeTurn(turn: TurnRecord): Promise<void> {
    return this.store.commit("turn_superseded", (tx) => {
      if (!this.stillRunning(turn)) return;
      this.pairDangling(tx, turn.turnId, "Interrupted: the user sent a new message.", "superseded");
      const { attachments, imagesSent } = deliverTurnImages(this.store.messages, turn);
      tx.putTurn({ ...turn, imagesSent, status: "superseded", canContinue: false, endedAt: new Date().toISOString() });
      this.window?.keep(tx);
      this.refusedUrls?.keep(tx);
      tx.emit({ type: "turn_superseded", turnId: turn.turnId, ...this.ends(turn), ...(attachments ? { attachments } : {}) });
    });
  }

  /** Reopens an unfinished turn for `/continue`: the step budget starts again. */
  resumeTurn(): Promise<TurnRecord | null> {
    return this.store.commit("turn_resume", (tx) => {
      const prev = this.store.lastTurn;
      if (!prev || !this.isUnfinished(prev)) return null;
      const turn: TurnRecord = { ...prev, status: "running", steps: 0, resumed: true, error: undefined, canContinue: undefined, unfinishedReason: undefined, endedAt: undefined };
      tx.putTurn(turn);
      tx.emit({ type: "turn_started", turnId: turn.turnId, messageIds: [] });
      return turn;
    });
  }

  /**
   * Startup recovery (ARCHITECTURE §5.3–5.4). A turn left `running` by a crash gets: a crash result for
   * each side-effecting call that has only an intent (its outcome is unknown, so it is never re-run);
   * read-only or never-started calls stay pending and run on `/continue`. The turn then waits for
   * `/continue` and a `turn_recovered` event tells the host.
   */
  recover(): Promise<{ turnId: number; reason: string } | null> {
    return this.store.commit("recovery", (tx) => {
      const turn = this.store.lastTurn;
      if (!turn) return null;
      if (turn.status !== "running") {
        return this.isUnfinished(turn) ? { turnId: turn.turnId, reason: turn.unfinishedReason ?? turn.status } : null;
      }
      const crashed = this.pairUnknownOutcomes(tx, turn.turnId, "Interrupted by a crash; outcome unknown. Check the workspace before repeating this action.", "crash");
      tx.putTurn({ ...turn, status: "recovered", canContinue: true, unfinishedReason: "crash" });
      const detail = crashed.length ? `outcome unknown for: ${crashed.join(", ")}` : undefined;
      tx.emit({ type: "turn_recovered", turnId: turn.turnId, action: "awaiting_continue", detail, messageIds: turn.messageIds });
      return { turnId: turn.turnId, reason: "crash" };
    });
  }

  /** Calls that still need to run in the current turn (after an answer was stored, or after recovery). */
  pendingCalls(): ToolCallItem[] {
    return danglingToolCalls(this.store.messages);
  }

  async recordIntent(turnId: number, call: ToolCallItem): Promise<void> {
    await this.store.commit("tool_intent", (tx) =>
      tx.putIntent({ callId: call.id, turnId, name: call.name, startedAt: new Date().toISOString() }),
    );
  }

  /** Stores a tool's result; files it returned follow the result item in the same tool message. */
  async recordResult(turnId: number, call: ToolCallItem, content: string, isError: boolean, files: FileItem[] = []): Promise<void> {
    await this.store.commit("tool_result", (tx) => {
      tx.deleteIntent(call.id);
      const message = resultMessage(turnId, { callId: call.id, name: call.name, content, isError });
      tx.appendMessage({ ...message, content: [...message.content, ...files] });
    });
  }

  updateSteps(turn: TurnRecord, point: CommitPoint | null = null): Promise<void> {
    return this.store.commit(point, (tx) => tx.putTurn(turn));
  }

  private addSessionUsage(usage: Usage | undefined): void {
    if (!usage) return;
    const u = this.store.meta.usage;
    u.inputTokens += usage.inputTokens;
    u.outputTokens += usage.outputTokens;
    u.cachedTokens += usage.cachedTokens ?? 0;
  }
}

export function addUsage(a: Usage | undefined, b: Usage | undefined): Usage | undefined {
  if (!a) return b;
  if (!b) return a;
  return {
    inputTokens: a.inputTokens + b.inputTokens,
    outputTokens: a.outputTokens + b.outputTokens,
    cachedTokens: (a.cachedTokens ?? 0) + (b.cachedTokens ?? 0) || undefined,
  };
}
