// The HTTP plumbing shared by the fake model servers (chat completions, Responses, Anthropic,
// Brave, images): a queue of scripted replies per test, recorded requests, error statuses,
// delays, hangs and dropped connections. Each fake supplies only its wire format.
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** What every scripted reply may ask for besides its format-specific content. */
export interface BaseReply {
  /** Error replies: HTTP status (≥ 400), body (default: the format's error shape), `retry-after` seconds. */
  status?: number;
  errorBody?: unknown;
  retryAfterSeconds?: number;
  /** Wait before answering. */
  delayMs?: number;
  /** Answer only once this settles (after `delayMs`): the test decides when, e.g. once what must happen meanwhile did. */
  holdUntil?: Promise<unknown>;
  /** Never answer (until the client aborts); the abort is recorded. */
  hang?: boolean;
  /** Destroy the socket mid-response. */
  dropConnection?: boolean;
  /** Stream this many events, then go silent with the connection open (cancel mid-stream). */
  stallAfterEvents?: number;
  /** Raw-body mode (malformed SSE, odd TCP splits, stalls): takes precedence over the format's own content. */
  raw?: RawBody;
}

/** A string is written as is (one `write`, so usually one TCP segment); a pause waits before the next step. */
export type RawStep = string | Buffer | { pauseMs: number };

export interface RawBody {
  /** HTTP status (default 200) and content type (default `text/event-stream`). */
  status?: number;
  contentType?: string;
  steps: RawStep[];
  /** After the steps: `end` the response cleanly, `cut` the connection, or `stall` (send nothing more, keep it open). Default `end`. */
  then?: "end" | "cut" | "stall";
}

export interface RecordedRequest {
  /** The JSON body (`{}` when the body is not a JSON object, e.g. multipart). */
  body: Record<string, unknown>;
  rawBody: Buffer;
  headers: Record<string, string | undefined>;
  method: string;
  /** Path and query string as sent. */
  path: string;
  /** The client went away before the reply was complete. */
  aborted: boolean;
  receivedAt: number;
}

export type Responder<R> = (req: RecordedRequest, index: number) => R;

export interface ScriptedServer<R> {
  /** `http://127.0.0.1:<port>`. */
  origin: string;
  requests: RecordedRequest[];
  push(...replies: R[]): void;
  setResponder(fn: Responder<R>): void;
  waitForRequests(n: number, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export interface ScriptedServerOptions<R> {
  replies?: R[];
  /** Takes precedence over scripted replies. */
  responder?: Responder<R>;
}

/** The wire format of one fake. */
export interface WireFormat<R extends BaseReply> {
  /** null when authorised; otherwise the 401 (or 403) answer. */
  checkAuth(req: RecordedRequest): { status: number; body: unknown } | null;
  /** null when the service would take the request; otherwise its refusal (limits it enforces, e.g. on images). */
  refuse?(req: RecordedRequest): Promise<{ status: number; body: unknown } | null> | { status: number; body: unknown } | null;
  /** The body of a scripted error status. */
  errorBody(status: number, message: string): unknown;
  /** Writes a successful reply (use `sendJson`/`sendSse`; `dropConnection` is the format's to honour). */
  render(res: ServerResponse, reply: R, index: number, req: RecordedRequest): void;
}

/** Responses the fake cut off on purpose (`dropConnection`): not counted as client aborts. */
const dropped = new WeakSet<ServerResponse>();

export async function startScriptedServer<R extends BaseReply>(
  format: WireFormat<R>,
  opts: ScriptedServerOptions<R> = {},
): Promise<ScriptedServer<R>> {
  const queue: R[] = [...(opts.replies ?? [])];
  const requests: RecordedRequest[] = [];
  let responder = opts.responder;
  let waiters: Array<() => void> = [];

  const server = createServer((req, res) => {
    void handle(req, res).catch(() => res.destroy());
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const { recorded, release } = record(await readBody(req), req);
    const index = requests.push(recorded) - 1;
    try {
      await answer(recorded, index, res);
    } finally {
      release();
    }
  }

  async function answer(recorded: RecordedRequest, index: number, res: ServerResponse): Promise<void> {
    res.on("close", () => {
      if (!res.writableFinished && !dropped.has(res)) recorded.aborted = true;
    });
    const pending = waiters;
    waiters = [];
    for (const wake of pending) wake();
    const denied = format.checkAuth(recorded) ?? (await format.refuse?.(recorded)) ?? null;
    if (denied) return sendJson(res, denied.status, denied.body);
    const reply = responder ? responder(recorded, index) : queue.shift();
    if (!reply) return sendJson(res, 500, format.errorBody(500, "fake model: no scripted reply left"));
    if (reply.delayMs) await sleep(reply.delayMs);
    if (reply.holdUntil) await reply.holdUntil.catch(() => undefined);
    if (recorded.aborted || res.destroyed) return;
    if (reply.hang) return; // `close` marks the abort when the client gives up
    if (reply.status !== undefined && reply.status >= 400) {
      const headers: Record<string, string> = {};
      if (reply.retryAfterSeconds !== undefined) headers["retry-after"] = String(reply.retryAfterSeconds);
      return sendJson(res, reply.status, reply.errorBody ?? format.errorBody(reply.status, `fake error ${reply.status}`), headers);
    }
    if (reply.raw) return sendRaw(res, reply.raw);
    format.render(res, reply, index, recorded);
  }

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    origin: `http://127.0.0.1:${port}`,
    requests,
    push: (...replies) => void queue.push(...replies),
    setResponder: (fn) => void (responder = fn),
    waitForRequests(n, timeoutMs = 5_000) {
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          reject(new Error(`fake server: expected ${n} requests, got ${requests.length} within ${timeoutMs} ms`));
        }, timeoutMs);
        const check = (): void => {
          if (requests.length >= n) {
            clearTimeout(timer);
            resolve();
          } else {
            waiters.push(check);
          }
        };
        check();
      });
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** One server-sent event: `event:` name (omitted when undefined) and a JSON (or raw string) `data:`. */
export interface SseOut {
  event?: string;
  data: unknown;
}

/** One event as it goes on the wire (also for raw-mode scripts). */
export function sseText(e: SseOut): string {
  return `${e.event !== undefined ? `event: ${e.event}\n` : ""}data: ${typeof e.data === "string" ? e.data : JSON.stringify(e.data)}\n\n`;
}

/**
 * Writes an SSE stream. With `dropAfter`, only that many events are written before the socket is
 * destroyed (a cut-off stream); with `stallAfter`, that many and then nothing more. `trailer` is
 * written raw at the end (e.g. `data: [DONE]\n\n`).
 */
export function sendSse(res: ServerResponse, events: readonly SseOut[], options: { dropAfter?: number; stallAfter?: number; trailer?: string } = {}): void {
  res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
  const format = sseText;
  if (options.dropAfter !== undefined) {
    for (const event of events.slice(0, options.dropAfter)) res.write(format(event));
    dropSocket(res);
    return;
  }
  if (options.stallAfter !== undefined) {
    for (const event of events.slice(0, options.stallAfter)) res.write(format(event));
    return; // `close` marks the abort when the client gives up
  }
  for (const event of events) res.write(format(event));
  res.end(options.trailer ?? "");
}

/** Writes `raw.steps` one by one (pausing where asked), then ends, cuts or stalls the response. */
async function sendRaw(res: ServerResponse, raw: RawBody): Promise<void> {
  res.writeHead(raw.status ?? 200, { "content-type": raw.contentType ?? "text/event-stream", "cache-control": "no-cache" });
  res.flushHeaders();
  for (const step of raw.steps) {
    if (res.destroyed) return;
    if (typeof step === "string" || Buffer.isBuffer(step)) res.write(step);
    else await sleep(step.pauseMs);
  }
  if (res.destroyed) return;
  const then = raw.then ?? "end";
  if (then === "end") res.end();
  else if (then === "cut") res.socket?.destroy(); // recorded as `aborted`, unlike `dropConnection`
  // "stall": `close` marks the abort when the client gives up
}

/** Writes half of a JSON body, then destroys the socket. */
export function sendTruncatedJson(res: ServerResponse, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(200, { "content-type": "application/json", "content-length": String(Buffer.byteLength(text)) });
  res.write(text.slice(0, Math.floor(text.length / 2)));
  dropSocket(res);
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": String(Buffer.byteLength(text)), ...headers });
  res.end(text);
}

function dropSocket(res: ServerResponse): void {
  dropped.add(res);
  setImmediate(() => res.socket?.destroy());
}

/** `text` in pieces of `size` characters. */
export function split(text: string, size: number): string[] {
  const pieces: string[] = [];
  for (let i = 0; i < text.length; i += size) pieces.push(text.slice(i, i + size));
  return pieces;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

/**
 * The record of a request. Its parsed `body` is kept only while the fake answers; afterwards a read
 * parses `rawBody` again (and keeps that): a benchmark's hundreds of 28 kB bodies that nobody reads
 * again would otherwise stay on the heap, where every garbage collection copies or marks them, in the
 * process that shares the cores with the bot being measured.
 */
function record(raw: Buffer, req: IncomingMessage): { recorded: RecordedRequest; release(): void } {
  let parsed: Record<string, unknown> | undefined;
  const recorded: RecordedRequest = {
    get body() {
      return (parsed ??= parseBody(raw));
    },
    rawBody: raw,
    headers: flatHeaders(req),
    method: req.method ?? "GET",
    path: req.url ?? "/",
    aborted: false,
    receivedAt: Date.now(),
  };
  return { recorded, release: () => void (parsed = undefined) };
}

function parseBody(raw: Buffer): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(raw.toString("utf8"));
    return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

function flatHeaders(req: IncomingMessage): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(req.headers)) out[name] = Array.isArray(value) ? value.join(", ") : value;
  return out;
}
