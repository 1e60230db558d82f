/** Restarts of a worker that exits unexpectedly: capped exponential backoff, then give up. */
export interface RestartPolicy {
  /** Delay before the first restart. */
  initialDelayMs: number;
  /** The delay doubles per consecutive failure up to this cap. */
  maxDelayMs: number;
  /** Consecutive failures (crashes or failed starts without progress in between) before giving up. */
  maxAttempts: number;
}

export const DEFAULT_RESTART_POLICY: RestartPolicy = { initialDelayMs: 250, maxDelayMs: 30_000, maxAttempts: 8 };

export function restartPolicy(overrides: Partial<RestartPolicy> | undefined): RestartPolicy {
  return { ...DEFAULT_RESTART_POLICY, ...overrides };
}

/** Delay before restart number `attempt` (1-based): initial · 2^(attempt-1), capped. */
export function backoffDelay(policy: RestartPolicy, attempt: number): number {
  const exponent = Math.max(0, attempt - 1);
  return Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** Math.min(exponent, 30));
}
