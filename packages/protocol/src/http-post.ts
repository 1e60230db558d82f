import type { Agent, AgentOptions, ClientRequest, IncomingMessage, RequestOptions } from "node:http";
import { extraCaList } from "./extra-ca.js";

/** A `node:http(s)` request function with the keep-alive agent its requests use. */
export interface PostClient {
  request(url: URL, options: RequestOptions): ClientRequest;
  readonly agent: Agent;
}

/**
 * A client with a keep-alive agent for `protocol`. The modules load on first use: a worker that
 * never calls an `https:` server does not pay for `node:https` at start.
 */
export async function keepAliveClient(protocol: "http:" | "https:", options: AgentOptions = {}): Promise<PostClient> {
  const agentOptions = { ...options, keepAlive: true };
  if (protocol === "https:") {
    // The default export: the worker's snapshot bundle stands in for node:tls with functions only (scripts/bundle-worker.mjs).
    const [m, tls] = await Promise.all([import("node:https"), import("node:tls")]);
    const ca = extraCaList(tls.default.rootCertificates);
    return { request: m.request, agent: new m.Agent(ca ? { ...agentOptions, ca } : agentOptions) };
  }
  const m = await import("node:http");
  return { request: m.request, agent: new m.Agent(agentOptions) };
}

export interface PostOptions {
  /** Default POST. A GET sends no body (`body` is ignored). */
  method?: "POST" | "GET";
  headers: Record<string, string>;
  body: Buffer;
  /** Cuts the request at once, while it waits for headers or while its body is read. */
  signal?: AbortSignal;
  /** The error a cut request is destroyed with (default: the signal's reason). */
  abortError?: () => Error;
  /**
   * Whether a request that met a stale kept-alive connection is sent once more, on a new connection.
   * Only for requests that may be repeated; for the others the caller gets the original error.
   */
  repeatOnStaleSocket: boolean;
  /**
   * The whole exchange (the repeat included, the response body too) is cut with `timeoutError()` once
   * this long has passed: one timer per request, cheaper than an AbortController per call.
   */
  timeoutMs?: number;
  timeoutError?: () => Error;
}

/** A request and its response, resolved once the response headers arrived (any status). */
export interface PostExchange {
  readonly request: ClientRequest;
  readonly response: IncomingMessage;
}

const STALE_SOCKET_CODES = new Set(["ECONNRESET", "EPIPE", "ECONNABORTED"]);

/**
 * POSTs `body` over `client`'s kept-alive connections. A reused connection the server closed just
 * as the request went out (reset before any answer: the server never read it) is Node's documented
 * `reusedSocket` case; with `repeatOnStaleSocket` the request is sent once more on a new connection,
 * otherwise it fails with the original error. Used for model calls (core) and Bot API calls (host).
 */
export async function postOverKeepAlive(client: PostClient, url: URL, options: PostOptions): Promise<PostExchange> {
  const until = options.timeoutMs === undefined ? undefined : Date.now() + options.timeoutMs;
  try {
    return await postOnce(client, url, options, true, until);
  } catch (err) {
    if (!(err instanceof StaleSocketError)) throw err;
    if (!options.repeatOnStaleSocket || options.signal?.aborted) throw err.cause;
    return postOnce(client, url, options, false, until);
  }
}

class StaleSocketError extends Error {
  declare readonly cause: Error;
}

function postOnce(client: PostClient, url: URL, options: PostOptions, mayReuse: boolean, until: number | undefined): Promise<PostExchange> {
  const { signal, body } = options;
  const get = options.method === "GET";
  return new Promise((resolve, reject) => {
    const request = client.request(url, {
      method: get ? "GET" : "POST",
      headers: get ? options.headers : { ...options.headers, "content-length": String(body.byteLength) },
      // The repeat after a stale socket must not take another idle socket that may be just as stale.
      agent: mayReuse ? client.agent : false,
    });
    let response: IncomingMessage | null = null;
    const onAbort = (): void => {
      if (response?.complete) return;
      const reason: unknown = signal?.reason;
      request.destroy(options.abortError?.() ?? (reason instanceof Error ? reason : new Error("aborted")));
    };
    signal?.addEventListener("abort", onAbort, { once: true });
    // Cleared when the request closes, which is after its response was read (or cut).
    const timer =
      until === undefined
        ? undefined
        : setTimeout(() => request.destroy(options.timeoutError?.() ?? new Error(`no answer within ${options.timeoutMs} ms`)), Math.max(0, until - Date.now()));
    request.on("close", () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
    });
    request.on("error", (err: NodeJS.ErrnoException) => {
      const stale = mayReuse && request.reusedSocket && response === null && err.code !== undefined && STALE_SOCKET_CODES.has(err.code);
      reject(stale ? new StaleSocketError("stale kept-alive connection", { cause: err }) : err);
    });
    request.on("response", (message) => {
      response = message;
      resolve({ request, response: message });
    });
    if (signal?.aborted) onAbort();
    else if (get) request.end();
    else request.end(body);
  });
}
