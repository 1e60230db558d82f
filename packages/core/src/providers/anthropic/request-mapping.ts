import { CLAUDE_DEFAULT_MAX_TOKENS, type ClaudeEffort, type FileItem, type ModelConfig, type TranscriptMessage } from "@starling/protocol";
import { SUMMARY_PREFIX } from "../chat-completions/request-mapping.js";
import { fileData, mediaKind, mediaTypeOf, senderHeader, textReference } from "../file-parts.js";
import { jsonBody, ToolJsonCache, type JsonBody } from "../json-body.js";
import type { ToolSchema } from "../../tools/types.js";
import type { ModelRequest } from "../types.js";
import { claudeThinking } from "./thinking.js";

/** Sent as `anthropic-version`. */
export const ANTHROPIC_VERSION = "2023-06-01";

export type CacheControl = { type: "ephemeral"; ttl: "5m" | "1h" };

type Source = { type: "base64"; media_type: string; data: string } | { type: "url"; url: string };

export type AnthropicBlock = (
  | { type: "text"; text: string }
  | { type: "image"; source: Source }
  | { type: "document"; source: Source }
  | { type: "tool_use"; id: string; name: string; input: unknown }
  | { type: "tool_result"; tool_use_id: string; content: string; is_error?: boolean }
  | { type: "thinking"; thinking: string; signature: string }
  | { type: "redacted_thinking"; data: string }
) & { cache_control?: CacheControl };

export interface AnthropicMessage {
  role: "user" | "assistant";
  content: AnthropicBlock[];
}

export interface AnthropicRequest {
  model: string;
  max_tokens: number;
  system?: Array<{ type: "text"; text: string; cache_control?: CacheControl }>;
  messages: AnthropicMessage[];
  tools?: Array<{ name: string; description: string; input_schema: Record<string, unknown> }>;
  thinking?: { type: "enabled"; budget_tokens: number } | { type: "adaptive" };
  output_config?: { effort: ClaudeEffort };
  stream: true;
}

/**
 * ModelRequest → Anthropic Messages body. Text → text blocks; user (and tool-returned) images →
 * image blocks with `image_in`, PDFs → document blocks with `pdf_in`, other files → text
 * references; assistant tool calls → tool_use (arguments parsed); an assistant's stored Claude thinking
 * (`reasoning` items of a `claude_*` format) → its thinking / redacted_thinking blocks, exactly as received;
 * tool results → tool_result blocks in a user message. `reasoning` → `thinking` (claudeThinking: adaptive, or manual
 * with the budget config load checks, 1024 ≤ budget < max_tokens, as the API wants); `effort` →
 * `output_config.effort`; no temperature is ever sent.
 * Consecutive same-role messages merge (the API wants alternating roles). Prompt caching (model `claude-*`, `cache_timeout` 300 or 3600):
 * the system block and the last block of the last message carry `cache_control`, so the stable
 * prefix and the growing conversation are both cached.
 */
export async function buildAnthropicRequest(config: ModelConfig, request: ModelRequest): Promise<AnthropicRequest> {
  const cache = claudeCacheControl(config);
  const messages: AnthropicMessage[] = [];
  for (const message of request.messages) {
    for (const mapped of await mapMessage(message, config)) {
      const last = messages.at(-1);
      if (last && last.role === mapped.role) last.content.push(...mapped.content);
      else messages.push(mapped);
    }
  }
  const body: AnthropicRequest = { model: config.model_name, max_tokens: config.max_output_tokens ?? CLAUDE_DEFAULT_MAX_TOKENS, messages, stream: true };
  const thinking = claudeThinking(config, messages);
  if (thinking) body.thinking = thinking;
  if (config.effort !== undefined) body.output_config = { effort: config.effort };
  if (request.system.trim() !== "") {
    body.system = [{ type: "text", text: request.system, ...(cache ? { cache_control: cache } : {}) }];
  }
  const lastBlock = messages.at(-1)?.content.at(-1);
  // Anthropic refuses cache_control on thinking blocks.
  if (cache && lastBlock && lastBlock.type !== "thinking" && lastBlock.type !== "redacted_thinking") lastBlock.cache_control = cache;
  if (request.tools.length > 0) body.tools = request.tools.map(anthropicTool);
  return body;
}

function anthropicTool(t: ToolSchema): NonNullable<AnthropicRequest["tools"]>[number] {
  return { name: t.name, description: t.description, input_schema: t.parameters };
}

const toolJson = new ToolJsonCache(anthropicTool);

/**
 * The same request as `buildAnthropicRequest`, serialised; the tool schemas from JSON cached per schema
 * (messages are merged across stored messages and the last one carries `cache_control`, so they are
 * serialised each time).
 */
export async function anthropicRequestBody(config: ModelConfig, request: ModelRequest): Promise<JsonBody> {
  const head = await buildAnthropicRequest(config, { ...request, tools: [] });
  return jsonBody({ ...head }, request.tools.length > 0 ? [["tools", toolJson.json(request.tools)]] : []);
}

/** Claude form of prompt caching: 300 s → 5m, 3600 s → 1h, other values or non-`claude-` models → none. */
export function claudeCacheControl(config: ModelConfig): CacheControl | undefined {
  if (!config.model_name.startsWith("claude-")) return undefined;
  if (config.cache_timeout === 300) return { type: "ephemeral", ttl: "5m" };
  if (config.cache_timeout === 3600) return { type: "ephemeral", ttl: "1h" };
  return undefined;
}

async function mapMessage(message: TranscriptMessage, config: ModelConfig): Promise<AnthropicMessage[]> {
  const blocks: AnthropicBlock[] = [];
  const results: AnthropicBlock[] = [];
  const mediaAllowed = message.role === "user" || message.role === "tool";
  for (const item of message.content) {
    switch (item.type) {
      case "text":
        if (item.text.trim() !== "") blocks.push({ type: "text", text: item.text });
        break;
      case "file":
        blocks.push(await fileBlock(item, config, mediaAllowed));
        break;
      case "tool_call":
        blocks.push({ type: "tool_use", id: item.id, name: item.name, input: parseArguments(item.arguments) });
        break;
      case "reasoning":
        if (message.role === "assistant" && item.format === "claude_thinking") {
          blocks.push({ type: "thinking", thinking: item.summary.join(""), signature: item.encryptedContent });
        } else if (message.role === "assistant" && item.format === "claude_redacted_thinking") {
          blocks.push({ type: "redacted_thinking", data: item.encryptedContent });
        }
        break;
      case "tool_result":
        results.push({
          type: "tool_result",
          tool_use_id: item.callId,
          content: item.content === "" ? "(no output)" : item.content,
          ...(item.isError ? { is_error: true } : {}),
        });
        break;
    }
  }
  switch (message.role) {
    case "context": {
      const text = blocks.flatMap((b) => (b.type === "text" ? [b.text] : [])).join("\n");
      return text ? [{ role: "user", content: [{ type: "text", text: `${SUMMARY_PREFIX}\n${text}` }] }] : [];
    }
    case "assistant":
      return [
        ...(blocks.length > 0 ? [{ role: "assistant" as const, content: blocks }] : []),
        ...(results.length > 0 ? [{ role: "user" as const, content: results }] : []),
      ];
    case "tool": {
      // Results first, so they directly follow their tool_use blocks; returned files after them.
      const files = blocks.length > 0 ? [{ type: "text" as const, text: "The tools above returned these files:" }, ...blocks] : [];
      const content = [...results, ...files];
      return content.length > 0 ? [{ role: "user", content }] : [];
    }
    case "user": {
      const header = senderHeader(message);
      const content: AnthropicBlock[] = [...(header ? [{ type: "text" as const, text: header }] : []), ...blocks, ...results];
      return content.length > 0 ? [{ role: "user", content }] : [];
    }
  }
}

async function fileBlock(file: FileItem, config: ModelConfig, mediaAllowed: boolean): Promise<AnthropicBlock> {
  const mediaType = mediaTypeOf(file);
  const kind = mediaKind(mediaType);
  const capability = kind === "image" ? "image_in" : kind === "pdf" ? "pdf_in" : undefined;
  if (!capability || !mediaType) {
    return { type: "text", text: textReference(file, "the Anthropic Messages format takes only images and PDFs as direct input") };
  }
  if (!mediaAllowed) return { type: "text", text: textReference(file, "files in assistant messages are sent as text") };
  if (!config.capabilities.includes(capability)) {
    return { type: "text", text: textReference(file, `the model does not support ${kind} input`) };
  }
  const data = await fileData(file, mediaType);
  if (data.kind === "unavailable") return { type: "text", text: textReference(file, data.reason) };
  const source: Source = data.kind === "url" ? { type: "url", url: data.url } : { type: "base64", media_type: data.mediaType, data: data.base64 };
  return kind === "image" ? { type: "image", source } : { type: "document", source };
}

/** tool_use `input` must be an object: arguments that are not a JSON object are sent as `{}` (the tool already answered that call with an argument error). */
function parseArguments(text: string): unknown {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === "object" && value !== null && !Array.isArray(value) ? value : {};
  } catch {
    return {};
  }
}
