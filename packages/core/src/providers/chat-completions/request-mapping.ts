import type { FileItem, ModelConfig, TranscriptMessage } from "@starling/protocol";
import type { ToolSchema } from "../../tools/types.js";
import { dataUrl, fileData, mediaKind, mediaTypeOf, senderHeader, textReference } from "../file-parts.js";
import { isOpenRouterClaude } from "../claude-models.js";
import { jsonBody, LastJsonCache, MessageJsonCache, ToolJsonCache, type JsonBody } from "../json-body.js";
import type { ModelRequest } from "../types.js";

export { TEXT_REFERENCE_HEADER, textReference } from "../file-parts.js";

/** Prefix of the message that carries a compaction summary (`role: "context"`). */
export const SUMMARY_PREFIX = "Summary of the earlier conversation:";

export type WireContentPart =
  | { type: "text"; text: string }
  | { type: "image_url"; image_url: { url: string } }
  // OpenRouter's PDF input and OpenAI's audio input in chat-completions.
  | { type: "file"; file: { filename: string; file_data: string } }
  | { type: "input_audio"; input_audio: { data: string; format: string } };

export interface WireAssistantToolCall {
  id: string;
  type: "function";
  function: { name: string; arguments: string };
}

export type WireMessage =
  | { role: "system"; content: string }
  | { role: "user"; content: string | WireContentPart[] }
  | { role: "assistant"; content: string; tool_calls?: WireAssistantToolCall[] }
  | { role: "tool"; tool_call_id: string; content: string };

export interface WireTool {
  type: "function";
  function: { name: string; description: string; parameters: Record<string, unknown> };
}

export interface ChatCompletionRequest {
  model: string;
  messages: WireMessage[];
  tools?: WireTool[];
  stream: true;
  stream_options: { include_usage: true };
  reasoning?: unknown;
  cache_control?: { type: "ephemeral"; ttl?: "1h" };
  max_tokens?: number;
  max_completion_tokens?: number;
  /** `["image", "text"]` for a model with `image_out` (OpenRouter image output); its images come back in `message.images`. */
  modalities?: ["image", "text"];
}

/**
 * ModelRequest → chat-completions body. System prompt first; a `context` message becomes a user
 * message starting with SUMMARY_PREFIX; assistant tool_call items become `tool_calls`; each
 * tool_result becomes a `tool` message; user images become `image_url` parts (as data URLs) when
 * the model has `image_in`, every other file a text reference block. A user message with a
 * `userName` starts with a `[from <name> at <time>]` line.
 */
export async function buildChatRequest(config: ModelConfig, request: ModelRequest): Promise<ChatCompletionRequest> {
  const imageIn = config.capabilities.includes("image_in");
  const messages: WireMessage[] = [];
  if (request.system.trim() !== "") messages.push({ role: "system", content: request.system });
  for (const message of request.messages) messages.push(...(await mapMessage(message, imageIn)));
  const body: ChatCompletionRequest = { model: config.model_name, messages, ...chatOptions(config) };
  if (request.tools.length > 0) body.tools = request.tools.map(mapTool);
  return body;
}

const toolJson = new ToolJsonCache(mapTool);
const messageJson = new MessageJsonCache();
const systemJson = new LastJsonCache((system: string) => ({ role: "system", content: system }));

/**
 * The same request as `buildChatRequest`, serialised: tool schemas and stored messages come from
 * JSON cached per schema and per message, so a turn serialises only what is new (issue #8).
 */
export async function chatRequestBody(config: ModelConfig, request: ModelRequest): Promise<JsonBody> {
  const imageIn = config.capabilities.includes("image_in");
  const system = request.system.trim() !== "" ? [systemJson.of(request.system)] : [];
  const messages = await messageJson.json(request.messages, (m) => mapMessage(m, imageIn), system);
  const tools = request.tools.length > 0 ? [["tools", toolJson.json(request.tools)] as const] : [];
  return jsonBody({ model: config.model_name, ...chatOptions(config) }, [["messages", messages], ...tools]);
}

/** The body fields besides model, messages and tools. */
function chatOptions(config: ModelConfig): Omit<ChatCompletionRequest, "model" | "messages" | "tools"> {
  const options: Omit<ChatCompletionRequest, "model" | "messages" | "tools"> = { stream: true, stream_options: { include_usage: true } };
  if (config.reasoning !== undefined && config.reasoning !== null) options.reasoning = config.reasoning;
  if (config.capabilities.includes("image_out")) options.modalities = ["image", "text"];
  const cacheControl = anthropicCacheControl(config);
  if (cacheControl) options.cache_control = cacheControl;
  if (config.max_output_tokens !== undefined) {
    if (isOpenAIHost(config.url)) options.max_completion_tokens = config.max_output_tokens;
    else options.max_tokens = config.max_output_tokens;
  }
  return options;
}

/**
 * OpenAI's own API (and Azure OpenAI): `max_tokens` is deprecated there and refused by its reasoning models,
 * which take `max_completion_tokens`. OpenRouter, vLLM, llama.cpp and Ollama read `max_tokens`.
 */
function isOpenAIHost(url: string): boolean {
  const host = URL.canParse(url) ? new URL(url).hostname : "";
  return host === "api.openai.com" || host.endsWith(".openai.azure.com");
}

export function mapTool(tool: ToolSchema): WireTool {
  return { type: "function", function: { name: tool.name, description: tool.description, parameters: tool.parameters } };
}

/** OpenRouter prompt caching for `anthropic/claude-*`: 300 s → ephemeral (5 min), 3600 s → 1 h, else none. */
export function anthropicCacheControl(config: ModelConfig): ChatCompletionRequest["cache_control"] {
  if (!isOpenRouterClaude(config.model_name)) return undefined;
  if (config.cache_timeout === 300) return { type: "ephemeral" };
  if (config.cache_timeout === 3600) return { type: "ephemeral", ttl: "1h" };
  return undefined;
}

async function mapMessage(message: TranscriptMessage, imageIn: boolean): Promise<WireMessage[]> {
  const out: WireMessage[] = [];
  const toolMessages: WireMessage[] = [];
  const parts: WireContentPart[] = [];
  const toolCalls: WireAssistantToolCall[] = [];
  // Images reach the model from users and (as a follow-up user message) from tools.
  const inlineImages = imageIn && (message.role === "user" || message.role === "tool");
  for (const item of message.content) {
    switch (item.type) {
      case "text":
        addText(parts, item.text);
        break;
      case "file":
        await addFile(parts, item, inlineImages, message.role);
        break;
      case "tool_call":
        toolCalls.push({ id: item.id, type: "function", function: { name: item.name, arguments: item.arguments } });
        break;
      case "tool_result":
        toolMessages.push({ role: "tool", tool_call_id: item.callId, content: item.content === "" ? "(no output)" : item.content });
        break;
    }
  }
  const text = joinedText(parts);
  switch (message.role) {
    case "context":
      if (text) out.push({ role: "user", content: `${SUMMARY_PREFIX}\n${text}` });
      out.push(...toolMessages);
      break;
    case "assistant":
      if (text !== "" || toolCalls.length > 0) {
        out.push({ role: "assistant", content: text, ...(toolCalls.length > 0 ? { tool_calls: toolCalls } : {}) });
      }
      out.push(...toolMessages);
      break;
    case "tool":
      // Tool results first, so they follow their calls; files or notes the tools returned come after.
      out.push(...toolMessages);
      if (parts.length > 0) {
        addText(parts, "The tools above returned these files:", true);
        out.push(userMessage(parts));
      }
      break;
    case "user": {
      const header = senderHeader(message);
      if (header) addText(parts, header, true);
      if (parts.length > 0) out.push(userMessage(parts));
      out.push(...toolMessages);
      break;
    }
  }
  return out;
}

/** Plain string content unless there are image parts. */
function userMessage(parts: WireContentPart[]): WireMessage {
  return { role: "user", content: parts.some((p) => p.type !== "text") ? parts : joinedText(parts) };
}

function joinedText(parts: WireContentPart[]): string {
  return parts.flatMap((p) => (p.type === "text" ? [p.text] : [])).join("\n");
}

/** Appends (or prepends) text, merging with a neighbouring text part. */
function addText(parts: WireContentPart[], text: string, atStart = false): void {
  const neighbour = atStart ? parts[0] : parts.at(-1);
  if (neighbour?.type === "text") {
    neighbour.text = atStart ? `${text}\n${neighbour.text}` : `${neighbour.text}\n${text}`;
  } else if (atStart) {
    parts.unshift({ type: "text", text });
  } else {
    parts.push({ type: "text", text });
  }
}

async function addFile(parts: WireContentPart[], file: FileItem, inlineImages: boolean, role: TranscriptMessage["role"]): Promise<void> {
  const mediaType = mediaTypeOf(file);
  // PDFs and audio arrive here inline only when media normalisation found the model takes them.
  const inline = /^data:([^;,]+);base64,(.*)$/is.exec(file.uri);
  if (inline && (role === "user" || role === "tool")) {
    if (mediaKind(mediaType) === "pdf") return void parts.push({ type: "file", file: { filename: file.name ?? "document.pdf", file_data: file.uri } });
    if (mediaKind(mediaType) === "audio") return void parts.push({ type: "input_audio", input_audio: { data: inline[2] ?? "", format: audioFormat(inline[1] ?? "") } });
  }
  if (mediaKind(mediaType) !== "image" || !mediaType) {
    return addText(parts, textReference(file, "the chat-completions format takes only images as direct input"));
  }
  if (!inlineImages) {
    const reason = role === "user" || role === "tool" ? "the model does not support image input" : `images in ${role} messages are sent as text`;
    return addText(parts, textReference(file, reason));
  }
  const data = await fileData(file, mediaType);
  if (data.kind === "unavailable") return addText(parts, textReference(file, data.reason));
  parts.push({ type: "image_url", image_url: { url: data.kind === "url" ? data.url : dataUrl(data) } });
}

/** `audio/mpeg` → `mp3`, `audio/wav` → `wav` (the format names of `input_audio`). */
function audioFormat(mediaType: string): string {
  const sub = mediaType.split("/")[1] ?? "wav";
  return sub === "mpeg" ? "mp3" : sub === "x-wav" ? "wav" : sub;
}
