import http from "node:http";
import https from "node:https";
import { TelegramError } from "telegraf";
import { AbortedError } from "./api-retry.js";

/**
 * Idle kept-alive sockets are closed after this long: shorter than common servers' keep-alive
 * (Node's server default is 5 s), so a send rarely goes out on a socket the server is closing —
 * which would leave its outcome unknown and turn it into a "possible duplicate" re-send.
 */
export const FREE_SOCKET_TIMEOUT_MS = 4000;

/** Calls that may be repeated without a visible effect: retried at once when a reused socket was closed under them. */
const IDEMPOTENT = /^(get[A-Z]\w*|sendChatAction|editMessage\w+|setMyCommands|deleteMyCommands)$/;
const STALE_SOCKET_CODES = new Set(["ECONNRESET", "EPIPE", "ECONNABORTED"]);

/**
 * JSON Bot API calls over `node:http(s)` with a keep-alive Agent. telegraf's client drops its
 * keep-alive agent for an `http://` api root and node-fetch then sends `Connection: close`, so every
 * call opened a TCP connection (a local Bot API server paid for it too); this client keeps one per
 * in-flight call and reuses it. Uploads (multipart) still go through telegraf. Not Node's global
 * `fetch` (undici, keep-alive too): it does not tell whether a request went out on a reused socket,
 * which the safe retry below needs.
 */
export class BotHttp {
  private readonly agent: http.Agent;
  private readonly request: typeof http.request;
  private readonly base: string;

  constructor(token: string, apiRoot: string) {
    const secure = apiRoot.startsWith("https:");
    const options = { keepAlive: true, timeout: FREE_SOCKET_TIMEOUT_MS };
    this.agent = secure ? new https.Agent(options) : new http.Agent(options);
    this.request = secure ? https.request : http.request;
    this.base = new URL(`./bot${token}/`, apiRoot.endsWith("/") ? apiRoot : `${apiRoot}/`).toString();
  }

  /** One call: the `result` of an `ok` answer, a TelegramError for a Bot API error (as telegraf throws it). */
  async call(method: string, payload: unknown, signal: AbortSignal | undefined): Promise<unknown> {
    const body = Buffer.from(JSON.stringify(payload ?? {}));
    try {
      return await this.once(method, payload, body, signal);
    } catch (err) {
      if (!(err instanceof StaleSocketError)) throw err;
      if (!IDEMPOTENT.test(method)) throw err.original;
      return this.once(method, payload, body, signal);
    }
  }

  /** Closes idle sockets (the channel stops). */
  close(): void {
    this.agent.destroy();
  }

  private once(method: string, payload: unknown, body: Buffer, signal: AbortSignal | undefined): Promise<unknown> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(new AbortedError());
      const req = this.request(this.base + method, {
        method: "POST",
        agent: this.agent,
        headers: { "content-type": "application/json", "content-length": body.length },
      });
      const onAbort = () => req.destroy(new AbortedError());
      signal?.addEventListener("abort", onAbort, { once: true });
      let answered = false;
      req.on("error", (err: NodeJS.ErrnoException) => {
        signal?.removeEventListener("abort", onAbort);
        // A kept-alive socket the server closed before it read this request: nothing was done.
        if (!answered && req.reusedSocket && err.code && STALE_SOCKET_CODES.has(err.code)) reject(new StaleSocketError(err));
        else reject(err);
      });
      req.on("response", (res) => {
        answered = true;
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("error", reject);
        res.on("end", () => {
          signal?.removeEventListener("abort", onAbort);
          const status = res.statusCode ?? 0;
          if (status >= 500) return reject(new TelegramError({ error_code: status, description: res.statusMessage ?? "" }, { method, payload }));
          try {
            const data = JSON.parse(Buffer.concat(chunks).toString("utf8")) as { ok: boolean; result?: unknown; error_code: number; description: string };
            if (data.ok) resolve(data.result);
            else reject(new TelegramError(data, { method, payload }));
          } catch (err) {
            reject(new Error(`Telegram answered ${method} with a body that is not JSON (HTTP ${status}): ${(err as Error).message}`));
          }
        });
      });
      req.end(body);
    });
  }
}

class StaleSocketError extends Error {
  constructor(readonly original: Error) {
    super(original.message);
  }
}
