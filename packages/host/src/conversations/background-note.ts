import { type BackgroundCounts, describeBackground, hasBackground } from "@starling/protocol";

/** /status's line for what keeps the session's worker up past its idle time (sessions/idle-shutdown.ts); none when nothing runs. */
export function backgroundStatusLines(left: BackgroundCounts | undefined): string[] {
  if (!hasBackground(left)) return [];
  const one = left.commands + left.jobs === 1;
  return [`Background: ${describeBackground(left)} running; the worker stays up until ${one ? "it ends" : "they end"} (/cancel stops ${one ? "it" : "them"})`];
}

/** Follows a setting's reply when applying it restarted the worker, which stopped what its tools left running. */
export function restartStoppedNote(left: BackgroundCounts | null): string {
  return hasBackground(left) ? ` Restarting the session's worker for it stopped ${describeBackground(left)} left running in the background.` : "";
}

/** Follows /new's reply when retiring the old session's worker stopped what its tools left running. */
export function retireStoppedNote(left: BackgroundCounts | undefined): string {
  return hasBackground(left) ? ` Stopped ${describeBackground(left)} the old session left running in the background.` : "";
}
