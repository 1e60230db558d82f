import type pino from "pino";
import { AbortedError, backoffDelay, isAbortError, sleep, telegramCode } from "./api-retry.js";
import type { BotApi } from "./bot-api.js";
import type { TelegramUpdate } from "./telegram-message.js";

export const ALLOWED_UPDATES = ["message", "edited_message", "callback_query"] as const;

/** How long one update may take to handle before the log says polling waits for it (and again each time after). */
const SLOW_UPDATE_MS = 10_000;

/** `message /continue`, `edited_message`, `callback_query`: what an update is, for the log (no user text beyond a command's name). */
function updateKind(update: TelegramUpdate): string {
  const kind = Object.keys(update).find((key) => key !== "update_id") ?? "unknown";
  const command = /^\/[A-Za-z0-9_]+/.exec(update.message?.text ?? "")?.[0];
  return command ? `${kind} ${command}` : kind;
}

export interface PollerOptions {
  api: BotApi;
  log: pino.Logger;
  pollTimeoutSeconds: number;
  pollIntervalMs: number;
  /** Last update id already admitted (durably); polling starts after it. */
  lastUpdateId: () => number;
  /**
   * Admits one update durably (its id written in the same commit as its effects). The next
   * `getUpdates` (which confirms the offset to Telegram) is only sent after it resolves.
   */
  handle: (update: TelegramUpdate, signal: AbortSignal) => Promise<void>;
  /**
   * Optional: admits a leading run of `updates` durably in one commit; resolves with how many (0 when
   * the first update is not for it). The offset moves past them only after it resolves.
   */
  handleBatch?: (updates: TelegramUpdate[]) => Promise<number>;
  /** Extra seconds past the long-poll timeout before the watchdog aborts a hung request (default 30). */
  watchdogGraceSeconds?: number;
  /** How many times one update may fail to be admitted before it is skipped (default 5). */
  maxHandleAttempts?: number;
  /** After how long (and again each time after) the log says an update is still being handled (default 10 s). */
  slowUpdateMs?: number;
}

/**
 * Test-only: `STARLING_TEST_TELEGRAM_WATCHDOG_GRACE_SECONDS` shortens the watchdog's grace so a test can
 * hang a `getUpdates` and see polling recover within seconds. Not a setting: the default suits Telegram.
 */
function watchdogGraceFromEnv(): number | undefined {
  const value = Number(process.env["STARLING_TEST_TELEGRAM_WATCHDOG_GRACE_SECONDS"] ?? NaN);
  return Number.isFinite(value) && value > 0 ? value : undefined;
}

/** First backoff after a 409 conflict (doubling up to 60 s): another poller usually stops within seconds. */
const CONFLICT_BACKOFF_MS = 5000;

/**
 * Test-only: `STARLING_TEST_TELEGRAM_CONFLICT_BACKOFF_MS` (a whole number of ms, 1 to 5000) shortens the first
 * backoff after a 409 conflict, which a test injecting one would otherwise wait out. Not a setting.
 */
function conflictBackoffFromEnv(): number {
  const raw = process.env["STARLING_TEST_TELEGRAM_CONFLICT_BACKOFF_MS"];
  if (raw === undefined || raw === "") return CONFLICT_BACKOFF_MS;
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || value < 1 || value > CONFLICT_BACKOFF_MS) {
    throw new Error(`STARLING_TEST_TELEGRAM_CONFLICT_BACKOFF_MS must be a whole number of ms from 1 to ${CONFLICT_BACKOFF_MS} (it is ${JSON.stringify(raw)}); unset it for the default.`);
  }
  return value;
}

/**
 * The long-poll loop (ARCHITECTURE §5.1, §8). Each update is fully handled before the next
 * `getUpdates` moves the offset past it, so Telegram only forgets what is stored. A watchdog
 * aborts a `getUpdates` that hangs longer than `pollTimeoutSeconds + 30` s and polls again.
 */
export class Poller {
  private readonly stopController = new AbortController();
  private requestController: AbortController | null = null;
  private requestStartedAt = 0;
  private watchdog: NodeJS.Timeout | undefined;
  private loop: Promise<void> | null = null;
  private offset = 0;
  private failures = new Map<number, number>();
  /** Time of the last completed `getUpdates` (for health and tests). */
  lastPollAt = 0;
  /** Read when the poller is made, so a bad test value stops the host at start, not at the first 409. */
  private readonly conflictBackoffMs = conflictBackoffFromEnv();

  constructor(private readonly options: PollerOptions) {}

  start(): void {
    if (this.loop) return;
    this.offset = this.options.lastUpdateId() + 1;
    const graceMs = (this.options.pollTimeoutSeconds + (this.options.watchdogGraceSeconds ?? watchdogGraceFromEnv() ?? 30)) * 1000;
    this.watchdog = setInterval(() => this.checkHung(graceMs), Math.min(5000, Math.max(200, graceMs / 4)));
    this.watchdog.unref();
    this.loop = this.run().catch((err) => {
      if (!isAbortError(err)) this.options.log.error({ error: this.options.api.describe(err) }, "telegram polling stopped unexpectedly");
    });
  }

  /** Aborts the long poll at once; waits (bounded) for the update being handled to finish. */
  async stop(timeoutMs = 5000): Promise<void> {
    this.stopController.abort();
    clearInterval(this.watchdog);
    if (this.loop) await Promise.race([this.loop, sleep(timeoutMs).catch(() => undefined)]);
  }

  private checkHung(graceMs: number): void {
    const request = this.requestController;
    if (!request || Date.now() - this.requestStartedAt < graceMs) return;
    this.options.log.warn({ seconds: Math.round((Date.now() - this.requestStartedAt) / 1000) }, "getUpdates hung; watchdog restarts polling");
    request.abort();
  }

  private async run(): Promise<void> {
    const stop = this.stopController.signal;
    const { api } = this.options;
    let errors = 0;
    while (!stop.aborted) {
      let updates: TelegramUpdate[];
      const request = new AbortController();
      const onStop = () => request.abort();
      stop.addEventListener("abort", onStop, { once: true });
      this.requestController = request;
      this.requestStartedAt = Date.now();
      try {
        // 429 / 5xx / network failures are retried inside (the one retry policy); the watchdog
        // aborts a request (or a backoff) that takes longer than the long-poll timeout allows.
        updates = (await api.call(
          "getUpdates",
          { offset: this.offset, timeout: this.options.pollTimeoutSeconds, allowed_updates: [...ALLOWED_UPDATES] },
          { signal: request.signal },
        )) as unknown as TelegramUpdate[];
        this.lastPollAt = Date.now();
        errors = 0;
      } catch (err) {
        if (stop.aborted) return;
        if (request.signal.aborted) continue; // the watchdog aborted a hung request: poll again
        errors++;
        await sleep(this.delayAfter(err, errors), stop).catch(() => undefined);
        continue;
      } finally {
        stop.removeEventListener("abort", onStop);
        this.requestController = null;
      }
      for (let i = 0; i < updates.length; i++) {
        const update = updates[i]!;
        if (stop.aborted) return;
        if (update.update_id < this.offset) continue;
        if (update.update_id <= this.options.lastUpdateId()) {
          // Admitted before (e.g. re-delivered after a crash before the offset was confirmed).
          this.offset = update.update_id + 1;
          continue;
        }
        const together = await this.handleRun(updates.slice(i));
        if (together > 0) {
          i += together - 1;
          this.offset = updates[i]!.update_id + 1;
          continue;
        }
        const handled = await this.handleOne(update, stop);
        if (!handled) break; // poll again from this update (offset not moved)
        this.offset = update.update_id + 1;
      }
      if (this.options.pollIntervalMs > 0 && !stop.aborted) await sleep(this.options.pollIntervalMs, stop).catch(() => undefined);
    }
  }

  /** Updates admitted together from the start of `rest` (0: none; a failure leaves them to `handleOne`). */
  private async handleRun(rest: TelegramUpdate[]): Promise<number> {
    if (!this.options.handleBatch || rest.length < 2) return 0;
    try {
      return await this.options.handleBatch(rest);
    } catch (err) {
      this.options.log.warn({ error: this.options.api.describe(err) }, "admitting a batch of updates together failed; admitting them one by one");
      return 0;
    }
  }

  /** True when the update is done with (admitted, or skipped after too many failures). */
  private async handleOne(update: TelegramUpdate, stop: AbortSignal): Promise<boolean> {
    const { log, api } = this.options;
    // Updates are handled one at a time, so one that hangs holds every chat of the bot: say so in the log.
    const startedAt = Date.now();
    const slow = setInterval(() => {
      log.warn({ updateId: update.update_id, kind: updateKind(update), seconds: Math.round((Date.now() - startedAt) / 1000) }, "a telegram update is still being handled; later updates wait");
    }, this.options.slowUpdateMs ?? SLOW_UPDATE_MS);
    slow.unref();
    try {
      await this.options.handle(update, stop);
      this.failures.delete(update.update_id);
      return true;
    } catch (err) {
      if (stop.aborted) throw new AbortedError();
      const attempts = (this.failures.get(update.update_id) ?? 0) + 1;
      this.failures.set(update.update_id, attempts);
      const max = this.options.maxHandleAttempts ?? 5;
      if (attempts >= max) {
        log.error({ updateId: update.update_id, attempts, error: api.describe(err) }, "telegram update could not be handled; skipping it");
        this.failures.delete(update.update_id);
        return true;
      }
      log.warn({ updateId: update.update_id, attempt: attempts, error: api.describe(err) }, "telegram update failed; will retry");
      await sleep(backoffDelay(attempts, 500, 10_000), stop).catch(() => undefined);
      return false;
    } finally {
      clearInterval(slow);
    }
  }

  /** Backoff after a failure the retry policy gave up on (409 conflict, bad token, other 4xx). */
  private delayAfter(err: unknown, errors: number): number {
    const { log, api } = this.options;
    const code = telegramCode(err);
    const error = api.describe(err);
    if (code === 409) {
      log.error({ error }, "getUpdates conflict: another process is polling this bot (or a webhook is set). Stop it; retrying in a while");
      return backoffDelay(errors, this.conflictBackoffMs, 60_000);
    }
    if (code === 401 || code === 404) {
      log.error({ error }, "getUpdates rejected: the bot token is invalid or revoked");
      return backoffDelay(errors, 10_000, 300_000);
    }
    log.warn({ error, consecutive: errors }, "getUpdates failed; retrying");
    return backoffDelay(errors, 1000, 30_000);
  }
}
