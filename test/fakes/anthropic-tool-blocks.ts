// The Anthropic Messages API refuses, with HTTP 400 invalid_request_error, a request whose messages hold
// `tool_use` or `tool_result` blocks while it defines no `tools` (its wording below). OpenRouter forwards a
// Claude model's chat-completions or Responses request to Anthropic, its tool calls (`tool_calls`, `tool`
// messages; `function_call` / `function_call_output` items) as those blocks; the OpenAI-shaped fakes assume it
// adds no tool definitions of its own and give Anthropic's refusal in OpenRouter's wrapping
// (openRouterAnthropicError), for `anthropic/claude-*` models only (OpenAI takes such requests).
import { openRouterAnthropicError } from "./anthropic-image-limits.js";

export const TOOL_BLOCKS_WITHOUT_TOOLS = "Requests which include `tool_use` or `tool_result` blocks must define tools.";

type Node = Record<string, unknown>;
const records = (value: unknown): Node[] => (Array.isArray(value) ? value.filter((v): v is Node => typeof v === "object" && v !== null) : []);
const definesTools = (body: Node): boolean => records(body["tools"]).length > 0;

/** The refusal message for an Anthropic request body with tool blocks and no tools; null otherwise. */
export function toolBlocksRefusal(body: Node): string | null {
  if (definesTools(body)) return null;
  const blocks = records(body["messages"]).flatMap((message) => records(message["content"]));
  return blocks.some((block) => block["type"] === "tool_use" || block["type"] === "tool_result") ? TOOL_BLOCKS_WITHOUT_TOOLS : null;
}

/** OpenRouter's 400 body for a Claude model's chat-completions or Responses request with tool calls and no tools; null otherwise. */
export function openRouterToolBlocksRefusal(body: Node): Record<string, unknown> | null {
  const model = body["model"];
  if (typeof model !== "string" || !model.startsWith("anthropic/claude-") || definesTools(body)) return null;
  const chatToolCalls = records(body["messages"]).some((m) => m["role"] === "tool" || records(m["tool_calls"]).length > 0);
  const responsesToolItems = records(body["input"]).some((item) => item["type"] === "function_call" || item["type"] === "function_call_output");
  return chatToolCalls || responsesToolItems ? openRouterAnthropicError(TOOL_BLOCKS_WITHOUT_TOOLS) : null;
}
