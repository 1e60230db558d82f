import type { FileItem, ModelConfig, ReasoningItem, TranscriptMessage } from "@starling/protocol";
import { anthropicCacheControl, mapTool, SUMMARY_PREFIX, type ChatCompletionRequest } from "../chat-completions/request-mapping.js";
import { dataUrl, fileData, mediaKind, mediaTypeOf, senderHeader, textReference } from "../file-parts.js";
import { jsonBody, MessageJsonCache, ToolJsonCache, type JsonBody } from "../json-body.js";
import type { ToolSchema } from "../../tools/types.js";
import type { ModelRequest } from "../types.js";

export type InputPart =
  | { type: "input_text"; text: string }
  | { type: "output_text"; text: string }
  | { type: "input_image"; image_url: string }
  | { type: "input_file"; filename?: string; file_data?: string; file_url?: string };

export type InputItem =
  | { type: "message"; role: "user" | "assistant"; content: InputPart[] }
  | { type: "reasoning"; summary: Array<{ type: "summary_text"; text: string }>; encrypted_content: string }
  | { type: "function_call"; call_id: string; name: string; arguments: string }
  | { type: "function_call_output"; call_id: string; output: string };

export interface ResponsesRequest {
  model: string;
  input: InputItem[];
  instructions?: string;
  tools?: Array<{ type: "function"; name: string; description: string; parameters: Record<string, unknown> }>;
  reasoning?: unknown;
  include?: ["reasoning.encrypted_content"];
  cache_control?: ChatCompletionRequest["cache_control"];
  max_output_tokens?: number;
  store: false;
  stream: true;
}

/**
 * ModelRequest → OpenAI Responses body (`input` items). System prompt → `instructions`; user text
 * → `input_text`, images → `input_image` (with `image_in`), PDFs and audio → `input_file` (with
 * `pdf_in` / `audio_in`), other files → text references; assistant text → `output_text`, tool calls
 * → `function_call`; tool results → `function_call_output`. `store: false` (no server-side state; OpenRouter
 * takes nothing else), so with `reasoning` configured `include` asks for the encrypted reasoning, which goes back
 * with the model's later requests (`reasoningKept`).
 */
export async function buildResponsesRequest(config: ModelConfig, request: ModelRequest): Promise<ResponsesRequest> {
  const input: InputItem[] = [];
  const keep = reasoningKept(config);
  for (const message of request.messages) input.push(...(await mapMessage(message, config, keep)));
  const body: ResponsesRequest = { model: config.model_name, input, ...responsesOptions(config, request) };
  if (request.tools.length > 0) body.tools = request.tools.map(responsesTool);
  return body;
}

const toolJson = new ToolJsonCache(responsesTool);
/** Per model config: which reasoning items go back depends on the model. */
const inputJson = new WeakMap<ModelConfig, MessageJsonCache>();

/** The same request as `buildResponsesRequest`, serialised from JSON cached per tool schema and per stored message. */
export async function responsesRequestBody(config: ModelConfig, request: ModelRequest): Promise<JsonBody> {
  let cache = inputJson.get(config);
  if (!cache) inputJson.set(config, (cache = new MessageJsonCache()));
  const keep = reasoningKept(config);
  const input = await cache.json(request.messages, (m) => mapMessage(m, config, keep));
  const tools = request.tools.length > 0 ? [["tools", toolJson.json(request.tools)] as const] : [];
  return jsonBody({ model: config.model_name, ...responsesOptions(config, request) }, [["input", input], ...tools]);
}

export function responsesTool(tool: ToolSchema): NonNullable<ResponsesRequest["tools"]>[number] {
  return { type: "function", ...mapTool(tool).function };
}

/** The body fields besides model, input and tools. */
function responsesOptions(config: ModelConfig, request: ModelRequest): Omit<ResponsesRequest, "model" | "input" | "tools"> {
  const options: Omit<ResponsesRequest, "model" | "input" | "tools"> = { store: false, stream: true };
  if (request.system.trim() !== "") options.instructions = request.system;
  if (reasons(config)) {
    options.reasoning = config.reasoning;
    // With `store: false` the server keeps nothing: its reasoning crosses tool calls only as the encrypted items it returns when asked.
    options.include = ["reasoning.encrypted_content"];
  }
  const cacheControl = anthropicCacheControl(config);
  if (cacheControl) options.cache_control = cacheControl;
  if (config.max_output_tokens !== undefined) options.max_output_tokens = config.max_output_tokens;
  return options;
}

/** A model with `reasoning` configured: its encrypted reasoning is asked for, kept and handed back. */
export const reasons = (config: ModelConfig): boolean => config.reasoning !== undefined && config.reasoning !== null;

/** The reasoning items an `open_router_responses` model gets back: with `reasoning` configured, the ones it wrote itself. */
export function reasoningKept(config: ModelConfig): (item: ReasoningItem) => boolean {
  if (!reasons(config)) return () => false;
  return (item) => item.format === "open_router_responses" && item.model === config.model_name;
}

/**
 * One stored message as Responses input items. An assistant message's reasoning items that `keep` accepts
 * go back first, as `reasoning` items with their `encrypted_content` (the server needs them to carry its
 * reasoning across tool calls with `store: false`); the others (another provider's or model's, Claude's
 * thinking) are left out.
 */
export async function mapMessage(message: TranscriptMessage, config: ModelConfig, keep: (item: ReasoningItem) => boolean = () => false): Promise<InputItem[]> {
  const assistant = message.role === "assistant";
  const textType = assistant ? "output_text" : "input_text";
  const parts: InputPart[] = [];
  const calls: InputItem[] = [];
  const outputs: InputItem[] = [];
  const reasoning: InputItem[] = [];
  for (const item of message.content) {
    switch (item.type) {
      case "reasoning":
        if (assistant && keep(item)) {
          reasoning.push({ type: "reasoning", summary: item.summary.map((text) => ({ type: "summary_text", text })), encrypted_content: item.encryptedContent });
        }
        break;
      case "text":
        if (item.text !== "") parts.push({ type: textType, text: item.text });
        break;
      case "file":
        parts.push(assistant ? { type: textType, text: textReference(item, "files in assistant messages are sent as text") } : await filePart(item, config));
        break;
      case "tool_call":
        calls.push({ type: "function_call", call_id: item.id, name: item.name, arguments: item.arguments });
        break;
      case "tool_result":
        outputs.push({ type: "function_call_output", call_id: item.callId, output: item.content === "" ? "(no output)" : item.content });
        break;
    }
  }
  switch (message.role) {
    case "context": {
      const text = parts.flatMap((p) => (p.type === "input_text" ? [p.text] : [])).join("\n");
      return text ? [userMessage([{ type: "input_text", text: `${SUMMARY_PREFIX}\n${text}` }])] : [];
    }
    case "assistant":
      // Reasoning goes back with the output it led to; alone (a reply cut at the output limit while reasoning) it stays behind.
      if (parts.length === 0 && calls.length === 0) return outputs;
      return [...reasoning, ...(parts.length > 0 ? [{ type: "message" as const, role: "assistant" as const, content: parts }] : []), ...calls, ...outputs];
    case "tool":
      return [...outputs, ...(parts.length > 0 ? [userMessage([{ type: "input_text", text: "The tools above returned these files:" }, ...parts])] : [])];
    case "user": {
      const header = senderHeader(message);
      if (header) parts.unshift({ type: "input_text", text: header });
      return [...(parts.length > 0 ? [userMessage(parts)] : []), ...outputs];
    }
  }
}

function userMessage(content: InputPart[]): InputItem {
  return { type: "message", role: "user", content };
}

const CAPABILITY = { image: "image_in", pdf: "pdf_in", audio: "audio_in" } as const;

async function filePart(file: FileItem, config: ModelConfig): Promise<InputPart> {
  const mediaType = mediaTypeOf(file);
  const kind = mediaKind(mediaType);
  const capability = kind === "other" ? "file_in" : CAPABILITY[kind];
  if (!mediaType || !config.capabilities.includes(capability)) {
    return { type: "input_text", text: textReference(file, `the model does not support ${kind === "other" ? "generic file" : kind} input`) };
  }
  const data = await fileData(file, mediaType);
  if (data.kind === "unavailable") return { type: "input_text", text: textReference(file, data.reason) };
  if (kind === "image") return { type: "input_image", image_url: data.kind === "url" ? data.url : dataUrl(data) };
  if (data.kind === "url") return { type: "input_file", file_url: data.url };
  return { type: "input_file", filename: file.name ?? "file", file_data: dataUrl(data) };
}
