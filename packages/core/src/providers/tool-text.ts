import { TOOL_EVENT_ARGUMENT_CHARS, type ModelConfig, type TranscriptItem, type TranscriptMessage } from "@starling/protocol";
import { headTail } from "../tools/bounded-text.js";
import { servedByAnthropic } from "./claude-models.js";
import type { ModelRequest } from "./types.js";

/**
 * Messages with their tool calls and results as plain text, for a request that defines no tools: Anthropic (also
 * behind OpenRouter) refuses tool_use / tool_result blocks in such a request. A call becomes
 * `[tool call <name> <arguments>]` (arguments cut to head and tail at TOOL_EVENT_ARGUMENT_CHARS, as in the audit
 * events), a result a `[tool result of <name>]` line followed by its text (stored bounded already). `tool` messages
 * become `user` ones (their returned files stay); reasoning items (Claude's signed thinking, Responses' encrypted
 * reasoning) are left out: they are only valid handed back with the exact tool-use turn they came with. A message
 * left with nothing is dropped. The stored history is not touched.
 */
export function toolItemsAsText(messages: readonly TranscriptMessage[]): TranscriptMessage[] {
  const out: TranscriptMessage[] = [];
  for (const message of messages) {
    // Untouched messages stay the same objects, so the per-message JSON caches of the wire mappings still serve them.
    if (message.role !== "tool" && message.content.length > 0 && !message.content.some(isRendered)) {
      out.push(message);
      continue;
    }
    const content = message.content.flatMap(asText);
    if (content.length === 0) continue;
    out.push({ ...message, role: message.role === "tool" ? "user" : message.role, content });
  }
  return out;
}

/**
 * The request as a provider sends it: for a model whose requests end at Anthropic (servedByAnthropic), a request
 * without tools (config `tools.deny` leaving none, MCP servers that are gone) whose history holds tool calls or
 * results goes with those as text (toolItemsAsText); any other request as it is.
 */
export function sendableRequest(config: ModelConfig, request: ModelRequest): ModelRequest {
  if (request.tools.length > 0 || !servedByAnthropic(config)) return request;
  const holdsToolItems = request.messages.some((m) => m.content.some((i) => i.type === "tool_call" || i.type === "tool_result"));
  return holdsToolItems ? { ...request, messages: toolItemsAsText(request.messages) } : request;
}

const isRendered = (item: TranscriptItem): boolean => item.type === "tool_call" || item.type === "tool_result" || item.type === "reasoning";

function asText(item: TranscriptItem): TranscriptItem[] {
  switch (item.type) {
    case "tool_call": {
      const args = headTail(item.arguments, TOOL_EVENT_ARGUMENT_CHARS, (n) => `[... ${n} characters of the arguments left out ...]`).text;
      return [{ type: "text", text: `[tool call ${item.name} ${args}]` }];
    }
    case "tool_result": {
      const how = item.isError ? ", an error" : "";
      return [{ type: "text", text: `[tool result of ${item.name}${how}]\n${item.content === "" ? "(no output)" : item.content}` }];
    }
    case "reasoning":
      return [];
    default:
      return [item];
  }
}
