import { Telegram } from "telegraf";
import type pino from "pino";
import type { Opts, Telegram as ApiMethods } from "telegraf/types";
import { isAbortError, retryAfterSeconds, sleep, telegramCode, withRetries, type RetryOptions } from "./api-retry.js";
import { SendBudget } from "./send-budget.js";

type MethodName = keyof ApiMethods;
type CallResult<M extends MethodName> = Promise<ReturnType<ApiMethods[M]>>;

export interface CallOptions extends Omit<RetryOptions, "onRetry"> {
  /** Log retries at debug instead of warn (best-effort calls such as typing). */
  quiet?: boolean;
  /**
   * How the call uses the send budget: `wait` (default) waits for room, `cosmetic` (panel edits,
   * typing) throws BudgetDeferredError when there is none now.
   */
  budget?: "wait" | "cosmetic";
  /**
   * The payload for attempts after one whose outcome is unknown (the connection failed, so Telegram
   * may have done it): a send labels its re-send as a possible duplicate (ARCHITECTURE §5.5).
   */
  afterUnknownOutcome?: (payload: never) => unknown;
}

/** Calls that post or change a message: they count against Telegram's flood limits. */
const COUNTED = /^(send(?!ChatAction)[A-Za-z]*|edit[A-Za-z]+|copyMessages?|forwardMessages?)$/;

/**
 * The channel's Bot API client: telegraf's `Telegram` for the wire, every call through the one
 * retry policy, and error text with the bot token removed before anything is logged.
 */
export class BotApi {
  readonly telegram: Telegram;
  /**
   * Chat id → time until which calls for that chat wait: a 429 on any call for a chat (a typing
   * action, a panel edit) holds back every call for it, not only the retry of the refused one.
   */
  private readonly cooldowns = new Map<string, number>();

  constructor(
    private readonly token: string,
    readonly apiRoot: string,
    private readonly log: pino.Logger,
    private readonly retryDefaults: Pick<RetryOptions, "baseDelayMs" | "maxDelayMs"> = {},
    readonly budget: SendBudget = new SendBudget(),
  ) {
    this.telegram = new Telegram(token, { apiRoot });
  }

  /** One Bot API call with retries (429 → retry_after, 5xx/network → backoff, other 4xx thrown). */
  call<M extends MethodName>(method: M, payload: Opts<M>, options: CallOptions = {}): CallResult<M> {
    const { quiet, budget = "wait", afterUnknownOutcome, ...retry } = options;
    let body = payload;
    const chat = chatKey(payload);
    const counted = chat !== null && COUNTED.test(method);
    const timeoutMs = method === "getUpdates" ? null : UPLOADS.test(method) ? UPLOAD_TIMEOUT_MS : REQUEST_TIMEOUT_MS;
    return withRetries(
      async (signal) => {
        if (chat !== null && budget === "cosmetic") this.budget.checkNotPaused(this.cooldowns.get(chat));
        if (chat !== null) await this.coolDown(chat, signal);
        if (counted && budget === "wait") await this.budget.acquire(chat, signal);
        else if (counted) this.budget.tryAcquire(chat);
        try {
          return await this.telegram.callApi(method, body, { signal: withTimeout(signal, timeoutMs) as never });
        } catch (thrown) {
          const err = timedOut(thrown, signal, method, timeoutMs);
          if (afterUnknownOutcome && telegramCode(err) === null && !isAbortError(err)) body = afterUnknownOutcome(payload as never) as Opts<M>;
          if (chat !== null && telegramCode(err) === 429) {
            this.cooldowns.set(chat, Math.max(this.cooldowns.get(chat) ?? 0, Date.now() + retryAfterSeconds(err) * 1000));
          }
          throw err;
        }
      },
      {
        ...this.retryDefaults,
        ...retry,
        onRetry: ({ attempt, delayMs, failure, error }) => {
          const line = { method, attempt, delayMs, failure, error: this.describe(error) };
          if (quiet) this.log.debug(line, "telegram call failed; retrying");
          else this.log.warn(line, "telegram call failed; retrying");
        },
      },
    );
  }

  private async coolDown(chat: string, signal: AbortSignal | undefined): Promise<void> {
    const until = this.cooldowns.get(chat);
    if (until === undefined) return;
    if (until <= Date.now()) this.cooldowns.delete(chat);
    else await sleep(until - Date.now(), signal);
  }

  /** Where a `getFile` path is downloaded from (contains the token: never log it). */
  fileUrl(filePath: string): string {
    return new URL(`./file/bot${this.token}/${filePath}`, this.apiRoot.endsWith("/") ? this.apiRoot : `${this.apiRoot}/`).toString();
  }

  /** An error as a one-line string, safe to log (the token is masked wherever it appears). */
  describe(err: unknown): string {
    const text = err instanceof Error ? err.message : String(err);
    return redactToken(text, this.token);
  }
}

/**
 * A Bot API request that gets no answer is given up after this long and retried (labelled when it
 * was a send): without it one hung connection would hold a chat's replies forever. getUpdates has the
 * poller's watchdog instead; uploads get longer.
 */
const REQUEST_TIMEOUT_MS = 20_000;
const UPLOAD_TIMEOUT_MS = 300_000;
const UPLOADS = /^send(Photo|Document|Video|Audio|Voice|Animation|MediaGroup|VideoNote)$/;

function withTimeout(signal: AbortSignal | undefined, timeoutMs: number | null): AbortSignal | undefined {
  if (timeoutMs === null) return signal;
  const timeout = AbortSignal.timeout(timeoutMs);
  return signal ? AbortSignal.any([signal, timeout]) : timeout;
}

/** An attempt aborted by its timeout (not by the caller) is a network failure: retried, outcome unknown. */
function timedOut(err: unknown, signal: AbortSignal | undefined, method: string, timeoutMs: number | null): unknown {
  if (timeoutMs === null || signal?.aborted || !isAbortError(err)) return err;
  return new Error(`Telegram did not answer ${method} within ${timeoutMs / 1000} s`);
}

function chatKey(payload: unknown): string | null {
  const id = typeof payload === "object" && payload !== null ? (payload as { chat_id?: unknown }).chat_id : undefined;
  return typeof id === "number" || typeof id === "string" ? String(id) : null;
}

export function redactToken(text: string, token: string): string {
  let out = token ? text.split(token).join("[token]") : text;
  out = out.replace(/\/bot\d+:[A-Za-z0-9_-]+/g, "/bot[token]");
  return out;
}
