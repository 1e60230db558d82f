import type { ReasoningItem, TranscriptItem, Usage } from "@starling/protocol";
import { ProviderError, replyCutBy, type ModelResponse, type ProviderErrorKind } from "../types.js";
import { anthropicWire, type WireBlock, type WireUsage } from "./wire.js";
import { parseWire, tokenCount } from "../wire-parse.js";

interface PartialBlock {
  type: string;
  text: string;
  id: string;
  name: string;
  /** tool_use input: the start block's `input` unless input_json_delta fragments arrive. */
  input: unknown;
  json: string;
  /** thinking: its text and signature; redacted_thinking: its opaque data. */
  thinking: string;
  signature: string;
  data: string;
}

/**
 * Builds one ModelResponse from Anthropic Messages output: streamed events (`addEvent`) or one
 * JSON message (`addMessage`). Text deltas go to `onDelta`; tool_use input is the concatenation of
 * its `input_json_delta` fragments. Thinking blocks (`thinking_delta` text, `signature_delta`) and
 * redacted_thinking blocks become `reasoning` items in their place, to be sent back unchanged (their
 * text is never streamed to the chat; a thinking block without a signature could not go back and is
 * left out). A reply of thinking alone is the empty-reply error, unless `max_tokens` cut it (then it is returned as is,
 * with that finish reason). A stream without `message_stop`
 * was cut off (kind `network`, retryable); an `error` event maps its type (overloaded → server,
 * rate limit → rate_limited, …).
 */
export class MessageAssembler {
  private readonly blocks = new Map<number, PartialBlock>();
  private stopReason: string | undefined;
  private usage: WireUsage = {};
  private done = false;

  constructor(private readonly onDelta?: (text: string) => void) {}

  /** Adds one streamed event; true once the reply is complete (`message_stop`). */
  addEvent(json: unknown): boolean {
    const event = parseWire(anthropicWire().WireEvent, json, "stream event");
    switch (event.type) {
      case "message_start":
        this.mergeUsage(event.message?.usage);
        break;
      case "content_block_start":
        if (event.content_block) this.blocks.set(event.index ?? this.blocks.size, startBlock(event.content_block));
        break;
      case "content_block_delta": {
        const block = this.blocks.get(event.index ?? this.blocks.size - 1);
        const delta = event.delta;
        if (!block || !delta) break;
        if (delta.type === "text_delta" && delta.text) {
          block.text += delta.text;
          this.onDelta?.(delta.text);
        } else if (delta.type === "input_json_delta" && delta.partial_json) {
          block.json += delta.partial_json;
        } else if (delta.type === "thinking_delta" && delta.thinking) {
          block.thinking += delta.thinking;
        } else if (delta.type === "signature_delta" && delta.signature) {
          block.signature += delta.signature;
        }
        break;
      }
      case "message_delta":
        if (event.delta?.stop_reason) this.stopReason = event.delta.stop_reason;
        this.mergeUsage(event.usage);
        break;
      case "message_stop":
        this.done = true;
        break;
      case "error":
        throw streamError(event.error?.type, event.error?.message);
    }
    return this.done;
  }

  /** A whole non-streamed message. */
  addMessage(json: unknown): void {
    const message = parseWire(anthropicWire().WireMessage, json, "message");
    if (message.type === "error" || message.error) throw streamError(message.error?.type, message.error?.message);
    if (!message.content) throw new ProviderError("server", "the model sent a message without content");
    message.content.forEach((block, i) => this.blocks.set(i, startBlock(block)));
    const text = message.content.flatMap((b) => (b.type === "text" && b.text ? [b.text] : [])).join("");
    if (text) this.onDelta?.(text);
    this.mergeUsage(message.usage);
    this.stopReason = message.stop_reason ?? "end_turn";
    this.done = true;
  }

  finish(): ModelResponse {
    if (!this.done) throw new ProviderError("network", "the model stream ended before the reply was complete");
    const content: TranscriptItem[] = [];
    const ordered = [...this.blocks.entries()].sort(([a], [b]) => a - b).map(([, block]) => block);
    for (const block of ordered) {
      const reasoning = reasoningItem(block);
      if (reasoning) content.push(reasoning);
      if (block.type === "text" && block.text) content.push({ type: "text", text: block.text });
      if (block.type === "tool_use") {
        if (!block.id || !block.name) throw new ProviderError("server", "the model sent a tool_use block without id or name");
        content.push({ type: "tool_call", id: block.id, name: block.name, arguments: toolArguments(block) });
      }
    }
    // Cut at max_tokens while still thinking: an answer stopped at the output limit like any other, not an upstream hiccup to retry.
    if (!content.some((item) => item.type !== "reasoning") && replyCutBy(this.stopReason) !== "output_limit") {
      const reason = this.stopReason ?? "none";
      throw new ProviderError(reason === "refusal" ? "bad_request" : "server", `the model returned an empty reply (stop_reason: ${reason})`);
    }
    return { content, usage: mapAnthropicUsage(this.usage), ...(this.stopReason ? { finishReason: this.stopReason } : {}) };
  }

  private mergeUsage(usage: WireUsage | null | undefined): void {
    if (!usage) return;
    for (const [key, value] of Object.entries(usage)) {
      if (typeof value === "number") (this.usage as Record<string, number>)[key] = value;
    }
  }
}

/**
 * Anthropic's `input_tokens` excludes cached tokens: inputTokens = input + cache reads + cache
 * writes (the whole prompt, as for the other providers), cachedTokens = cache reads.
 */
export function mapAnthropicUsage(usage: WireUsage): Usage {
    const cacheRead = tokenCount(usage.cache_read_input_tokens);
  return {
    inputTokens: tokenCount(usage.input_tokens) + cacheRead + tokenCount(usage.cache_creation_input_tokens),
    outputTokens: tokenCount(usage.output_tokens),
    ...(usage.cache_read_input_tokens !== undefined && usage.cache_read_input_tokens !== null ? { cachedTokens: cacheRead } : {}),
  };
}

function startBlock(block: WireBlock): PartialBlock {
  return {
    type: block.type,
    text: block.text ?? "",
    id: block.id ?? "",
    name: block.name ?? "",
    input: block.input,
    json: "",
    thinking: block.thinking ?? "",
    signature: block.signature ?? "",
    data: block.data ?? "",
  };
}

function reasoningItem(block: PartialBlock): ReasoningItem | undefined {
  if (block.type === "thinking" && block.signature) {
    return { type: "reasoning", format: "claude_thinking", encryptedContent: block.signature, summary: [block.thinking] };
  }
  if (block.type === "redacted_thinking" && block.data) {
    return { type: "reasoning", format: "claude_redacted_thinking", encryptedContent: block.data, summary: [] };
  }
  return undefined;
}

function toolArguments(block: PartialBlock): string {
  if (block.json.trim() !== "") return block.json;
  const input = block.input;
  return typeof input === "object" && input !== null ? JSON.stringify(input) : "{}";
}

const ERROR_KINDS: Record<string, ProviderErrorKind> = {
  overloaded_error: "server",
  api_error: "server",
  rate_limit_error: "rate_limited",
  authentication_error: "auth",
  permission_error: "auth",
  invalid_request_error: "bad_request",
  not_found_error: "bad_request",
  request_too_large: "bad_request",
};

function streamError(type: string | null | undefined, message: string | null | undefined): ProviderError {
  const kind = (type && ERROR_KINDS[type]) || "server";
  return new ProviderError(kind, `the model reported an error: ${message ?? type ?? "unknown error"}`);
}

