import { ErrorCodes, WorkerRequestError } from "@starling/protocol";
import { HostKeys } from "../state/host-store.js";
import type { InboundItem } from "../state/records.js";
import { ensureResumeMark, markResume } from "./recovery.js";
import { clearWantedContinue, hasWantedContinue } from "./user-intent.js";
import type { SessionRunner } from "./session-runner.js";
import type { ContinueRequest } from "./session-state.js";
import { errorText } from "./util.js";
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
    const result = await handle.rest.track(() => handle.client.enqueue({ messageId: item.messageId, kind, message: item.message }));
    await r.store.commit("handoff", (tx) => {
      if (r.store.get(HostKeys.inbound(item.seq)) !== undefined) tx.del(HostKeys.inbound(item.seq));
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
    const result = await handle.rest.track(() => handle.client.continue({ reason: want.reason }));
    r.log.info({ auto: want.auto, turnId: want.turnId, result }, "continue sent");
    want.resolve?.(result);
    if (!want.auto && hasWantedContinue(r.store, r.id)) await r.store.commit(null, (tx) => clearWantedContinue(r.store, tx, r.id));
  } catch (err) {
    if (handle.lostBy(err)) return r.requeueContinue(want);
    r.log.warn({ err: errorText(err) }, "continue failed");
    want.resolve?.({ accepted: false, reason: `the session worker stopped (${errorText(err)})` });
  }
}
