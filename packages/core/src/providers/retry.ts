import type { RetryMode } from "@starling/protocol";
import { ProviderError, type RetryNotice } from "./types.js";

/** Delay before the single retry made when no `retry_mode` is configured and the server gave no `retry-after`. */
export const DEFAULT_RETRY_DELAY_MS = 1_000;
/** A `retry-after` longer than this is not waited out: the call fails and the turn can be continued later. */
export const MAX_RETRY_AFTER_MS = 120_000;

export interface RetryOptions {
  signal: AbortSignal;
  /**
   * `"once"`: a single attempt, no retry (Stellaclaw meaning). `random_interval`: up to `max_retries`
   * retries after random waits. Not configured: one retry after DEFAULT_RETRY_DELAY_MS.
   */
  retryMode?: RetryMode | undefined;
  /** Called before each retry sleep. Must not throw. */
  onRetry?: ((notice: RetryNotice) => void) | undefined;
  /** Uniform random number in [0, 1); injectable for tests. */
  random?: () => number;
}

/**
 * Runs `task` until it succeeds, fails with a non-retryable ProviderError, or the retry budget
 * of `retryMode` is spent (the last error is rethrown). Retryable: network, timeout,
 * rate_limited, server. A `retry-after` hint is honoured (waits at least that long) unless it
 * exceeds MAX_RETRY_AFTER_MS. Aborting `signal` rejects with kind `aborted`, also during a sleep;
 * aborted errors are never retried.
 */
export async function withRetries<T>(task: (attempt: number) => Promise<T>, options: RetryOptions): Promise<T> {
  const { signal } = options;
  const maxRetries = retryBudget(options.retryMode);
  for (let attempt = 0; ; attempt++) {
    throwIfAborted(signal);
    try {
      return await task(attempt);
    } catch (cause) {
      const error = toProviderError(cause, signal);
      if (!error.retryable || error.kind === "aborted" || attempt >= maxRetries) throw error;
      const retryAfterMs = error.options.retryAfterMs;
      if (retryAfterMs !== undefined && retryAfterMs > MAX_RETRY_AFTER_MS) throw error;
      const delayMs = retryDelayMs(options.retryMode, retryAfterMs, options.random ?? Math.random);
      options.onRetry?.({ attempt: attempt + 1, delayMs, error });
      await sleep(delayMs, signal);
    }
  }
}

/** How many retries a mode allows after the first attempt. */
export function retryBudget(mode: RetryMode | undefined): number {
  if (mode === "once") return 0;
  if (mode === undefined) return 1;
  return mode.random_interval.max_retries;
}

/** The wait before a retry: the mode's own delay, raised to `retryAfterMs` when the server asked for more. */
export function retryDelayMs(mode: RetryMode | undefined, retryAfterMs: number | undefined, random: () => number): number {
  let base: number;
  if (mode === undefined || mode === "once") {
    base = retryAfterMs ?? DEFAULT_RETRY_DELAY_MS;
  } else {
    const maxSecs = Math.max(0, Math.floor(mode.random_interval.max_interval_secs));
    base = Math.floor(random() * (maxSecs + 1)) * 1_000;
  }
  return Math.max(base, retryAfterMs ?? 0);
}

/** Resolves after `ms`, or rejects with ProviderError kind `aborted` as soon as `signal` aborts. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(abortedError(signal));
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(abortedError(signal));
    };
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

export function abortedError(signal?: AbortSignal): ProviderError {
  return new ProviderError("aborted", "model request aborted", { cause: signal?.reason, retryable: false });
}

function throwIfAborted(signal: AbortSignal): void {
  if (signal.aborted) throw abortedError(signal);
}

function toProviderError(cause: unknown, signal: AbortSignal): ProviderError {
  if (signal.aborted) return cause instanceof ProviderError && cause.kind === "aborted" ? cause : abortedError(signal);
  if (cause instanceof ProviderError) return cause;
  const message = cause instanceof Error ? cause.message : String(cause);
  return new ProviderError("internal", `model request failed: ${message}`, { cause, retryable: false });
}
