import { Telegram } from "telegraf";
import type pino from "pino";
import type { Opts, Telegram as ApiMethods } from "telegraf/types";
import { withRetries, type RetryOptions } from "./api-retry.js";

type MethodName = keyof ApiMethods;
type CallResult<M extends MethodName> = Promise<ReturnType<ApiMethods[M]>>;

export interface CallOptions extends Omit<RetryOptions, "onRetry"> {
  /** Log retries at debug instead of warn (best-effort calls such as typing). */
  quiet?: boolean;
}

/**
 * The channel's Bot API client: telegraf's `Telegram` for the wire, every call through the one
 * retry policy, and error text with the bot token removed before anything is logged.
 */
export class BotApi {
  readonly telegram: Telegram;

  constructor(
    private readonly token: string,
    readonly apiRoot: string,
    private readonly log: pino.Logger,
    private readonly retryDefaults: Pick<RetryOptions, "baseDelayMs" | "maxDelayMs"> = {},
  ) {
    this.telegram = new Telegram(token, { apiRoot });
  }

  /** One Bot API call with retries (429 → retry_after, 5xx/network → backoff, other 4xx thrown). */
  call<M extends MethodName>(method: M, payload: Opts<M>, options: CallOptions = {}): CallResult<M> {
    const { quiet, ...retry } = options;
    return withRetries(
      (signal) => this.telegram.callApi(method, payload, { signal: signal as never }),
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

export function redactToken(text: string, token: string): string {
  let out = token ? text.split(token).join("[token]") : text;
  out = out.replace(/\/bot\d+:[A-Za-z0-9_-]+/g, "/bot[token]");
  return out;
}
