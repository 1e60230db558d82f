// Helpers to script the fake chat-completions model by what a request contains (robust across restarts).
import type { RecordedRequest, Responder, ScriptedToolCall } from "../fakes/openai-server.js";

export interface WireMessage {
  role: string;
  content?: unknown;
  tool_calls?: { id: string; function: { name: string; arguments: string } }[];
  tool_call_id?: string;
}

export function wireMessages(req: RecordedRequest): WireMessage[] {
  return (req.body["messages"] as WireMessage[] | undefined) ?? [];
}

export function textOf(m: WireMessage | undefined): string {
  if (!m) return "";
  if (typeof m.content === "string") return m.content;
  if (Array.isArray(m.content)) {
    return m.content.map((p: { type?: string; text?: string }) => (p.type === "text" ? (p.text ?? "") : "")).join("");
  }
  return "";
}

export function lastMessage(req: RecordedRequest): WireMessage | undefined {
  const all = wireMessages(req);
  return all[all.length - 1];
}

/** A compaction request: no tools offered and the worker's summary instruction last. */
export function isSummaryRequest(req: RecordedRequest): boolean {
  const tools = req.body["tools"] as unknown[] | undefined;
  return (!tools || tools.length === 0) && /summari[sz]e the conversation/i.test(textOf(lastMessage(req)));
}

/** Texts of the user messages in a request (compaction summaries included, they are user messages on the wire). */
export function userTexts(req: RecordedRequest): string[] {
  return wireMessages(req)
    .filter((m) => m.role === "user")
    .map(textOf);
}

/** Side-effecting shell call: appends one line to `effects.log` in the workspace. */
export function appendLine(tag = "ran"): ScriptedToolCall {
  return { name: "shell", arguments: { command: `echo ${tag} >> effects.log` } };
}

/**
 * The default agent: a summary request gets a summary; a request whose last message is a user message
 * (a new input) asks for `toolCall`; after a tool result it answers with text.
 */
export function toolThenAnswer(toolCall: () => ScriptedToolCall = () => appendLine()): Responder {
  return (req) => {
    if (isSummaryRequest(req)) return { text: "SUMMARY: the user asked for things and tools ran." };
    const last = lastMessage(req);
    if (last?.role === "tool") return { text: `done after ${wireMessages(req).filter((m) => m.role === "tool").length} tool results` };
    return { toolCalls: [toolCall()] };
  };
}

/** Makes `call` (id `call_1`) for a new input, then answers with the text of the tool result it saw. */
export function oneToolCall(call: ScriptedToolCall): Responder {
  return (req) => {
    const last = lastMessage(req);
    if (last?.role === "tool") return { text: `tool said: ${textOf(last)}` };
    return { toolCalls: [{ id: "call_1", ...call }] };
  };
}
