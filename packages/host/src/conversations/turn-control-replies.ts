import type { CancelResult, ContinueResult, ContinueWait } from "../sessions/supervisor.js";
import { seconds } from "../sessions/answer-deadline.js";

/** What a withdrawn or acknowledged continue was waiting for, as the user reads it. */
const WAITING_FOR: Record<ContinueWait, string> = {
  slot: "a free turn slot",
  worker: "the session's worker to start",
};

/**
 * /cancel's reply when no turn was running but a continue still waited (supervisor.cancel `withdrew`): the turn
 * stays unfinished; an automatic continue (after a crash) is not tried again by itself.
 */
export function withdrawnContinueText(withdrew: NonNullable<CancelResult["withdrew"]>, notes: string): string {
  const waited = WAITING_FOR[withdrew.waitingFor];
  if (withdrew.auto) {
    return `Stopped the automatic continue of the interrupted turn (it was waiting for ${waited}): the turn will not be resumed automatically.${notes} Send /continue to resume it.`;
  }
  return `Withdrew the /continue that was waiting for ${waited}: the turn stays unfinished.${notes} Send /continue to resume it.`;
}

/** /continue's reply when accepted (the "trying again" of a given-up session aside). */
export function continueAcceptedText(result: ContinueResult): string {
  if (result.stuck) {
    return `⚠️ The session's worker did not answer within ${seconds(result.stuck.ms)} (it was stuck), so it was killed and restarted. The last turn continues once the new worker is ready.`;
  }
  if (result.waitingFor === "worker") return "Continuing the last turn once the session's worker is ready…";
  return "Continuing the last turn…";
}
