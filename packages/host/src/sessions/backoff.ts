/** Restarts of a worker that exits unexpectedly: capped exponential backoff, then give up. */
export interface RestartPolicy {
  /** Delay before the first restart. */
  initialDelayMs: number;
  /** The delay is multiplied by this per consecutive failure, up to `maxDelayMs`. */
  factor: number;
  /** Cap of the delay. */
  maxDelayMs: number;
  /** Consecutive failures (crashes or failed starts without progress in between) before giving up. */
  maxAttempts: number;
}

/**
 * A first restart after 25 ms (a single crash costs the user little), then ×3: 25, 75, 225, 675 ms,
 * 2 s, 6 s, 18 s, 30 s — a crash loop still backs off to the cap and gives up after 8 failures,
 * about a minute after the first, as the former 250 ms doubling did.
 */
export const DEFAULT_RESTART_POLICY: RestartPolicy = { initialDelayMs: 25, factor: 3, maxDelayMs: 30_000, maxAttempts: 8 };

export function restartPolicy(overrides: Partial<RestartPolicy> | undefined): RestartPolicy {
  return { ...DEFAULT_RESTART_POLICY, ...overrides };
}

/** Delay before restart number `attempt` (1-based): initial · factor^(attempt-1), capped. */
export function backoffDelay(policy: RestartPolicy, attempt: number): number {
  const exponent = Math.max(0, attempt - 1);
  return Math.min(policy.maxDelayMs, policy.initialDelayMs * policy.factor ** Math.min(exponent, 30));
}
