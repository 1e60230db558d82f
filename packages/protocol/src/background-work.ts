import type { LiveState } from "./methods.js";

/** What a worker's tools left running past their turns (`live_state.background`), which the worker's exit stops. */
export type BackgroundCounts = NonNullable<LiveState["background"]>;

/** Something is left running. */
export function hasBackground(counts: BackgroundCounts | null | undefined): counts is BackgroundCounts {
  return counts !== null && counts !== undefined && counts.commands + counts.jobs > 0;
}

/** "1 command and 2 downloads or media jobs": the words the worker's /cancel answer and the host's notes share. */
export function describeBackground({ commands, jobs }: BackgroundCounts): string {
  const parts = [commands ? `${commands} command${commands === 1 ? "" : "s"}` : "", jobs ? `${jobs} download${jobs === 1 ? "" : "s"} or media job${jobs === 1 ? "" : "s"}` : ""];
  return parts.filter(Boolean).join(" and ");
}
