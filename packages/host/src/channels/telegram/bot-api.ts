import { Telegram } from "telegraf";
import type pino from "pino";
import type { Opts, Telegram as ApiMethods } from "telegraf/types";
import { isAbortError, retryAfterSeconds, telegramCode, withRetries, type RetryOptions } from "./api-retry.js";
import { deadline } from "@starling/protocol";
import { SendBudget } from "./send-budget.js";
import { BotHttp, noAnswerError } from "./bot-http.js";
import { FloodPauses } from "./flood-pauses.js";

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
  /**
   * Aborts only the waits for room (send budget, 429 pause) before each attempt and the retry wait
   * between attempts (a 429's `retry_after`, a backoff), not a request under way; default `signal`. The
   * channel aborts it when it starts stopping, before `signal`: a stop does not wait for Telegram's
   * windows (a progress panel's final edit is shown by the next start instead).
   */
  roomSignal?: AbortSignal;
}

/** Calls that post or change a message: they count against Telegram's flood limits. */
const COUNTED = /^(send(?!ChatAction)[A-Za-z]*|edit[A-Za-z]+|copyMessages?|forwardMessages?)$/;

/**
 * The channel's Bot API client: JSON calls over kept-alive connections (`BotHttp`), uploads through
 * telegraf's `Telegram`, every call through the one retry policy, and error text with the bot token
 * removed before anything is logged.
 */
export class BotApi {
  readonly telegram: Telegram;
  private readonly http: BotHttp;
  /**
   * 429 pauses: a 429 on any call for a chat (a typing action, a panel edit) holds back every call for
   * it, not only the retry of the refused one; a 429 naming no chat, or on a message to a second chat, every call.
   */
  private readonly pauses = new FloodPauses();
  /** Chat id → room in the send budget taken ahead by `reserve`, for the next counted calls to the chat. */
  private readonly reserved = new Map<string, NodeJS.Timeout[]>();
  /** Each JSON call's time limit: the constructor's, the test hook's, or REQUEST_TIMEOUT_MS (read once, not per call). */
  private readonly requestTimeoutMs: number;

  constructor(
    private readonly token: string,
    readonly apiRoot: string,
    private readonly log: pino.Logger,
    private readonly retryDefaults: Pick<RetryOptions, "baseDelayMs" | "maxDelayMs"> = {},
    readonly budget: SendBudget = new SendBudget(),
    timeouts: { requestTimeoutMs?: number } = {},
  ) {
    this.requestTimeoutMs = timeouts.requestTimeoutMs ?? requestTimeoutFromEnv() ?? REQUEST_TIMEOUT_MS;
    this.telegram = new Telegram(token, { apiRoot });
    this.http = new BotHttp(token, apiRoot);
  }

  /** Closes idle kept-alive connections (the channel stopped). */
  close(): void {
    this.http.close();
  }

  /** One Bot API call with retries (429 → retry_after, 5xx/network → backoff, other 4xx thrown). */
  call<M extends MethodName>(method: M, payload: Opts<M>, options: CallOptions = {}): CallResult<M> {
    const { quiet, budget = "wait", afterUnknownOutcome, roomSignal, ...retry } = options;
    let body = payload;
    const chat = chatKey(payload);
    const counted = chat !== null && COUNTED.test(method);
    const upload = UPLOADS.test(method);
    const timeoutMs = method === "getUpdates" ? null : upload ? UPLOAD_TIMEOUT_MS : this.requestTimeoutMs;
    return withRetries(
      async (signal) => {
        let held = false;
        if (chat !== null) held = await this.waitForRoom(chat, counted, budget, roomSignal ?? signal);
        else if (method !== "getUpdates") await this.pauses.wait(null, roomSignal ?? signal);
        // Uploads go through telegraf, which takes a signal; JSON calls time out in BotHttp (no AbortController per call).
        const limit = timeoutMs === null || !upload ? null : deadline(signal, timeoutMs);
        try {
          if (upload) return await this.telegram.callApi(method, body, { signal: (limit?.signal ?? signal) as never });
          return (await this.http.call(method, body, signal, timeoutMs ?? undefined)) as ReturnType<ApiMethods[M]>;
        } catch (thrown) {
          const err = limit?.timedOut && isAbortError(thrown) ? noAnswerError(method, timeoutMs!) : thrown;
          if (afterUnknownOutcome && telegramCode(err) === null && !isAbortError(err)) body = afterUnknownOutcome(payload as never) as Opts<M>;
          if (telegramCode(err) === 429 && method !== "getUpdates") this.noteRefused(method, chat, counted, retryAfterSeconds(err));
          throw err;
        } finally {
          limit?.dispose();
          // Counted from its answer (or failure), the latest it can have reached Telegram.
          if (held && chat !== null) this.budget.settle(chat);
        }
      },
      {
        ...this.retryDefaults,
        ...retry,
        waitSignal: roomSignal,
        onRetry: ({ attempt, delayMs, failure, error }) => {
          const line = { method, attempt, delayMs, failure, error: this.describe(error) };
          if (quiet) this.log.debug(line, "telegram call failed; retrying");
          else this.log.warn(line, "telegram call failed; retrying");
        },
      },
    );
  }

  private noteRefused(method: string, chat: string | null, message: boolean, seconds: number): void {
    if (this.pauses.refused(chat, seconds * 1000, message) === "bot") {
      this.log.warn({ method, chatId: chat ?? undefined, retryAfterSeconds: seconds }, "Telegram refused a call with 429 for the whole bot; every call waits");
    }
  }

  /**
   * Waits out the chat's 429 pause and for room in the send budget, and keeps that room for the next
   * counted call to the chat (unused room lapses after a while). The outbox records a send attempt only
   * after this, so a host killed while a reply waited for room re-sends it unlabelled: it never went out.
   */
  async reserve(chatId: string, signal?: AbortSignal): Promise<void> {
    await this.waitForRoom(chatId, true, "wait", signal, false);
    // Room nobody used is given back, or it would hold the chat's window forever. The timer is the
    // reservation: cleared when the room is used, so it does not outlive the send (and reach V8's old space).
    const lapse: NodeJS.Timeout = setTimeout(() => {
      const list = this.reserved.get(chatId);
      const at = list?.indexOf(lapse) ?? -1;
      if (!list || at < 0) return;
      list.splice(at, 1);
      if (!list.length) this.reserved.delete(chatId);
      this.budget.dropHeld(chatId);
    }, RESERVATION_MS).unref();
    const held = this.reserved.get(chatId) ?? [];
    held.push(lapse);
    this.reserved.set(chatId, held);
  }

  /** Gives back room `reserve` holds for the chat when its send will not go (the attempt could not be recorded). */
  releaseReserved(chatId: string): void {
    const held = this.reserved.get(chatId);
    if (!held?.length) return;
    clearTimeout(held.pop());
    if (!held.length) this.reserved.delete(chatId);
    this.budget.dropHeld(chatId);
  }

  /** Hands room `reserve` holds for the chat, if any, to the call about to go: it holds it until its answer. */
  private takeReserved(chat: string): boolean {
    const held = this.reserved.get(chat);
    if (!held?.length) return false;
    clearTimeout(held.shift());
    if (!held.length) this.reserved.delete(chat);
    return true;
  }

  /**
   * Waits out the chat's 429 pause, then for room in the send budget; true when the caller now holds
   * room for a counted call (and must `settle` it). A 429 for the chat that arrives while the call waits
   * for the budget (a typing action refused meanwhile) is waited out too: the room taken is spent, and
   * the call starts over.
   */
  private async waitForRoom(chat: string, counted: boolean, budget: "wait" | "cosmetic", signal: AbortSignal | undefined, useReserved = true): Promise<boolean> {
    for (;;) {
      if (budget === "cosmetic") this.budget.checkNotPaused(this.pauses.until(chat));
      await this.pauses.wait(chat, signal);
      if (!counted) return false;
      if (budget === "wait" && useReserved && this.takeReserved(chat)) return true;
      if (budget === "wait") await this.budget.acquire(chat, signal);
      else this.budget.tryAcquire(chat);
      if (this.pauses.until(chat) <= Date.now()) return true;
      this.budget.settle(chat); // a 429 came meanwhile: the room is spent, as for a send
    }
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

/**
 * Test-only: `STARLING_TEST_TELEGRAM_REQUEST_TIMEOUT_MS` shortens REQUEST_TIMEOUT_MS so an end-to-end test
 * can hang a send and see it given up and re-sent within seconds. Not a setting: the default suits Telegram.
 */
function requestTimeoutFromEnv(): number | undefined {
  const value = Number(process.env["STARLING_TEST_TELEGRAM_REQUEST_TIMEOUT_MS"] ?? NaN);
  return Number.isFinite(value) && value > 0 ? value : undefined;
}
/** Room taken by `reserve` and not used by a call within this long lapses. */
const RESERVATION_MS = 10_000;
const UPLOAD_TIMEOUT_MS = 300_000;
const UPLOADS = /^send(Photo|Document|Video|Audio|Voice|Animation|MediaGroup|VideoNote)$/;

function chatKey(payload: unknown): string | null {
  const id = typeof payload === "object" && payload !== null ? (payload as { chat_id?: unknown }).chat_id : undefined;
  return typeof id === "number" || typeof id === "string" ? String(id) : null;
}

export function redactToken(text: string, token: string): string {
  let out = token ? text.split(token).join("[token]") : text;
  out = out.replace(/\/bot\d+:[A-Za-z0-9_-]+/g, "/bot[token]");
  return out;
}
