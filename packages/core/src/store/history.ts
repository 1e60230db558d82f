import type { ToolCallItem, ToolResultItem, TranscriptMessage } from "@starling/protocol";

/** Tool calls in the transcript that have no result yet, in call order. */
export function danglingToolCalls(messages: readonly TranscriptMessage[]): ToolCallItem[] {
  const answered = new Set<string>();
  const calls: ToolCallItem[] = [];
  // Only the tail after the last user/context message can hold unanswered calls, but scanning
  // backwards to the last user message keeps this cheap on long transcripts.
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i]!;
    const inMessage: ToolCallItem[] = [];
    for (const item of m.content) {
      if (item.type === "tool_result") answered.add(item.callId);
      if (item.type === "tool_call") inMessage.push(item);
    }
    // Messages are visited newest first, items in order: prepend the message's calls as a group so
    // the batch runs in call order (ARCHITECTURE §4).
    calls.unshift(...inMessage);
    if (m.role === "user" || m.role === "context") break;
  }
  return calls.filter((c) => !answered.has(c.id));
}

export function toolCallsOf(message: TranscriptMessage | undefined): ToolCallItem[] {
  return (message?.content ?? []).filter((i): i is ToolCallItem => i.type === "tool_call");
}

export function resultMessage(
  turnId: number,
  result: Omit<ToolResultItem, "type">,
): Omit<TranscriptMessage, "index"> {
  return {
    role: "tool",
    turnId,
    time: new Date().toISOString(),
    content: [{ type: "tool_result", ...result }],
  };
}
