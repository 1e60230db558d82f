import { TelegramError } from "telegraf";

/**
 * The one retry policy of the Telegram channel (STYLE habit 20): a 429 waits `retry_after`
 * seconds, 5xx answers and network failures back off exponentially (capped), every other
 * Telegram error is thrown at once. Sleeps are abortable, so `stop()` never waits on a backoff.
 */

export type FailureClass = "aborted" | "rate_limited" | "transient" | "permanent";

export interface RetryOptions {
  /** Aborts the wait between attempts and is passed to every attempt. */
  signal?: AbortSignal;
  /** Aborts the wait between attempts too (BotApi's `roomSignal`: a stop does not wait out a 429's `retry_after`). */
  waitSignal?: AbortSignal;
  /** Attempts in total (default: unlimited until the signal aborts). */
  maxAttempts?: number;
  /** First backoff delay for 5xx/network failures (default 500 ms); doubles per attempt. */
  baseDelayMs?: number;
  /** Backoff ceiling (default 30 s). */
  maxDelayMs?: number;
  /** Called before each wait, e.g. to log the retry. Must not throw. */
  onRetry?: (info: { attempt: number; delayMs: number; failure: FailureClass; error: unknown }) => void;
}

export class AbortedError extends Error {
  constructor(message = "aborted") {
    super(message);
    this.name = "AbortError";
  }
}

export function isAbortError(err: unknown): boolean {
  return err instanceof Error && (err.name === "AbortError" || (err as { type?: string }).type === "aborted");
}

/** The Telegram error code of a failed Bot API call, or null for network-level failures. */
export function telegramCode(err: unknown): number | null {
  return err instanceof TelegramError ? err.code : null;
}

/** Telegram's description of a failed call, lower-cased ("" when not a Bot API error). */
export function telegramDescription(err: unknown): string {
  return err instanceof TelegramError ? String(err.description ?? "").toLowerCase() : "";
}

export function classifyFailure(err: unknown, signal?: AbortSignal): FailureClass {
  if (signal?.aborted || isAbortError(err)) return "aborted";
  if (err instanceof TelegramError) {
    if (err.code === 429) return "rate_limited";
    if (err.code >= 500) return "transient";
    return "permanent";
  }
  // node-fetch FetchError, undici errors, ECONNRESET, invalid JSON from a proxy…: the network failed.
  return "transient";
}

/** Seconds Telegram asked us to wait (429 `parameters.retry_after`), default 1. */
export function retryAfterSeconds(err: unknown): number {
  const value = err instanceof TelegramError ? err.parameters?.retry_after : undefined;
  return typeof value === "number" && value >= 0 ? value : 1;
}

/** `setTimeout` as a promise that rejects with an AbortError when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new AbortedError());
    const onAbort = () => {
      clearTimeout(timer);
      reject(new AbortedError());
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

export function backoffDelay(attempt: number, baseDelayMs = 500, maxDelayMs = 30_000): number {
  const exp = Math.min(maxDelayMs, baseDelayMs * 2 ** Math.max(0, attempt - 1));
  // ±20 % jitter so many chats do not retry in lockstep.
  return Math.round(exp * (0.8 + Math.random() * 0.4));
}

/** Runs `task` until it succeeds, a permanent failure is thrown, attempts run out or `signal` aborts. */
export async function withRetries<T>(task: (signal?: AbortSignal) => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const { signal, maxAttempts = Number.POSITIVE_INFINITY } = options;
  for (let attempt = 1; ; attempt++) {
    if (signal?.aborted) throw new AbortedError();
    try {
      return await task(signal);
    } catch (err) {
      const failure = classifyFailure(err, signal);
      if (failure === "aborted") throw signal?.aborted ? new AbortedError() : err;
      if (failure === "permanent" || attempt >= maxAttempts) throw err;
      const delayMs =
        failure === "rate_limited"
          ? retryAfterSeconds(err) * 1000
          : backoffDelay(attempt, options.baseDelayMs, options.maxDelayMs);
      options.onRetry?.({ attempt, delayMs, failure, error: err });
      await sleep(delayMs, options.waitSignal ? AbortSignal.any([options.waitSignal, ...(signal ? [signal] : [])]) : signal);
    }
  }
}
