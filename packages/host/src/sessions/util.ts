import type { LiveState } from "@starling/protocol";

/** Worker states in which no turn is running. */
export const RESTING_STATES: ReadonlySet<LiveState["state"]> = new Set(["idle", "awaitingContinue", "crashed", "stopping"]);

/** The start of a refused /continue's reason when the session's worker cannot be started (commands.ts offers a retry). */
export const WORKER_START_FAILED = "the session's worker could not be started";
/** The start of a worker's (and the supervisor's) refusal of a continue when no turn waits for one (core session.ts). */
export const NOTHING_TO_CONTINUE = "nothing to continue";

/**
 * A session that cannot be launched until someone fixes its setup (no usable chat model, no ChatGPT
 * sign-in): starting it again cannot help, so the session gives up at once and tells the chat why,
 * instead of retrying with backoff. A new message or /continue tries again.
 */
export class LaunchRefused extends Error {}

export function autoReason(attempt: number, max: number): string {
  return `automatic continue ${attempt}/${max} after the worker stopped mid-turn`;
}

export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Runs `body` one at a time: a `run()` while it runs makes it run once more afterwards (unless `stopped`). */
export class CoalescedRun {
  private running = false;
  private again = false;

  constructor(
    private readonly body: () => Promise<void>,
    private readonly stopped: () => boolean,
    private readonly onError: (err: unknown) => void,
  ) {}

  run(): void {
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    void (async () => {
      try {
        do {
          this.again = false;
          await this.body();
        } while (this.again && !this.stopped());
      } catch (err) {
        this.onError(err);
      } finally {
        this.running = false;
      }
    })();
  }
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

/** `promise`'s value, or `undefined` if it has not settled after `ms` (it runs on); never rejects unless `promise` does. */
export function valueWithin<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  return new Promise<T | undefined>((resolve, reject) => {
    const timer = setTimeout(() => resolve(undefined), ms);
    timer.unref();
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err);
      },
    );
  });
}
