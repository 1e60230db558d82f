import { Methods, type LiveState } from "@starling/protocol";
import { clearResumeMark, hasResumeMark } from "./recovery.js";
import type { SessionRunner } from "./session-runner.js";
import { errorText, RESTING_STATES } from "./util.js";

/**
 * Releases the session's turn slot when it rests: nothing pending here, and the worker says no turn is
 * running or about to start (a turn end followed by no new turn_started). Then messages held back for
 * fairness ask for a slot again; otherwise the resume mark is cleared and idle shutdown armed. Decides
 * from what the runner and its worker report; the runner's own methods make every change.
 */
export async function releaseWhenResting(r: SessionRunner): Promise<void> {
  if (!r.holdsSlot) return r.armIdle();
  if (r.hasWork() && !r.onlyHeldBackWork()) return;
  const handle = r.worker;
  if (handle?.usable) {
    if (handle.recoveryPending !== null) return;
    // A `live_state` answer can overtake a continue the worker is still taking (soak: the slot and the
    // resume mark were dropped under a resuming turn); the caller asks again once it is answered.
    if (handle.rest.awaiting) return;
    let live: LiveState | null = null;
    const resting = handle.rest.resting();
    if (resting === false) return; // its turn-ending event said a turn with queued input follows
    if (resting === null) {
      try {
        const view = await handle.ask(Methods.query.method, (client) => client.query({ view: "live_state" }));
        if (view.view === "live_state") live = view;
      } catch (err) {
        if (handle.lostBy(err)) return; // the exit handler decides (also of a stuck worker `ask` killed)
        r.log.warn({ err: errorText(err) }, "live_state query failed");
      }
    }
    if (!r.holdsSlot || handle.rest.awaiting || (r.hasWork() && !r.onlyHeldBackWork())) return;
    if (live && (!RESTING_STATES.has(live.state) || live.queuedInputs > 0)) return;
  }
  r.releaseSlot();
  if (r.pendingItems().length > 0) {
    r.log.debug("turn slot yielded to waiting sessions; asking again for the held-back messages");
    r.requestSlot();
    return;
  }
  if (hasResumeMark(r.store, r.id)) await r.store.commit(null, (tx) => clearResumeMark(tx, r.id));
  r.armIdle();
}
