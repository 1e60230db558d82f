import type { ClientRequest, IncomingMessage } from "node:http";
import { keepAliveClient, postOverKeepAlive, type PostClient } from "@starling/protocol";

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

// One keep-alive agent per scheme for the worker's model calls (a TLS handshake per call costs far
// more than a reused connection; Node drops an idle socket before the server's `Keep-Alive: timeout`,
// and idle sockets do not keep the process alive). Keep-alive was off for a while because a worker's
// `shutdown` answer got lost now and then: that was the host reading frames after the exit (FrameReader).
const clients = new Map<string, Promise<PostClient>>();
function clientFor(protocol: "http:" | "https:"): Promise<PostClient> {
  let client = clients.get(protocol);
  if (!client) clients.set(protocol, (client = keepAliveClient(protocol)));
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
   * Calls `done` once the request's body is no longer read: handed to the system in full, or the request
   * destroyed (a server may answer before it read the whole body).
   */
  whenBodySent(done: () => void): void {
    if (this.request.writableFinished || this.request.destroyed) return done();
    this.request.once("finish", done);
    this.request.once("close", done);
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

const NO_BODY = Buffer.alloc(0);

/**
 * A GET, or a POST of a ready body (a multipart form), over the same keep-alive clients: the helper
 * services' requests (search, images) take node:http(s) like model calls, so they get the extra CA too
 * (STARLING_EXTRA_CA_CERTS). A reset before any answer on a reused connection is tried once more.
 */
export async function requestNode(url: URL, method: "GET" | "POST", headers: Record<string, string>, payload: Buffer | undefined, signal: AbortSignal): Promise<NodeResponse> {
  const client = await clientFor(url.protocol === "https:" ? "https:" : "http:");
  const { request, response } = await postOverKeepAlive(client, url, { method, headers, body: payload ?? NO_BODY, signal, repeatOnStaleSocket: true });
  return new NodeResponse(response, request);
}

/** True when `url` can go through `postJson` (http and https); anything else takes the fetch path. */
export function nodeHttpUrl(url: URL): boolean {
  return url.protocol === "http:" || url.protocol === "https:";
}

/** The transport of a JSON POST: `postJson` below, or another one given to a provider (HttpProviderOptions.post). */
export type PostJson = (url: URL, headers: Record<string, string>, payload: Buffer, signal: AbortSignal) => Promise<NodeResponse>;

/**
 * POSTs `payload` and resolves once response headers arrive (any status). `signal` cuts the request
 * at once, whether it waits for headers or its body is being read; rejects with the raw cause. A
 * kept-alive connection the server closed just as the request went out (reset before any answer)
 * is tried once more on a new connection: the server never answered it, and a model call can be
 * repeated.
 */
export async function postJson(url: URL, headers: Record<string, string>, payload: Buffer, signal: AbortSignal): Promise<NodeResponse> {
  const client = await clientFor(url.protocol === "https:" ? "https:" : "http:");
  const { request, response } = await postOverKeepAlive(client, url, { headers, body: payload, signal, repeatOnStaleSocket: true });
  return new NodeResponse(response, request);
}
