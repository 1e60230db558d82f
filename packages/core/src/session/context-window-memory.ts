import type { ModelConfig, Usage } from "@starling/protocol";
import { statedContextWindow } from "../providers/types.js";
import type { SessionStore, Transaction } from "../store/session-store.js";

/** Which model a learned window belongs to: another provider, endpoint or model name has its own window. */
export const modelIdentity = (model: ModelConfig): string => `${model.provider_type} ${model.url} ${model.model_name}`;

/**
 * The context window of a model without `token_max_context`, as a provider's refusal stated it
 * (statedContextWindow). Learned in memory at the refusal, stored with the next commit of the turn (the
 * compaction it forces, the answer, or the turn's end by failure, cancel or a new message: no write of its own), and read back by the next
 * worker, which then compacts before its first too-long call instead of being refused once more. A call that succeeded with more input tokens
 * than the window proves it wrong: it is forgotten in that call's commit.
 */
export class ContextWindowMemory {
  /** Stated by a refusal in this worker's life (maybe not stored yet); null: the stored one, if any. */
  private stated: number | null = null;
  private readonly key: string;

  constructor(
    private readonly store: SessionStore,
    private readonly model: ModelConfig,
  ) {
    this.key = modelIdentity(model);
  }

  /** The learned window (token_max_context, when configured, takes precedence over it: compaction.ts requestLimit). */
  get window(): number | null {
    return this.stated ?? this.store.learnedWindows.get(this.key) ?? null;
  }

  /** A model call was refused as too long: the window it states, if any, is learned. */
  refused(err: unknown): void {
    if (this.model.token_max_context !== undefined) return;
    this.stated = statedContextWindow(err) ?? this.stated;
  }

  /** In a commit of the turn: stores the window learned in this worker unless the store has it already. */
  keep(tx: Transaction): void {
    if (this.stated !== null && this.store.learnedWindows.get(this.key) !== this.stated) tx.setLearnedWindow(this.key, this.stated);
  }

  /** In the commit of a model call's answer: a call larger than the window proves it wrong; else the window is kept. */
  answered(tx: Transaction, usage: Usage | undefined): void {
    const window = this.window;
    if (usage && window !== null && usage.inputTokens > window) {
      this.stated = null;
      tx.dropLearnedWindow(this.key);
      return;
    }
    this.keep(tx);
  }
}
