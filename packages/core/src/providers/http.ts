import { NodeResponse, nodeHttpUrl, postJson, requestNode, type HeaderSource, type HttpResponse, type PostJson } from "./http-post.js";
import { extractErrorMessage, shorten } from "./error-message.js";
import { bodyBytes, type BodyBytes } from "./body-buffer.js";
import { JsonBody } from "./json-body.js";
import { abortedError } from "./retry.js";
import { ProviderError, type ProviderErrorKind } from "./types.js";

export { extractErrorMessage };

/** A request body as bytes; a form becomes multipart (its boundary in `content-type`), as fetch would send it. */
async function encodeBody(headers: Record<string, string>, body: string | FormData | undefined): Promise<{ headers: Record<string, string>; payload?: Buffer }> {
  if (body === undefined) return { headers };
  if (typeof body === "string") return { headers, payload: Buffer.from(body) };
  const encoded = new Response(body);
  return { headers: { ...headers, "content-type": encoded.headers.get("content-type") ?? "multipart/form-data" }, payload: Buffer.from(await encoded.arrayBuffer()) };
}

/** Seconds to wait for response headers when `conn_timeout` is not configured. */
export const DEFAULT_CONN_TIMEOUT_SECS = 120;
/** Longest silence tolerated while a response body streams in (reasoning models can think for minutes). */
export const DEFAULT_STREAM_IDLE_TIMEOUT_MS = 300_000;
/** The abort reason of an exchange ended by its caller (`cancel`). */
const EXCHANGE_ENDED = new Error("the model exchange ended");

/**
 * One HTTP attempt (over `node:http(s)`; a URL it cannot take goes to `fetch`, which reports it) whose headers must arrive within `connTimeoutMs`, whose body may not
 * stall longer than `idleTimeoutMs`, and which the caller's signal cancels at once. Every failure
 * leaves through `toError` as a ProviderError (aborted / timeout / network). Call `dispose()` in
 * `finally` to drop the listener on the caller's signal.
 */
export class HttpExchange {
  private readonly controller = new AbortController();
  private timeoutMessage: string | undefined;
  private response: NodeResponse | null = null;
  private readonly onCallerAbort = (): void => this.controller.abort(this.signal.reason);

  constructor(
    private readonly signal: AbortSignal,
    private readonly limits: { connTimeoutMs: number; idleTimeoutMs: number },
    private readonly postOver: PostJson = postJson,
  ) {
    if (signal.aborted) this.controller.abort(signal.reason);
    else signal.addEventListener("abort", this.onCallerAbort, { once: true });
  }

  /** Longest silence tolerated while the body streams in. */
  get idleTimeoutMs(): number {
    return this.limits.idleTimeoutMs;
  }

  /** POSTs JSON (a `JsonBody` as it is, anything else serialised) and resolves once response headers arrive (any status); http(s) goes through `node:http`. */
  async post(url: string, headers: Record<string, string>, body: unknown): Promise<HttpResponse> {
    const all = { "content-type": "application/json", ...headers };
    let target: URL | null = null;
    try {
      target = new URL(url);
    } catch {
      // fetch reports the bad URL as a network error below.
    }
    if (!target || !nodeHttpUrl(target)) return this.send(url, { method: "POST", headers: all, body: body instanceof JsonBody ? body.text : JSON.stringify(body) });
    const payload: BodyBytes = body instanceof JsonBody ? bodyBytes(body) : { bytes: Buffer.from(JSON.stringify(body)), release: () => undefined };
    const timer = this.headerTimer(url);
    try {
      const response = await this.postOver(target, all, payload.bytes, this.controller.signal);
      response.whenBodySent(payload.release);
      return (this.response = response);
    } catch (cause) {
      // A failed request was destroyed: its socket reads the body no more.
      payload.release();
      throw this.toError(cause, `request to ${describeUrl(url)} failed`);
    } finally {
      clearTimeout(timer);
    }
  }

  private headerTimer(url: string): ReturnType<typeof setTimeout> {
    return setTimeout(
      () => this.expire(`no response headers from ${describeUrl(url)} within ${this.limits.connTimeoutMs / 1000} s`),
      this.limits.connTimeoutMs,
    );
  }

  /** A GET or a POST of a string or multipart form; resolves once response headers arrive (any status). */
  async send(url: string, init: { method: "GET" | "POST"; headers: Record<string, string>; body?: string | FormData }): Promise<HttpResponse> {
    const timer = this.headerTimer(url);
    try {
      let target: URL | null = null;
      try {
        target = new URL(url);
      } catch {
        // fetch reports the bad URL as a network error below.
      }
      if (!target || !nodeHttpUrl(target)) return await fetch(url, { ...init, signal: this.controller.signal });
      const { headers, payload } = await encodeBody(init.headers, init.body);
      return (this.response = await requestNode(target, init.method, headers, payload, this.controller.signal));
    } catch (cause) {
      throw this.toError(cause, `request to ${describeUrl(url)} failed`);
    } finally {
      clearTimeout(timer);
    }
  }

  /** The response body as byte chunks; a silence longer than the idle limit fails with kind `timeout`. */
  async *chunks(response: HttpResponse): AsyncGenerator<Uint8Array> {
    if (response instanceof NodeResponse) return yield* this.nodeChunks(response);
    if (!(response instanceof Response) || !response.body) return;
    const reader = response.body.getReader();
    const idleMs = this.limits.idleTimeoutMs;
    try {
      for (;;) {
        const timer = setTimeout(() => this.expire(`the model sent no data for ${idleMs / 1000} s`), idleMs);
        let step: Awaited<ReturnType<typeof reader.read>>;
        try {
          step = await reader.read();
        } catch (cause) {
          throw this.toError(cause, "reading the model response failed");
        } finally {
          clearTimeout(timer);
        }
        if (step.done) return;
        yield step.value;
      }
    } finally {
      reader.releaseLock();
    }
  }

  private async *nodeChunks(response: NodeResponse): AsyncGenerator<Uint8Array> {
    const idleMs = this.limits.idleTimeoutMs;
    const timer = setTimeout(() => this.expire(`the model sent no data for ${idleMs / 1000} s`), idleMs);
    try {
      // destroyOnReturn false: a reader that stops at the end marker leaves the rest to close().
      for await (const chunk of response.message.iterator({ destroyOnReturn: false })) {
        timer.refresh();
        yield chunk as Buffer;
      }
    } catch (cause) {
      const cut = (cause as { code?: string }).code === "ECONNRESET" && !this.signal.aborted && this.timeoutMessage === undefined;
      throw this.toError(cut ? new Error("the socket closed before the reply was complete", { cause }) : cause, "reading the model response failed");
    } finally {
      clearTimeout(timer);
    }
  }

  /** The whole body as text (used for JSON replies and error bodies). */
  async text(response: HttpResponse): Promise<string> {
    const decoder = new TextDecoder();
    let text = "";
    for await (const chunk of this.chunks(response)) text += decoder.decode(chunk, { stream: true });
    return text + decoder.decode();
  }

  /** Ends the exchange: cancels a request still in flight (a `node:http` one whose body arrived in full keeps its connection). */
  cancel(): void {
    const complete = this.response?.message.complete ?? false;
    this.response?.close();
    // A body read in full needs no abort (its socket went back to the pool); the shared reason spares
    // the DOMException an abort() without one builds on every model call.
    if (!complete) this.controller.abort(EXCHANGE_ENDED);
  }

  dispose(): void {
    this.signal.removeEventListener("abort", this.onCallerAbort);
  }

  /** Maps anything thrown during the exchange to a ProviderError. */
  toError(cause: unknown, context: string): ProviderError {
    if (cause instanceof ProviderError) return cause;
    if (this.signal.aborted) return abortedError(this.signal);
    if (this.timeoutMessage !== undefined) return new ProviderError("timeout", this.timeoutMessage, { cause });
    return new ProviderError("network", `${context}: ${describeCause(cause)}`, { cause });
  }

  private expire(message: string): void {
    this.timeoutMessage = message;
    this.controller.abort(new Error(message));
  }
}

/** The error for a non-2xx status, with a short piece of the body (its `error.message` when JSON, the upstream provider's when OpenRouter wraps it). */
export function statusError(status: number, headers: HeaderSource, body: string, url: string): ProviderError {
  const kind = kindForStatus(status);
  const retryAfterMs = kind === "rate_limited" || kind === "server" ? parseRetryAfter(headers) : undefined;
  const detail = shorten(extractErrorMessage(body) ?? body);
  const message = `HTTP ${status} from ${describeUrl(url)}${detail ? `: ${detail}` : ""}`;
  return new ProviderError(kind, message, { status, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) });
}

/** 429 → rate_limited, 401/403 → auth, 408/5xx → server, other 4xx → bad_request. */
export function kindForStatus(status: number): ProviderErrorKind {
  if (status === 429) return "rate_limited";
  if (status === 401 || status === 403) return "auth";
  if (status === 408 || status >= 500) return "server";
  return "bad_request";
}

/** `retry-after-ms`, or `retry-after` as seconds or an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter(headers: HeaderSource, now = Date.now()): number | undefined {
  const ms = Number(headers.get("retry-after-ms") ?? NaN);
  if (Number.isFinite(ms) && ms >= 0) return ms;
  const value = headers.get("retry-after")?.trim();
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return seconds >= 0 ? seconds * 1000 : undefined;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** Origin and path only: a query string may carry secrets. */
export function describeUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.origin}${parsed.pathname}`;
  } catch {
    return "the model endpoint";
  }
}

/** The message chain of a transport error (`fetch failed: connect ECONNREFUSED 127.0.0.1:1`), de-duplicated. */
function describeCause(cause: unknown): string {
  const parts: string[] = [];
  let current: unknown = cause;
  for (let depth = 0; depth < 5 && current instanceof Error; depth++) {
    const code = (current as { code?: unknown }).code;
    const text = typeof code === "string" && !current.message.includes(code) ? `${current.message} (${code})` : current.message;
    if (text && !parts.some((p) => p.includes(text))) parts.push(text);
    current = current.cause;
  }
  return parts.join(": ") || String(cause);
}
