import { ErrorCodes, WorkerRequestError } from "@starling/protocol";
import { HostKeys } from "../state/host-store.js";
import type { InboundItem } from "../state/records.js";
import { hasResumeMark, markResume } from "./recovery.js";
import type { SessionRunner } from "./session-runner.js";
import { errorText } from "./util.js";
import type { WorkerHandle } from "./worker-handle.js";

/** `session/enqueue`, and only once acknowledged, delete the inbound item (commit point `handoff`). */
export async function handOff(r: SessionRunner, handle: WorkerHandle, item: InboundItem): Promise<boolean> {
  if (!handle.usable) return false;
  r.inFlight.add(item.messageId);
  try {
    const kind = (item as InboundItem & { kind?: "user" | "actor" }).kind ?? "user";
    const result = await handle.client.enqueue({ messageId: item.messageId, kind, message: item.message });
    await r.store.commit("handoff", (tx) => {
      if (r.store.get(HostKeys.inbound(item.seq)) !== undefined) tx.del(HostKeys.inbound(item.seq));
      markResume(r.store, tx, r.id);
    });
    if (!result.duplicate) handle.newInputs++;
    r.log.debug({ messageId: item.messageId, seq: item.seq, duplicate: result.duplicate }, "message handed off");
    return true;
  } catch (err) {
    if (err instanceof WorkerRequestError && err.code === ErrorCodes.InvalidParams) {
      // The worker will never accept it; keeping it would block every later message of the session.
      r.noteError(`message ${item.messageId} rejected by the worker and dropped`, err);
      await r.store.commit("handoff", (tx) => tx.del(HostKeys.inbound(item.seq)));
      return true;
    }
    r.log.warn({ messageId: item.messageId, err: errorText(err) }, "hand-off failed; the message stays stored and is re-sent");
    return false;
  } finally {
    r.inFlight.delete(item.messageId);
  }
}

/** Sends the wanted `session/continue` (an automatic one is dropped if a new message supersedes the turn). */
export async function sendContinue(r: SessionRunner, handle: WorkerHandle): Promise<void> {
  const want = r.continueWanted!;
  r.continueWanted = null;
  if (want.auto && handle.newInputs > 0) {
    r.log.info({ turnId: want.turnId }, "automatic continue dropped: a new message supersedes the recovered turn");
    return;
  }
  if (want.turnId !== null) handle.continued.add(want.turnId);
  try {
    if (!hasResumeMark(r.store, r.id)) await r.store.commit(null, (tx) => markResume(r.store, tx, r.id));
    if (!handle.usable) throw new Error("the worker stopped before the continue could be sent");
    const result = await handle.client.continue({ reason: want.reason });
    r.log.info({ auto: want.auto, turnId: want.turnId, result }, "continue sent");
    want.resolve?.(result);
  } catch (err) {
    r.log.warn({ err: errorText(err) }, "continue failed");
    want.resolve?.({ accepted: false, reason: `the session worker stopped (${errorText(err)})` });
  }
}
