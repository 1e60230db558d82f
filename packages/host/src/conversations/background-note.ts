import type { BackgroundLeft } from "../sessions/supervisor.js";

/** "1 command and 2 downloads or media jobs": what a session's tools left running. */
function describe({ commands, jobs }: BackgroundLeft): string {
  const parts = [commands ? `${commands} command${commands === 1 ? "" : "s"}` : "", jobs ? `${jobs} download${jobs === 1 ? "" : "s"} or media job${jobs === 1 ? "" : "s"}` : ""];
  return parts.filter(Boolean).join(" and ");
}

/** /status's line for what keeps the session's worker up past its idle time (sessions/idle-shutdown.ts); none when nothing runs. */
export function backgroundStatusLines(left: BackgroundLeft | undefined): string[] {
  if (!left || left.commands + left.jobs === 0) return [];
  const one = left.commands + left.jobs === 1;
  return [`Background: ${describe(left)} running; the worker stays up until ${one ? "it ends" : "they end"} (/cancel stops ${one ? "it" : "them"})`];
}

/** Follows a setting's reply when applying it restarted the worker, which stopped what its tools left running. */
export function restartStoppedNote(left: BackgroundLeft | null): string {
  return left ? ` Restarting the session's worker for it stopped ${describe(left)} left running in the background.` : "";
}

/** Follows /new's reply when retiring the old session's worker stopped what its tools left running. */
export function retireStoppedNote(left: BackgroundLeft | undefined): string {
  return left && left.commands + left.jobs > 0 ? ` Stopped ${describe(left)} the old session left running in the background.` : "";
}
