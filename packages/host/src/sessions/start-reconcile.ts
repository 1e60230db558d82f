import type { InitializeResult } from "@starling/protocol";
import { HostKeys } from "../state/host-store.js";
import { autoContinuesUsed, decideRecovery, forgetSessionProgress } from "./recovery.js";
import type { SessionRunner } from "./session-runner.js";
import { autoReason } from "./util.js";
import type { WorkerHandle } from "./worker-handle.js";

/** If a recovered turn's `turn_recovered` event never arrives, stop waiting for it after this long. */
const RECOVERY_EVENT_WAIT_MS = 5_000;

/**
 * Reconciles the host's bookkeeping with what a freshly initialized worker reports, before any of its
 * events is processed: a session database that is behind the host (archived by /new, reset) restarts
 * the event numbering; an unfinished crashed turn either waits for its replayed `turn_recovered`
 * event, or — reported in an earlier life but never resumed — is continued now (counted durably).
 */
export async function reconcileAtStart(r: SessionRunner, handle: WorkerHandle, init: InitializeResult): Promise<void> {
  const store = r.store;
  if (init.lastEventSeq < store.processedSeq(r.id)) {
    r.log.warn({ lastEventSeq: init.lastEventSeq, processedSeq: store.processedSeq(r.id) }, "session database is new or reset; event numbering starts again");
    await store.commit(null, (tx) => forgetSessionProgress(store, tx, r.id, init.lastAckedSeq));
  }
  const unfinished = init.unfinishedTurn;
  if (!unfinished || unfinished.reason !== "crash") return;
  if (init.lastEventSeq > store.processedSeq(r.id)) {
    // Its turn_recovered event is among the unprocessed ones; decide when it arrives.
    handle.recoveryPending = unfinished.turnId;
    setTimeout(() => {
      if (handle.recoveryPending !== unfinished.turnId) return;
      handle.recoveryPending = null;
      void r.maybeRelease();
    }, RECOVERY_EVENT_WAIT_MS).unref();
    return;
  }
  // Recovered in an earlier life and already reported, but never resumed (the continue was lost).
  const used = autoContinuesUsed(store, r.id, unfinished.turnId);
  const decision = decideRecovery({
    action: "awaiting_continue",
    cancelled: false,
    used,
    max: r.ctx.options.maxAutoContinues,
    newInput: init.queuedInputs > 0, // items re-sent now may be duplicates; sendContinue re-checks
    alreadyContinued: false,
  });
  r.log.info({ turnId: unfinished.turnId, decision }, "unfinished turn found at start");
  if (decision.kind !== "continue") return;
  await store.commit(null, (tx) => tx.put(HostKeys.autoContinue(r.id, unfinished.turnId), decision.attempt));
  r.continueWanted = { auto: true, turnId: unfinished.turnId, reason: autoReason(decision.attempt, r.ctx.options.maxAutoContinues) };
}
