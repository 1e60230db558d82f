import type { InitializeResult } from "@starling/protocol";
import { HostKeys } from "../state/host-store.js";
import { autoContinuesUsed, contextOf, forgetSessionProgress, offeredKey, type RecoveryDecision } from "./recovery.js";
import type { SessionRunner } from "./session-runner.js";
import { decideStart, endUnfinishedEffect, resumeEffect } from "./session-state.js";
import { cancelledAtStart, cancelledByUser, settleCancelAtStart } from "./user-intent.js";
import type { WorkerHandle } from "./worker-handle.js";

/** If a recovered turn's `turn_recovered` event never arrives, stop waiting for it after this long. */
const RECOVERY_EVENT_WAIT_MS = 5_000;

/**
 * Reconciles the host's bookkeeping with what a freshly initialized worker reports, before any of its
 * events is processed (the decision is `decideStart`'s): a session database that is behind the host
 * (archived by /new, reset) restarts the event numbering; an unfinished crashed turn either waits for
 * its replayed `turn_recovered` event, or — reported in an earlier life but never resumed — is continued
 * now (counted durably).
 */
export async function reconcileAtStart(r: SessionRunner, handle: WorkerHandle, init: InitializeResult): Promise<void> {
  const store = r.store;
  const max = r.ctx.options.maxAutoContinues;
  const unfinished = init.unfinishedTurn ?? null;
  // A /cancel sent while this worker was starting named no turn yet: it names the one found unfinished now.
  if (cancelledAtStart(store, r.id)) {
    await store.commit("user_cancel", (tx) => settleCancelAtStart(store, tx, r.id, unfinished?.turnId ?? null));
  }
  const decision = decideStart({
    lastEventSeq: init.lastEventSeq,
    lastAckedSeq: init.lastAckedSeq,
    processedSeq: store.processedSeq(r.id),
    unfinishedTurn: unfinished,
    autoContinuesUsed: unfinished ? autoContinuesUsed(store, r.id, unfinished.turnId) : 0,
    cancelledByUser: unfinished ? cancelledByUser(store, r.id, unfinished.turnId) : false,
    maxAutoContinues: max,
    queuedInputs: init.queuedInputs,
    unattended: r.unattended,
  });
  if (decision.forgetProgress) {
    r.log.warn({ lastEventSeq: init.lastEventSeq, processedSeq: store.processedSeq(r.id) }, "session database is new or reset; event numbering starts again");
    await store.commit(null, (tx) => forgetSessionProgress(store, tx, r.id, init.lastAckedSeq));
  }
  if (decision.awaitRecoveryOf !== null) {
    awaitRecovery(r, handle, decision.awaitRecoveryOf);
    return;
  }
  if (!decision.recovery) return;
  r.log.info({ turnId: unfinished?.turnId, decision: decision.recovery }, "unfinished turn found at start");
  const { recovery } = decision;
  if ((recovery.kind === "exhausted" || recovery.kind === "abandon") && unfinished && !r.continuePending) {
    await offerContinue(r, unfinished.turnId, recovery);
    // Also when the notice was written in an earlier life whose worker died before it ended the turn.
    if (recovery.kind === "abandon") r.apply([endUnfinishedEffect(unfinished.turnId, recovery.attempts)], handle);
  }
  const resume = decision.resume;
  if (!resume) return;
  await store.commit("auto_continue", (tx) => tx.put(HostKeys.autoContinue(r.id, resume.turnId), resume.attempt));
  r.apply([resumeEffect(resume, max)], handle);
}

/** A crashed turn whose `turn_recovered` event is still to come: the slot is held for it, bounded. */
function awaitRecovery(r: SessionRunner, handle: WorkerHandle, turnId: number): void {
  handle.recoveryPending = turnId;
  setTimeout(() => {
    if (handle.recoveryPending !== turnId) return;
    handle.recoveryPending = null;
    void r.maybeRelease();
  }, RECOVERY_EVENT_WAIT_MS).unref();
}

/**
 * Asks the user to /continue a recovered turn (or, `abandon`, tells them it was given up) unless a notice
 * was written for it already (`offeredKey`).
 */
async function offerContinue(r: SessionRunner, turnId: number, decision: RecoveryDecision): Promise<void> {
  const key = offeredKey(r.id, turnId);
  let asked = false;
  await r.store.commit("continue_offer", (tx) => {
    asked = r.store.get(key) === undefined;
    if (!asked) return;
    tx.put(key, true);
    r.ctx.options.onDurableEvent({ type: "turn_recovered", turnId, action: "awaiting_continue" }, tx, contextOf(r.id, decision));
  });
  if (asked) r.log.info({ turnId }, "asked the user to /continue a turn found waiting at start");
  else r.log.info({ turnId }, "a turn found waiting at start; the user was already asked to /continue it");
}
