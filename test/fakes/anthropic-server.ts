// A scripted Anthropic Messages server on 127.0.0.1 for tests: SSE (message_start, content
// blocks with thinking_delta + signature_delta / text_delta / input_json_delta split across deltas,
// message_delta with usage, message_stop) or one JSON message when the request does not stream.
// It refuses what the real API refuses about images (anthropic-image-limits.ts), tool blocks without tools
// (anthropic-tool-blocks.ts), extended thinking (anthropic-thinking.ts) and a malformed effort (anthropic-effort.ts).
import type { ServerResponse } from "node:http";
import { underLimit } from "./output-limit.js";
import { effortRefusal } from "./anthropic-effort.js";
import { imageLimitRefusal } from "./anthropic-image-limits.js";
import { thinkingBlock, thinkingRefusal, type FakeThinking } from "./anthropic-thinking.js";
import { toolBlocksRefusal } from "./anthropic-tool-blocks.js";
import { sendJson, sendSse, sendTruncatedJson, split, startScriptedServer, type BaseReply, type ScriptedServer, type ScriptedServerOptions, type SseOut } from "./scripted-server.js";

export interface AnthropicReply extends BaseReply {
  /** Thinking blocks before the text (thinking text split into thinking_delta events, then its signature). */
  thinking?: FakeThinking[];
  text?: string;
  toolUses?: Array<{ name: string; input: Record<string, unknown>; id?: string }>;
  usage?: { input_tokens: number; output_tokens: number; cache_read_input_tokens?: number; cache_creation_input_tokens?: number };
  /** Split text and tool input JSON into deltas of this size (default 8). */
  chunkChars?: number;
  /** Send an `error` event (e.g. `overloaded_error`) after message_start instead of content. */
  streamError?: { type: string; message: string };
  /** The `stop_reason` [`tool_use` with tool uses, else `end_turn`; `max_tokens` when the request's `max_tokens` cut the text]. */
  stopReason?: string;
}

export interface FakeAnthropic extends ScriptedServer<AnthropicReply> {
  /** Full endpoint: `http://127.0.0.1:<port>/v1/messages`. */
  url: string;
}

export async function startFakeAnthropic(opts: ScriptedServerOptions<AnthropicReply> & { apiKey?: string } = {}): Promise<FakeAnthropic> {
  const server = await startScriptedServer<AnthropicReply>(
    {
      checkAuth: (req) => {
        if (!req.headers["anthropic-version"]) return { status: 400, body: anthropicError("invalid_request_error", "anthropic-version header is required") };
        return opts.apiKey !== undefined && req.headers["x-api-key"] !== opts.apiKey
          ? { status: 401, body: anthropicError("authentication_error", "invalid x-api-key") }
          : null;
      },
      refuse: async (req) => {
        const message = (await imageLimitRefusal(req.body)) ?? toolBlocksRefusal(req.body) ?? thinkingRefusal(req.body) ?? effortRefusal(req.body);
        return message ? { status: 400, body: anthropicError("invalid_request_error", message) } : null;
      },
      errorBody: (status, message) => anthropicError(status === 429 ? "rate_limit_error" : status >= 500 ? "api_error" : "invalid_request_error", message),
      render: (res, scripted, index, req) => {
        const reply = underLimit(scripted, req.body["max_tokens"], "toolUses", { stopReason: "max_tokens" });
        return req.body["stream"] === true ? stream(res, reply, index) : whole(res, reply, index);
      },
    },
    opts,
  );
  return { ...server, url: `${server.origin}/v1/messages` };
}

function anthropicError(type: string, message: string): unknown {
  return { type: "error", error: { type, message } };
}

const stopReasonOf = (reply: AnthropicReply): string => reply.stopReason ?? (reply.toolUses?.length ? "tool_use" : "end_turn");

function toolUses(reply: AnthropicReply, index: number): Array<{ id: string; name: string; input: Record<string, unknown> }> {
  return (reply.toolUses ?? []).map((t, i) => ({ id: t.id ?? `toolu_${index}_${i}`, name: t.name, input: t.input }));
}

function usageOf(reply: AnthropicReply): Record<string, number> {
  return reply.usage ?? { input_tokens: 10, output_tokens: 5 };
}

function stream(res: ServerResponse, reply: AnthropicReply, index: number): void {
  const events = anthropicEvents(reply, index);
  if (reply.streamError) return sendSse(res, events);
  sendSse(res, events, reply.dropConnection ? { dropAfter: 4 } : reply.stallAfterEvents !== undefined ? { stallAfter: reply.stallAfterEvents } : {});
}

/** The events of a streamed reply, `message_start` to `message_stop` (raw-mode scripts format them with `sseText`). */
export function anthropicEvents(reply: AnthropicReply, index = 0): SseOut[] {
  const size = Math.max(1, reply.chunkChars ?? 8);
  const usage = usageOf(reply);
  const events: SseOut[] = [];
  const add = (event: string, data: Record<string, unknown>): void => void events.push({ event, data: { type: event, ...data } });
  add("message_start", {
    message: { id: `msg_${index}`, type: "message", role: "assistant", content: [], model: "fake-claude", stop_reason: null, usage: { ...usage, output_tokens: 1 } },
  });
  if (reply.streamError) {
    add("error", { error: reply.streamError });
    return events;
  }
  add("ping", {});
  let block = 0;
  for (const entry of reply.thinking ?? []) {
    const whole = thinkingBlock(entry);
    if (whole["type"] === "redacted_thinking") {
      add("content_block_start", { index: block, content_block: whole });
    } else {
      add("content_block_start", { index: block, content_block: { type: "thinking", thinking: "", signature: "" } });
      for (const piece of split(whole["thinking"]!, size)) add("content_block_delta", { index: block, delta: { type: "thinking_delta", thinking: piece } });
      add("content_block_delta", { index: block, delta: { type: "signature_delta", signature: whole["signature"] } });
    }
    add("content_block_stop", { index: block++ });
  }
  if (reply.text) {
    add("content_block_start", { index: block, content_block: { type: "text", text: "" } });
    for (const piece of split(reply.text, size)) add("content_block_delta", { index: block, delta: { type: "text_delta", text: piece } });
    add("content_block_stop", { index: block++ });
  }
  for (const tool of toolUses(reply, index)) {
    add("content_block_start", { index: block, content_block: { type: "tool_use", id: tool.id, name: tool.name, input: {} } });
    for (const piece of split(JSON.stringify(tool.input), size)) {
      add("content_block_delta", { index: block, delta: { type: "input_json_delta", partial_json: piece } });
    }
    add("content_block_stop", { index: block++ });
  }
  add("message_delta", { delta: { stop_reason: stopReasonOf(reply), stop_sequence: null }, usage: { output_tokens: usage["output_tokens"] } });
  add("message_stop", {});
  return events;
}

function whole(res: ServerResponse, reply: AnthropicReply, index: number): void {
  const content: unknown[] = (reply.thinking ?? []).map(thinkingBlock);
  if (reply.text) content.push({ type: "text", text: reply.text });
  for (const tool of toolUses(reply, index)) content.push({ type: "tool_use", ...tool });
  const message = {
    id: `msg_${index}`,
    type: "message",
    role: "assistant",
    model: "fake-claude",
    content,
    stop_reason: stopReasonOf(reply),
    usage: usageOf(reply),
  };
  if (reply.dropConnection) sendTruncatedJson(res, message);
  else sendJson(res, 200, message);
}
