import type { Agent, ClientRequest, IncomingMessage, RequestOptions } from "node:http";

/** The headers of a response as providers read them (a fetch `Headers` fits too). */
export interface HeaderSource {
  get(name: string): string | null;
}

/** What a provider reads of a response: status and headers; the body is read through `HttpExchange.chunks`. */
export interface HttpResponse {
  readonly status: number;
  readonly ok: boolean;
  readonly headers: HeaderSource;
}

interface Client {
  request(url: URL, options: RequestOptions): ClientRequest;
  agent: Agent;
}

// One keep-alive agent per scheme for the worker's model calls (a TLS handshake per call costs far
// more than a reused connection; Node drops an idle socket before the server's `Keep-Alive: timeout`,
// and idle sockets do not keep the process alive); the modules load on the first call (node:https
// costs ~20 ms of start-up otherwise). Keep-alive was off for a while because a worker's `shutdown`
// answer got lost now and then: that was the host reading frames after the exit (FrameReader).
const clients = new Map<string, Promise<Client>>();
function clientFor(protocol: "http:" | "https:"): Promise<Client> {
  let client = clients.get(protocol);
  if (!client) {
    client =
      protocol === "https:"
        ? import("node:https").then((m) => ({ request: m.request, agent: new m.Agent({ keepAlive: true }) }))
        : import("node:http").then((m) => ({ request: m.request, agent: new m.Agent({ keepAlive: true }) }));
    clients.set(protocol, client);
  }
  return client;
}

/**
 * A response read straight from `node:http`. Model calls use this instead of the global `fetch`,
 * which costs ~1.6 ms more CPU per call in web streams, AbortSignal plumbing and Response objects
 * (measured against the fake model: issue #8).
 */
export class NodeResponse implements HttpResponse {
  readonly headers: HeaderSource;
  constructor(
    readonly message: IncomingMessage,
    private readonly request: ClientRequest,
  ) {
    this.headers = {
      get: (name) => {
        const value = message.headers[name.toLowerCase()];
        return value === undefined ? null : Array.isArray(value) ? value.join(", ") : value;
      },
    };
  }

  get status(): number {
    return this.message.statusCode ?? 0;
  }

  get ok(): boolean {
    return this.status >= 200 && this.status < 300;
  }

  /**
   * Ends the exchange. A body that arrived in full is drained so its socket goes back to the pool; one
   * still arriving (an error status read in part, a stop, a timeout) is cut with its connection.
   */
  close(): void {
    if (this.message.complete) this.message.resume();
    else this.request.destroy();
  }
}

/** True when `url` can go through `postJson` (http and https); anything else takes the fetch path. */
export function nodeHttpUrl(url: URL): boolean {
  return url.protocol === "http:" || url.protocol === "https:";
}

/**
 * POSTs `payload` and resolves once response headers arrive (any status). `signal` cuts the request
 * at once, whether it waits for headers or its body is being read; rejects with the raw cause. A
 * kept-alive connection the server closed just as the request went out (reset before any answer)
 * is tried once more on a new connection: the server never answered it, and a model call can be
 * repeated (Node's documented `reusedSocket` pattern).
 */
export async function postJson(url: URL, headers: Record<string, string>, payload: Buffer, signal: AbortSignal): Promise<NodeResponse> {
  const client = await clientFor(url.protocol === "https:" ? "https:" : "http:");
  try {
    return await postOnce(client, url, headers, payload, signal);
  } catch (err) {
    if (!(err instanceof StaleSocketError) || signal.aborted) throw err instanceof StaleSocketError ? err.cause : err;
    return postOnce(client, url, headers, payload, signal, false);
  }
}

class StaleSocketError extends Error {}

function postOnce(client: Client, url: URL, headers: Record<string, string>, payload: Buffer, signal: AbortSignal, mayReuse = true): Promise<NodeResponse> {
  return new Promise((resolve, reject) => {
    const request = client.request(url, {
      method: "POST",
      headers: { ...headers, "content-length": String(payload.byteLength) },
      // The repeat after a stale socket must not take another idle socket that may be just as stale.
      ...(mayReuse ? { agent: client.agent } : { agent: false }),
    });
    let response: NodeResponse | null = null;
    const onAbort = (): void => {
      if (!response?.message.complete) request.destroy(signal.reason instanceof Error ? signal.reason : new Error("aborted"));
    };
    signal.addEventListener("abort", onAbort, { once: true });
    request.on("close", () => signal.removeEventListener("abort", onAbort));
    request.on("error", (err: Error & { code?: string }) => {
      const stale = mayReuse && request.reusedSocket && response === null && (err.code === "ECONNRESET" || err.code === "EPIPE");
      reject(stale ? new StaleSocketError("stale kept-alive connection", { cause: err }) : err);
    });
    request.on("response", (message) => {
      response = new NodeResponse(message, request);
      resolve(response);
    });
    if (signal.aborted) onAbort();
    else request.end(payload);
  });
}
