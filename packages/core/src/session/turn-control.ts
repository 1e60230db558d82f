/** How long a running tool may take to return a stable result after a new user message interrupts the turn. */
export const INTERRUPT_GRACE_MS = 250;

/**
 * Stop switches of one running turn. `cancel` (user /cancel, shutdown) stops everything at once;
 * `interrupt` (a newer user message) aborts the model call at once but gives a running tool
 * INTERRUPT_GRACE_MS to finish. `track` remembers in-flight work so a state can wait for it to settle
 * before writing the turn's ending, which keeps every tool call paired with exactly one result.
 */
export class TurnControl {
  readonly cancel = new AbortController();
  readonly interrupt = new AbortController();
  currentTool: string | null = null;
  /**
   * The worker is shutting down (host gone or restarting, idle stop), not the user cancelling: the turn
   * stays `running` and is recovered by the next worker, which re-runs a read-only call left without a
   * result (§5.3) instead of showing the model an "interrupted" result for it.
   */
  shuttingDown = false;
  /**
   * A phase other than the first model call was announced this turn (compacting, a tool). Until then
   * `turn_started` stands for the first model call, which sends no `calling_model` progress of its own.
   */
  otherPhaseShown = false;
  private readonly inFlight = new Set<Promise<unknown>>();
  private combined: AbortSignal | null = null;

  get stopped(): boolean {
    return this.cancel.signal.aborted || this.interrupt.signal.aborted;
  }

  /** Aborted with `cancel` or `interrupt`; one signal per turn (`AbortSignal.any` is not cheap, and a step asks twice). */
  get modelSignal(): AbortSignal {
    return (this.combined ??= AbortSignal.any([this.cancel.signal, this.interrupt.signal]));
  }

  /** A signal for one tool run: aborted with `cancel`, or INTERRUPT_GRACE_MS after `interrupt`. */
  toolSignal(): { signal: AbortSignal; dispose: () => void } {
    const controller = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const onCancel = () => controller.abort(this.cancel.signal.reason);
    const onInterrupt = () => {
      timer = setTimeout(() => controller.abort(this.interrupt.signal.reason), INTERRUPT_GRACE_MS);
    };
    if (this.cancel.signal.aborted) onCancel();
    else this.cancel.signal.addEventListener("abort", onCancel, { once: true });
    if (this.interrupt.signal.aborted) onInterrupt();
    else this.interrupt.signal.addEventListener("abort", onInterrupt, { once: true });
    return {
      signal: controller.signal,
      dispose: () => {
        clearTimeout(timer);
        this.cancel.signal.removeEventListener("abort", onCancel);
        this.interrupt.signal.removeEventListener("abort", onInterrupt);
      },
    };
  }

  track<T>(work: Promise<T>): Promise<T> {
    this.inFlight.add(work);
    void work.finally(() => this.inFlight.delete(work)).catch(() => undefined);
    return work;
  }

  /** Resolves once all tracked work has settled (whatever its outcome). */
  async idle(): Promise<void> {
    while (this.inFlight.size) await Promise.allSettled([...this.inFlight]);
  }
}
