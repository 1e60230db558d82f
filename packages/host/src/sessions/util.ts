import type { LiveState } from "@starling/protocol";

/** Worker states in which no turn is running. */
export const RESTING_STATES: ReadonlySet<LiveState["state"]> = new Set(["idle", "awaitingContinue", "crashed", "stopping"]);

export function autoReason(attempt: number, max: number): string {
  return `automatic continue ${attempt}/${max} after the worker stopped mid-turn`;
}

export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Resolves when `promise` settles or after `ms`, whichever comes first; never rejects. */
export function withTimeout(promise: Promise<unknown>, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    timer.unref();
    void promise.finally(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}
