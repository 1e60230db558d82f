import { continueSuperseded, sendContinue } from "./handoff.js";
import type { SessionRunner } from "./session-runner.js";
import type { ContinueRequest } from "./session-state.js";
import type { WorkerHandle } from "./worker-handle.js";

/**
 * The one continue (the user's /continue, or an automatic one for a recovered turn) waiting for a slot
 * and a worker: a part of its runner's state that only this class changes, called only by that runner.
 */
export class PendingContinue {
  private want: ContinueRequest | null = null;

  constructor(private readonly r: SessionRunner) {}

  get current(): ContinueRequest | null {
    return this.want;
  }

  /** `request` is the one waiting now (a newer /continue, or one decided for a recovered turn). */
  set(request: ContinueRequest): void {
    this.want = request;
  }

  /** A continue that could not be sent (its worker stopped first) waits for the next worker, unless another one does. */
  requeue(request: ContinueRequest): void {
    this.r.log.info({ auto: request.auto, turnId: request.turnId }, "the worker stopped before the continue was sent; it goes to the next worker");
    if (!this.want) this.want = request;
    else request.resolve?.({ accepted: false, reason: "superseded by a newer /continue" });
  }

  /** Drops the waiting continue, answering a user's /continue with `reason`; returns it (null if none waited). */
  drop(reason: string): ContinueRequest | null {
    const want = this.want;
    if (!want) return null;
    this.want = null;
    want.resolve?.({ accepted: false, reason });
    return want;
  }

  /**
   * Sends the waiting continue to `handle`, unless a message handed off in this life supersedes an
   * automatic one (then it is dropped); false if none waited.
   */
  async send(handle: WorkerHandle): Promise<boolean> {
    const want = this.want;
    if (!want || !handle.usable) return false;
    this.want = null;
    if (continueSuperseded(want, handle.newInputs)) {
      this.r.log.info({ turnId: want.turnId }, "automatic continue dropped: a new message supersedes the recovered turn");
    } else {
      if (want.turnId !== null) handle.continued.add(want.turnId);
      await sendContinue(this.r, handle, want);
    }
    return true;
  }
}
