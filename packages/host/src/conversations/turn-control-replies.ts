import type { CancelResult, ContinueResult, ContinueWait, StuckWorkerKilled } from "../sessions/supervisor.js";
import { seconds } from "../sessions/answer-deadline.js";

/** How every command's reply names a worker it killed for not answering (answer-deadline.ts). */
export function stuckWorkerText(ms: number): string {
  return `⚠️ The session's worker did not answer within ${seconds(ms)} (it was stuck)`;
}

/** /cancel's reply when the worker did not answer it: killed as stuck, its turn marked cancelled first (supervisor.cancel). */
export function stuckCancelText(stuck: StuckWorkerKilled): string {
  const stuckText = stuckWorkerText(stuck.noAnswer.ms);
  if (stuck.turnId === null) return `${stuckText}, so it was killed. No turn was running; the next message starts a new worker.`;
  return `${stuckText}, so it was killed and restarted. The running turn stopped; send /continue to resume it.`;
}

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
    return `${stuckWorkerText(result.stuck.ms)}, so it was killed and restarted. The last turn continues once the new worker is ready.`;
  }
  if (result.waitingFor === "worker") return "Continuing the last turn once the session's worker is ready…";
  return "Continuing the last turn…";
}

/** A control rejection's reason without the "nothing to …:" the worker and supervisor start it with (the reply says it already). */
export function reasonAfter(prefix: string, reason: string | undefined): string | undefined {
  if (!reason) return undefined;
  return reason.toLowerCase().startsWith(`${prefix}:`) ? reason.slice(prefix.length + 1).trim() || undefined : reason;
}
