import { isDurableEvent, type SessionEvent, type SessionEventParams } from "@starling/protocol";
import { HostKeys } from "../state/host-store.js";
import { autoContinuesUsed, contextOf, decideRecovery, offeredKey, type RecoveryDecision } from "./recovery.js";
import type { SessionRunner } from "./session-runner.js";
import { decideEvent } from "./session-state.js";
import { cancelledByUser } from "./user-intent.js";
import { errorText } from "./util.js";
import type { WorkerHandle } from "./worker-handle.js";

/** A session's events, processed one at a time in arrival (= seq) order, across worker lives. */
export class EventChain {
  private chain: Promise<void> = Promise.resolve();

  constructor(private readonly r: SessionRunner) {}

  add(handle: WorkerHandle, params: SessionEventParams): void {
    this.chain = this.chain
      .then(async () => {
        if (!(await handle.ready) && !handle.init) return;
        await processEvent(this.r, handle, params);
      })
      .catch((err: unknown) => this.r.noteError(`processing event seq ${params.seq} (${params.event.type})`, err));
  }

  /** Settles once every event added so far is processed. */
  drained(): Promise<void> {
    return this.chain;
  }
}

/**
 * Processes one event of a session (called in seq order). Durable events: a seq the host already
 * processed is only acknowledged again; otherwise `onDurableEvent`, the processed seq and (for a
 * recovered turn) the auto-continue counter go into one commit (`event_processed`), then the seq is
 * acknowledged (`session/ackEvents`, coalesced per worker life: event-acks.ts). What the event means for the session is decided by `decideEvent` and applied by
 * the runner; every event then goes to `onActivity`.
 */
export async function processEvent(r: SessionRunner, handle: WorkerHandle, params: SessionEventParams): Promise<void> {
  const { seq, event } = params;
  const { maxAutoContinues, onDurableEvent } = r.ctx.options;
  if (!isDurableEvent(event)) {
    r.apply(decideEvent(event, null, maxAutoContinues), handle);
    activity(r, event);
    return;
  }

  const store = r.store;
  if (seq <= store.processedSeq(r.id)) {
    r.log.debug({ seq, type: event.type }, "event already processed; acknowledged again");
    r.apply(decideEvent(event, null, maxAutoContinues, true), handle);
    handle.acks.note(seq);
    void r.maybeRelease();
    return;
  }

  if (event.type === "turn_recovered" && event.action === "awaiting_continue") await r.handoffsSettled(handle);
  const decision = await retryWrite(r, `event seq ${seq} (${event.type})`, () => store.commit("event_processed", (tx): RecoveryDecision | null => {
    let d: RecoveryDecision | null = null;
    if (event.type === "turn_recovered") {
      const unfinished = handle.init?.unfinishedTurn;
      d = decideRecovery({
        action: event.action,
        cancelled: (unfinished?.turnId === event.turnId && unfinished.reason === "cancelled") || cancelledByUser(store, r.id, event.turnId),
        used: autoContinuesUsed(store, r.id, event.turnId),
        max: maxAutoContinues,
        newInput: newInputPending(handle),
        alreadyContinued: handle.continued.has(event.turnId),
        unattended: r.unattended,
      });
      if (d.kind === "continue") tx.put(HostKeys.autoContinue(r.id, event.turnId), d.attempt);
      if (d.kind === "exhausted" || d.kind === "abandon") tx.put(offeredKey(r.id, event.turnId), true);
    }
    try {
      onDurableEvent(event, tx, contextOf(r.id, d));
    } catch (err) {
      // A host bug must not wedge the session in an endless re-send loop: the seq is recorded anyway.
      r.noteError(`onDurableEvent(${event.type}, seq ${seq})`, err);
    }
    tx.put(HostKeys.sessionSeq(r.id), seq);
    return d;
  }));
  handle.acks.note(seq);
  if (event.type === "turn_recovered") {
    r.log.info({ turnId: event.turnId, action: event.action, detail: event.detail, decision }, "turn recovered after a worker stop");
  }
  r.apply(decideEvent(event, decision, maxAutoContinues), handle);
  activity(r, event);
  r.settle();
}

/**
 * A user message will start a new turn (and so supersede a recovered one): one handed off in this
 * life that the worker did not have yet, or inputs it had queued. Items still stored (or being handed
 * off) do not count: one may be a duplicate of what the recovered turn already holds (a host killed
 * before its `handoff` write), which the worker drops, so nothing would start a turn. The recovered
 * turn is continued instead, and `continueSuperseded` drops that continue once a hand-off proves fresh.
 * Read after `handoffsSettled`, which lets the usual hand-offs finish first.
 */
function newInputPending(handle: WorkerHandle): boolean {
  return handle.newInputs > 0 || (handle.init?.queuedInputs ?? 0) > 0;
}

/**
 * A failed write (EIO, disk full) of an event is retried with backoff: the worker re-sends an event
 * only after a restart, so giving up at once would leave the turn's reply unprocessed until then.
 */
async function retryWrite<T>(r: SessionRunner, what: string, write: () => Promise<T>, attempts = 6): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await write();
    } catch (err) {
      if (attempt >= attempts) throw err;
      const delayMs = 100 * 2 ** attempt;
      r.log.error({ attempt, delayMs, err: errorText(err) }, `storing ${what} failed; retrying`);
      await new Promise((resolve) => setTimeout(resolve, delayMs));
    }
  }
}

function activity(r: SessionRunner, event: SessionEvent): void {
  try {
    r.ctx.options.onActivity(r.id, event);
  } catch (err) {
    r.log.warn({ type: event.type, err: errorText(err) }, "onActivity failed");
  }
}
