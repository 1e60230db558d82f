import type { SessionEvent, SessionEventOf, SessionEventParams } from "@starling/protocol";

type TurnEnd = SessionEventOf<"turn_completed" | "turn_failed" | "turn_cancelled" | "turn_superseded">;
const TURN_ENDS: ReadonlySet<string> = new Set<TurnEnd["type"]>(["turn_completed", "turn_failed", "turn_cancelled", "turn_superseded"]);
const isTurnEnd = (event: SessionEvent): event is TurnEnd => TURN_ENDS.has(event.type);

/**
 * Whether one worker life rests, as its last turn-ending event told (`queuedInputs`), so the runner
 * need not ask `live_state` after every turn. A worker starts a turn only with queued input or on
 * `session/continue`, so the event's answer holds until the host sends a request that may start one
 * (`enqueue`, `continue`: counted here) or a `turn_started` arrives. Used only when nothing can have
 * crossed on the pipe: the event was emitted in this life (a re-sent one's value is stale) and no
 * such request was awaiting its answer when the event arrived (the worker may have queued it after
 * storing the event). Anything else means "unknown": the runner asks as before.
 */
export class RestHint {
  private sent = 0;
  private outstanding = 0;
  private known: { queuedInputs: number; sent: number } | null = null;

  /** Runs a request that may start a turn. */
  async track<T>(request: () => Promise<T>): Promise<T> {
    this.sent++;
    this.outstanding++;
    try {
      return await request();
    } finally {
      this.outstanding--;
    }
  }

  /** Every event frame of this life, in arrival order; `lastEventSeq` from `initialize` (undefined until it answered). */
  noteEvent(params: SessionEventParams, lastEventSeq: number | undefined): void {
    const { event } = params;
    if (event.type === "turn_started") this.known = null;
    if (!isTurnEnd(event)) return;
    const { queuedInputs } = event;
    const fresh = lastEventSeq !== undefined && params.seq > lastEventSeq;
    this.known = fresh && this.outstanding === 0 && queuedInputs !== undefined ? { queuedInputs, sent: this.sent } : null;
  }

  /** An `enqueue` or `continue` awaits its answer: whatever the worker says of its state now may be overtaken. */
  get awaiting(): boolean {
    return this.outstanding > 0;
  }

  /** true: the worker rests; false: it starts a turn with its queued input; null: unknown (ask `live_state`). */
  resting(): boolean | null {
    if (!this.known || this.known.sent !== this.sent) return null;
    return this.known.queuedInputs === 0;
  }
}
