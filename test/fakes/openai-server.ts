// A scripted OpenAI chat-completions server on 127.0.0.1 for tests and benchmarks.
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface ScriptedToolCall {
  name: string;
  arguments: string | Record<string, unknown>;
  id?: string;
}

export interface ScriptedReply {
  text?: string;
  toolCalls?: ScriptedToolCall[];
  usage?: { prompt_tokens: number; completion_tokens: number };
  /** Error replies: HTTP status (≥ 400), body (default: OpenAI-style error), `retry-after` seconds. */
  status?: number;
  errorBody?: unknown;
  retryAfterSeconds?: number;
  /** Wait before answering. */
  delayMs?: number;
  /** Never answer (until the client aborts); the abort is recorded. */
  hang?: boolean;
  /** Split text and tool-call argument strings into deltas of this size (default 8). */
  chunkChars?: number;
  /** Destroy the socket mid-response. */
  dropConnection?: boolean;
}

export interface RecordedRequest {
  body: Record<string, unknown>;
  headers: Record<string, string | undefined>;
  /** The client went away before the reply was complete. */
  aborted: boolean;
  receivedAt: number;
}

export type Responder = (req: RecordedRequest, index: number) => ScriptedReply;

export interface FakeOpenAI {
  /** Full endpoint: `http://127.0.0.1:<port>/v1/chat/completions`. */
  url: string;
  requests: RecordedRequest[];
  push(...replies: ScriptedReply[]): void;
  setResponder(fn: Responder): void;
  waitForRequests(n: number, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export interface FakeOpenAIOptions {
  /** When set, requests must carry `Authorization: Bearer <apiKey>` (401 otherwise). */
  apiKey?: string;
  replies?: ScriptedReply[];
  /** Takes precedence over scripted replies. */
  responder?: Responder;
  /** "auto" (default): SSE when the request says `stream: true`; "never": always plain JSON. */
  stream?: "auto" | "never";
}

const MODEL = "fake-model";
/** Responses the fake cut off on purpose (`dropConnection`): not counted as client aborts. */
const dropped = new WeakSet<ServerResponse>();

export async function startFakeOpenAI(opts: FakeOpenAIOptions = {}): Promise<FakeOpenAI> {
  const queue: ScriptedReply[] = [...(opts.replies ?? [])];
  const requests: RecordedRequest[] = [];
  let responder: Responder | undefined = opts.responder;
  let waiters: Array<() => void> = [];

  const server = createServer((req, res) => {
    void handle(req, res).catch(() => res.destroy());
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = await readBody(req);
    const recorded: RecordedRequest = { body: parseBody(raw), headers: flatHeaders(req), aborted: false, receivedAt: Date.now() };
    const index = requests.push(recorded) - 1;
    res.on("close", () => {
      if (!res.writableFinished && !dropped.has(res)) recorded.aborted = true;
    });
    if (waiters.length > 0) {
      const pending = waiters;
      waiters = [];
      for (const wake of pending) wake();
    }
    if (opts.apiKey !== undefined && recorded.headers["authorization"] !== `Bearer ${opts.apiKey}`) {
      return sendJson(res, 401, openAIError("Incorrect API key provided.", "invalid_request_error", "invalid_api_key"));
    }
    const reply = responder ? responder(recorded, index) : queue.shift();
    if (!reply) return sendJson(res, 500, openAIError("fake model: no scripted reply left", "server_error", null));
    if (reply.delayMs) await sleep(reply.delayMs);
    if (recorded.aborted || res.destroyed) return;
    if (reply.hang) return; // `close` marks the abort when the client gives up
    if (reply.status !== undefined && reply.status >= 400) {
      const headers: Record<string, string> = {};
      if (reply.retryAfterSeconds !== undefined) headers["retry-after"] = String(reply.retryAfterSeconds);
      const body = reply.errorBody ?? openAIError(`fake error ${reply.status}`, "server_error", reply.status);
      return sendJson(res, reply.status, body, headers);
    }
    const stream = opts.stream !== "never" && recorded.body["stream"] === true;
    if (stream) return sendStream(res, reply, index, recorded.body);
    return sendCompletion(res, reply, index, recorded.body);
  }

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}/v1/chat/completions`,
    requests,
    push: (...replies) => void queue.push(...replies),
    setResponder: (fn) => void (responder = fn),
    waitForRequests(n, timeoutMs = 5_000) {
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          reject(new Error(`fake model: expected ${n} requests, got ${requests.length} within ${timeoutMs} ms`));
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

function sendStream(res: ServerResponse, reply: ScriptedReply, index: number, body: Record<string, unknown>): void {
  const id = `chatcmpl-${index}`;
  const created = Math.floor(Date.now() / 1000);
  const size = Math.max(1, reply.chunkChars ?? 8);
  const chunk = (delta: Record<string, unknown>, finish: string | null = null): Record<string, unknown> => ({
    id, object: "chat.completion.chunk", created, model: MODEL, choices: [{ index: 0, delta, finish_reason: finish }],
  });
  const events: unknown[] = [chunk({ role: "assistant", content: "" })];
  for (const piece of split(reply.text ?? "", size)) events.push(chunk({ content: piece }));
  toolCalls(reply, index).forEach((call, i) => {
    events.push(chunk({ tool_calls: [{ index: i, id: call.id, type: "function", function: { name: call.name, arguments: "" } }] }));
    for (const piece of split(call.arguments, size)) {
      events.push(chunk({ tool_calls: [{ index: i, function: { arguments: piece } }] }));
    }
  });
  events.push(chunk({}, reply.toolCalls?.length ? "tool_calls" : "stop"));
  events.push({ id, object: "chat.completion.chunk", created, model: MODEL, choices: [], usage: usageOf(reply, body) });
  res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
  if (reply.dropConnection) {
    res.write(`data: ${JSON.stringify(events[0])}\n\n`);
    if (events[1]) res.write(`data: ${JSON.stringify(events[1])}\n\n`);
    dropped.add(res);
    setImmediate(() => res.socket?.destroy());
    return;
  }
  for (const event of events) res.write(`data: ${JSON.stringify(event)}\n\n`);
  res.end("data: [DONE]\n\n");
}

function sendCompletion(res: ServerResponse, reply: ScriptedReply, index: number, body: Record<string, unknown>): void {
  const calls = toolCalls(reply, index);
  const message: Record<string, unknown> = { role: "assistant", content: reply.text ?? null };
  if (calls.length > 0) {
    message["tool_calls"] = calls.map((c) => ({ id: c.id, type: "function", function: { name: c.name, arguments: c.arguments } }));
  }
  const completion = {
    id: `chatcmpl-${index}`,
    object: "chat.completion",
    created: Math.floor(Date.now() / 1000),
    model: MODEL,
    choices: [{ index: 0, message, finish_reason: calls.length > 0 ? "tool_calls" : "stop" }],
    usage: usageOf(reply, body),
  };
  if (reply.dropConnection) {
    const text = JSON.stringify(completion);
    res.writeHead(200, { "content-type": "application/json", "content-length": String(text.length) });
    res.write(text.slice(0, Math.floor(text.length / 2)));
    dropped.add(res);
    setImmediate(() => res.socket?.destroy());
    return;
  }
  sendJson(res, 200, completion);
}

function toolCalls(reply: ScriptedReply, index: number): Array<{ id: string; name: string; arguments: string }> {
  return (reply.toolCalls ?? []).map((call, i) => ({
    id: call.id ?? `call_${index}_${i}`,
    name: call.name,
    arguments: typeof call.arguments === "string" ? call.arguments : JSON.stringify(call.arguments),
  }));
}

/** The scripted usage, or a rough estimate (4 characters per token) so benchmarks see plausible numbers. */
function usageOf(reply: ScriptedReply, body: Record<string, unknown>): Record<string, number> {
  if (reply.usage) return { ...reply.usage, total_tokens: reply.usage.prompt_tokens + reply.usage.completion_tokens };
  const prompt = Math.ceil(JSON.stringify(body["messages"] ?? []).length / 4);
  const completion = Math.ceil(((reply.text ?? "").length + JSON.stringify(reply.toolCalls ?? []).length) / 4);
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
}

function split(text: string, size: number): string[] {
  const pieces: string[] = [];
  for (let i = 0; i < text.length; i += size) pieces.push(text.slice(i, i + size));
  return pieces;
}

function openAIError(message: string, type: string, code: string | number | null): Record<string, unknown> {
  return { error: { message, type, param: null, code } };
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": String(Buffer.byteLength(text)), ...headers });
  res.end(text);
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

function parseBody(raw: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(raw);
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

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
