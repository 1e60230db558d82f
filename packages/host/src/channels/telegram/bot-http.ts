import type { IncomingMessage } from "node:http";
import { keepAliveClient, postOverKeepAlive, type PostClient } from "@starling/protocol";
import { TelegramError } from "telegraf";
import { AbortedError } from "./api-retry.js";

/**
 * Idle kept-alive sockets are closed after this long: shorter than common servers' keep-alive
 * (Node's server default is 5 s), so a send rarely goes out on a socket the server is closing —
 * which would leave its outcome unknown and turn it into a "possible duplicate" re-send.
 */
export const FREE_SOCKET_TIMEOUT_MS = 4000;

const JSON_HEADERS = { "content-type": "application/json" };

/** The error of a call that had no whole answer within its limit (JSON calls here, uploads in BotApi). */
export function noAnswerError(method: string, timeoutMs: number): Error {
  return new Error(`Telegram did not answer ${method} within ${timeoutMs / 1000} s`);
}

/** Calls that may be repeated without a visible effect: sent once more when a reused socket was closed under them. */
const IDEMPOTENT = /^(get[A-Z]\w*|sendChatAction|editMessage\w+|setMyCommands|deleteMyCommands)$/;

/**
 * JSON Bot API calls over `node:http(s)` with a keep-alive Agent. telegraf's client drops its
 * keep-alive agent for an `http://` api root and node-fetch then sends `Connection: close`, so every
 * call opened a TCP connection (a local Bot API server paid for it too); this client keeps one per
 * in-flight call and reuses it. Uploads (multipart) still go through telegraf. Not Node's global
 * `fetch` (undici, keep-alive too): it does not tell whether a request went out on a reused socket,
 * which the safe repeat (`postOverKeepAlive`, idempotent calls only) needs.
 */
export class BotHttp {
  private readonly client: Promise<PostClient>;
  private readonly base: string;

  constructor(token: string, apiRoot: string) {
    this.client = keepAliveClient(apiRoot.startsWith("https:") ? "https:" : "http:", { timeout: FREE_SOCKET_TIMEOUT_MS });
    this.base = new URL(`./bot${token}/`, apiRoot.endsWith("/") ? apiRoot : `${apiRoot}/`).toString();
  }

  /**
   * One call: the `result` of an `ok` answer, a TelegramError for a Bot API error (as telegraf throws it).
   * With `timeoutMs`, a call without a whole answer by then fails with "Telegram did not answer …".
   */
  async call(method: string, payload: unknown, signal: AbortSignal | undefined, timeoutMs?: number): Promise<unknown> {
    if (signal?.aborted) throw new AbortedError();
    let timedOut: Error | undefined;
    let text: string;
    let response: IncomingMessage;
    try {
      ({ response } = await postOverKeepAlive(await this.client, this.urlOf(method), {
        headers: JSON_HEADERS,
        body: Buffer.from(JSON.stringify(payload ?? {})),
        signal,
        abortError: () => new AbortedError(),
        repeatOnStaleSocket: IDEMPOTENT.test(method),
        timeoutMs,
        timeoutError: () => (timedOut = noAnswerError(method, timeoutMs!)),
      }));
      text = await readBody(response);
    } catch (err) {
      throw timedOut ?? (signal?.aborted ? new AbortedError() : err);
    }
    const status = response.statusCode ?? 0;
    if (status >= 500) throw new TelegramError({ error_code: status, description: response.statusMessage ?? "" }, { method, payload });
    let data: { ok: boolean; result?: unknown; error_code: number; description: string };
    try {
      data = JSON.parse(text) as typeof data;
    } catch (err) {
      throw new Error(`Telegram answered ${method} with a body that is not JSON (HTTP ${status}): ${(err as Error).message}`);
    }
    if (data.ok) return data.result;
    throw new TelegramError(data, { method, payload });
  }

  private readonly urls = new Map<string, URL>();
  private urlOf(method: string): URL {
    let url = this.urls.get(method);
    if (!url) this.urls.set(method, (url = new URL(this.base + method)));
    return url;
  }

  /** Closes idle sockets (the channel stops). */
  close(): void {
    void this.client.then((c) => c.agent.destroy());
  }
}

/** The whole body as text; fails when the connection is cut before it ends (a stop, a reset). */
function readBody(response: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    response.on("data", (chunk: Buffer) => chunks.push(chunk));
    response.on("error", reject);
    response.on("aborted", () => reject(new Error("the connection was cut before the answer ended")));
    response.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
  });
}
