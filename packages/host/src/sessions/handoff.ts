import { ErrorCodes, Methods, WorkerRequestError } from "@starling/protocol";
import { HostKeys } from "../state/host-store.js";
import type { InboundItem } from "../state/records.js";
import { backoffDelay } from "./backoff.js";
import { ensureResumeMark, markResume } from "./recovery.js";
import { clearWantedContinue } from "./user-intent.js";
import type { SessionRunner } from "./session-runner.js";
import type { ContinueRequest } from "./session-state.js";
import { errorText, NOTHING_TO_CONTINUE } from "./util.js";
import type { WorkerHandle } from "./worker-handle.js";

/** The worker has the item (`fresh`: it did not have it before), or it stays stored to be re-sent. */
export type HandOffOutcome = { ok: true; fresh: boolean } | { ok: false };

/**
 * `session/enqueue`, and only once acknowledged, delete the inbound item (commit point `handoff`).
 * The runner marks the item in flight around this call and records the outcome.
 */
export async function handOff(r: SessionRunner, handle: WorkerHandle, item: InboundItem): Promise<HandOffOutcome> {
  if (!handle.usable) return { ok: false };
  try {
    const kind = (item as InboundItem & { kind?: "user" | "actor" }).kind ?? "user";
    // The waiting event acknowledgement rides along (event-acks.ts `carry`): no `session/ackEvents` of its own.
    const send = (ackUpTo: number | undefined) =>
      handle.client.enqueue({ messageId: item.messageId, kind, message: item.message, ...(ackUpTo === undefined ? {} : { ackUpTo }) });
    const result = await handle.rest.track(() => handle.acks.carry(send));
    await r.store.commit("handoff", (tx) => {
      // Only this item: an edit may have replaced it under the same key with a new id (message-edits.ts).
      if (r.store.get<InboundItem>(HostKeys.inbound(item.seq))?.messageId === item.messageId) tx.del(HostKeys.inbound(item.seq));
      markResume(r.store, tx, r.id);
    });
    r.log.debug({ messageId: item.messageId, seq: item.seq, duplicate: result.duplicate }, "message handed off");
    return { ok: true, fresh: !result.duplicate };
  } catch (err) {
    if (err instanceof WorkerRequestError && err.code === ErrorCodes.InvalidParams) {
      // The worker will never accept it; keeping it would block every later message of the session.
      r.noteError(`message ${item.messageId} rejected by the worker and dropped`, err);
      await r.store.commit("handoff", (tx) => tx.del(HostKeys.inbound(item.seq)));
      return { ok: true, fresh: false };
    }
    r.log.warn({ messageId: item.messageId, err: errorText(err) }, "hand-off failed; the message stays stored and is re-sent");
    return { ok: false };
  }
}

/**
 * The session's hand-offs in progress (sent to the worker, not yet recorded) and the retry of a failed
 * one: a part of its runner's state that only this class changes, called only by that runner.
 */
export class HandOffTracker {
  private readonly inFlight = new Set<string>();
  private retryTimer: NodeJS.Timeout | null = null;
  private failures = 0;

  constructor(private readonly r: SessionRunner) {}

  get count(): number {
    return this.inFlight.size;
  }

  has(messageId: string): boolean {
    return this.inFlight.has(messageId);
  }

  async track(handle: WorkerHandle, item: InboundItem): Promise<HandOffOutcome> {
    this.inFlight.add(item.messageId);
    try {
      const outcome = await handOff(this.r, handle, item);
      // Counted before the item leaves `inFlight`: a recovery decision waiting on it reads `newInputs`.
      if (outcome.ok && outcome.fresh) handle.newInputs++;
      return outcome;
    } finally {
      this.inFlight.delete(item.messageId);
      this.r.ctx.changes.fire();
    }
  }

  /** Every pending item was handed off: a later failure backs off from the start again. */
  succeeded(): void {
    this.failures = 0;
  }

  /**
   * A hand-off the live worker refused (its enqueue write failed) or the host could not record (the
   * `handoff` write failed) is tried again with backoff; meanwhile the slot goes to others unless a turn
   * runs. A worker that is gone is the exit handler's business.
   */
  retryLater(handle: WorkerHandle): void {
    const r = this.r;
    if (!handle.usable || this.retryTimer || r.ctx.isStopped()) return;
    this.failures++;
    const delayMs = backoffDelay(r.ctx.restart, this.failures);
    r.log.info({ delayMs, attempt: this.failures }, "retrying the hand-off after a delay");
    if (!r.turnRunning && !r.grantUsed) r.releaseSlot();
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      r.pump();
    }, delayMs).unref();
  }

  /**
   * Waits (bounded) until this life has handed off what it can: items pending while a slot is held, or in
   * flight. Re-checked on each state change (`ctx.changes`), not polled.
   */
  async settled(handle: WorkerHandle, timeoutMs: number): Promise<void> {
    const r = this.r;
    const deadline = Date.now() + timeoutMs;
    const busy = () => this.inFlight.size > 0 || (r.holdsSlot && !r.holdingBack() && r.pendingItems().length > 0);
    while (busy() && handle.usable && !r.ctx.isStopped() && Date.now() < deadline) {
      await r.ctx.changes.next(deadline - Date.now());
    }
  }
}

/** An automatic continue is dropped when a message handed off in this life supersedes the recovered turn. */
export function continueSuperseded(want: ContinueRequest, newInputs: number): boolean {
  return want.auto && newInputs > 0;
}

/**
 * Sends `session/continue` (the resume mark stored first); answers the user's /continue. A continue
 * whose worker stops before answering goes to the next worker (an automatic continue is already
 * counted, and the user may have been told "continuing": dropped, the turn would wait with nobody
 * told). The user's stored continue (user-intent.ts) is cleared once a worker answered it.
 */
export async function sendContinue(r: SessionRunner, handle: WorkerHandle, want: ContinueRequest): Promise<void> {
  try {
    await ensureResumeMark(r.store, r.id);
    if (!handle.usable) return r.requeueContinue(want);
    const result = await handle.rest.track(() => handle.ask(Methods.continue.method, (client) => client.continue({ reason: want.reason })));
    r.log.info({ auto: want.auto, turnId: want.turnId, result }, "continue sent");
    const heard = want.resolve?.(result);
    if (!want.auto) {
      // Told "continuing once …" before: a refusal ("nothing to continue") would otherwise reach nobody.
      const untold = heard === false && !result.accepted && result.reason?.startsWith(NOTHING_TO_CONTINUE) ? result.reason : null;
      await r.store.commit(null, (tx) => {
        clearWantedContinue(r.store, tx, r.id);
        if (untold) r.ctx.options.onContinueRefused?.(r.id, untold, tx);
      });
    }
  } catch (err) {
    if (handle.lostBy(err)) return r.requeueContinue(want);
    r.log.warn({ err: errorText(err) }, "continue failed");
    want.resolve?.({ accepted: false, reason: `the session worker stopped (${errorText(err)})` });
  }
}
