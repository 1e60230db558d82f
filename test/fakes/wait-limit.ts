/**
 * The time limit of every test wait (`until`, `waitUntil`, `waitFor`). A wait's limit only detects a
 * failing test; it is never a timing assertion (speed belongs to `pnpm bench`). So no wait gives up
 * before 30 s, whatever a call site asks: on a loaded CI machine (two test files at a time on 2 cores)
 * a correct test must not fail because its condition took 6 s instead of 1.
 */
export const MIN_WAIT_MS = 30_000;

export function waitLimit(timeoutMs: number): number {
  return Math.max(timeoutMs, MIN_WAIT_MS);
}
