import { setTimeout as sleep } from "node:timers/promises";

/** A failed store write is tried again after this long, doubled per failure in a row, capped. */
const STORE_RETRY_MS = 250;
const STORE_RETRY_MAX_MS = 30_000;

export interface StoreRetryOptions {
  signal: AbortSignal;
  /** Errors that end the loop at once (rethrown), e.g. an aborted send. */
  isFatal?: (err: unknown) => boolean;
  /** Called for every failure with the delay before the next try (log it at error level). */
  onFailure: (err: unknown, delayMs: number, failures: number) => void;
}

/**
 * Runs `attempt` until it succeeds (true) or the signal stops it (false). Used by the outbox senders,
 * whose only failures are store writes (EIO, disk full): the same item is tried again with backoff,
 * so a disk that recovers drains the outbox without anything else waking it.
 */
export async function retryStoreWrite(attempt: () => Promise<void>, o: StoreRetryOptions): Promise<boolean> {
  for (let failures = 1; !o.signal.aborted; failures++) {
    try {
      await attempt();
      return true;
    } catch (err) {
      if (o.signal.aborted) return false;
      if (o.isFatal?.(err)) throw err;
      const delayMs = Math.min(STORE_RETRY_MAX_MS, STORE_RETRY_MS * 2 ** (failures - 1));
      o.onFailure(err, delayMs, failures);
      await sleep(delayMs, undefined, { signal: o.signal }).catch(() => undefined); // a stop ends the wait
    }
  }
  return false;
}
