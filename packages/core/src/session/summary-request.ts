import { TOOL_EVENT_ARGUMENT_CHARS, type TranscriptItem, type TranscriptMessage } from "@starling/protocol";
import { headTail } from "../tools/bounded-text.js";

/**
 * A piece of history as a summary request sends it. The request defines no tools, and Anthropic (also behind
 * OpenRouter) refuses tool_use / tool_result blocks in a request without tools, so every provider gets the
 * piece's tool calls and results as plain text: a call as `[tool call <name> <arguments>]` (arguments cut to
 * head and tail at TOOL_EVENT_ARGUMENT_CHARS, as in the audit events), a result as a `[tool result of <name>]`
 * line followed by its text (stored bounded already). `tool` messages become `user` ones (their returned files
 * stay, normalised for the model by the caller); reasoning items (Claude's signed thinking, Responses' encrypted reasoning)
 * are left out: they are only valid handed back with the exact turn they came with, and the summary needs what
 * was said and done. A message left with nothing is dropped. The stored history is not touched.
 */
export function summaryRequestMessages(piece: readonly TranscriptMessage[]): TranscriptMessage[] {
  const out: TranscriptMessage[] = [];
  for (const message of piece) {
    const content = message.content.flatMap(asSummaryItem);
    if (content.length === 0) continue;
    out.push({ ...message, role: message.role === "tool" ? "user" : message.role, content });
  }
  return out;
}

function asSummaryItem(item: TranscriptItem): TranscriptItem[] {
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
