// A scripted OpenAI chat-completions server on 127.0.0.1 for tests and benchmarks.
import type { ServerResponse } from "node:http";
import {
  sendJson,
  sendSse,
  sendTruncatedJson,
  split,
  startScriptedServer,
  type BaseReply,
  type RecordedRequest,
  type Responder as ScriptedResponder,
} from "./scripted-server.js";
import { openAIImageRefusal } from "./openai-image-limits.js";
import { openRouterToolBlocksRefusal } from "./anthropic-tool-blocks.js";
import { underLimit } from "./output-limit.js";

export type { RawBody, RawStep, RecordedRequest } from "./scripted-server.js";

export interface ScriptedToolCall {
  name: string;
  arguments: string | Record<string, unknown>;
  id?: string;
}

export interface ScriptedReply extends BaseReply {
  text?: string;
  toolCalls?: ScriptedToolCall[];
  usage?: { prompt_tokens: number; completion_tokens: number };
  /** Split text and tool-call argument strings into deltas of this size (default 8). */
  chunkChars?: number;
  /** The final `finish_reason` [`tool_calls` with tool calls, else `stop`; `length` when the request's limit cut the text]. */
  finishReason?: string;
  /** Images the model returns (OpenRouter image output): URLs, normally `data:image/png;base64,…`; in `message.images`, or one `delta.images` chunk each when streamed. */
  images?: string[];
}

export type Responder = ScriptedResponder<ScriptedReply>;

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

export async function startFakeOpenAI(opts: FakeOpenAIOptions = {}): Promise<FakeOpenAI> {
  const server = await startScriptedServer<ScriptedReply>(
    {
      checkAuth: (req) =>
        opts.apiKey !== undefined && req.headers["authorization"] !== `Bearer ${opts.apiKey}`
          ? { status: 401, body: openAIError("Incorrect API key provided.", "invalid_request_error", "invalid_api_key") }
          : null,
      refuse: async (req) => {
        const body = (await openAIImageRefusal(req.body)) ?? openRouterToolBlocksRefusal(req.body);
        return body ? { status: 400, body } : null;
      },
      errorBody: (status, message) => openAIError(message, "server_error", status),
      render: (res, scripted, index, req) => {
        const reply = underLimit(scripted, req.body["max_completion_tokens"] ?? req.body["max_tokens"], "toolCalls", { finishReason: "length" });
        const stream = opts.stream !== "never" && req.body["stream"] === true;
        if (stream) sendStream(res, reply, index, req.body);
        else sendCompletion(res, reply, index, req.body);
      },
    },
    { ...(opts.replies ? { replies: opts.replies } : {}), ...(opts.responder ? { responder: opts.responder } : {}) },
  );
  const { origin, ...rest } = server;
  return { url: `${origin}/v1/chat/completions`, ...rest };
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
  for (const url of reply.images ?? []) events.push(chunk({ images: [wireImage(url)] }));
  toolCalls(reply, index).forEach((call, i) => {
    events.push(chunk({ tool_calls: [{ index: i, id: call.id, type: "function", function: { name: call.name, arguments: "" } }] }));
    for (const piece of split(call.arguments, size)) {
      events.push(chunk({ tool_calls: [{ index: i, function: { arguments: piece } }] }));
    }
  });
  events.push(chunk({}, finishReasonOf(reply)));
  events.push({ id, object: "chat.completion.chunk", created, model: MODEL, choices: [], usage: usageOf(reply, body) });
  sendSse(res, events.map((data) => ({ data })), reply.dropConnection ? { dropAfter: 2 } : { trailer: "data: [DONE]\n\n" });
}

/** One SSE `data:` event carrying a chat-completions chunk (for raw-mode scripts). */
export function sseChunk(delta: Record<string, unknown>, finishReason: string | null = null): string {
  const chunk = { id: "chatcmpl-raw", object: "chat.completion.chunk", created: 0, model: MODEL, choices: [{ index: 0, delta, finish_reason: finishReason }] };
  return `data: ${JSON.stringify(chunk)}\n\n`;
}

function sendCompletion(res: ServerResponse, reply: ScriptedReply, index: number, body: Record<string, unknown>): void {
  const calls = toolCalls(reply, index);
  const message: Record<string, unknown> = { role: "assistant", content: reply.text ?? null };
  if (calls.length > 0) {
    message["tool_calls"] = calls.map((c) => ({ id: c.id, type: "function", function: { name: c.name, arguments: c.arguments } }));
  }
  if (reply.images?.length) message["images"] = reply.images.map(wireImage);
  const completion = {
    id: `chatcmpl-${index}`,
    object: "chat.completion",
    created: Math.floor(Date.now() / 1000),
    model: MODEL,
    choices: [{ index: 0, message, finish_reason: finishReasonOf(reply) }],
    usage: usageOf(reply, body),
  };
  if (reply.dropConnection) sendTruncatedJson(res, completion);
  else sendJson(res, 200, completion);
}

/** OpenRouter's shape of an image in a reply: `{type: "image_url", image_url: {url}}`. */
const wireImage = (url: string): Record<string, unknown> => ({ type: "image_url", image_url: { url } });

const finishReasonOf = (reply: ScriptedReply): string => reply.finishReason ?? (reply.toolCalls?.length ? "tool_calls" : "stop");

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

function openAIError(message: string, type: string, code: string | number | null): Record<string, unknown> {
  return { error: { message, type, param: null, code } };
}
