// Extended thinking as the Anthropic Messages API enforces it, for the fake server (docs "Building with
// extended thinking", "Adaptive thinking"; messages as the API words them): adaptive thinking without a budget;
// manual thinking's `thinking.budget_tokens` at least 1024 and below
// `max_tokens`; no `temperature` other than 1 with thinking; thinking blocks come back with the signature
// they were issued with, text unchanged; and while a tool-use cycle runs (the last user message holds
// tool results) the assistant turn's first message must start with its thinking block. The fake's signature is
// a hash of the thinking text, so a changed text or a made-up signature is refused as the real one is.
import { createHash } from "node:crypto";

/** A thinking block to stream: its text (signed by the fake), or the opaque data of a redacted one. */
export type FakeThinking = { thinking: string } | { redacted: string };

const REDACTED_PREFIX = "fake-redacted:";

/** The signature the fake issues for a thinking text. */
export function thinkingSignature(thinking: string): string {
  return `fake-sig:${createHash("sha256").update(thinking).digest("base64")}`;
}

/** The content block a fake thinking entry is sent as (whole form). */
export function thinkingBlock(entry: FakeThinking): Record<string, string> {
  return "thinking" in entry
    ? { type: "thinking", thinking: entry.thinking, signature: thinkingSignature(entry.thinking) }
    : { type: "redacted_thinking", data: `${REDACTED_PREFIX}${entry.redacted}` };
}

interface Block {
  type?: string;
  thinking?: unknown;
  signature?: unknown;
  data?: unknown;
}

interface Message {
  role?: string;
  content?: unknown;
}

const blocksOf = (message: Message): Block[] => (Array.isArray(message.content) ? (message.content as Block[]) : []);

/** The refusal message for a request that breaks a thinking rule; null when it keeps them. */
export function thinkingRefusal(body: Record<string, unknown>): string | null {
  const messages = Array.isArray(body["messages"]) ? (body["messages"] as Message[]) : [];
  for (const [m, message] of messages.entries()) {
    for (const [b, block] of blocksOf(message).entries()) {
      if (block.type === "thinking" && (typeof block.thinking !== "string" || block.signature !== thinkingSignature(block.thinking))) {
        return `messages.${m}.content.${b}: Invalid \`signature\` in \`thinking\` block`;
      }
      if (block.type === "redacted_thinking" && !(typeof block.data === "string" && block.data.startsWith(REDACTED_PREFIX))) {
        return `messages.${m}.content.${b}: Invalid \`data\` in \`redacted_thinking\` block`;
      }
    }
  }
  const thinking = body["thinking"] as { type?: string; budget_tokens?: unknown } | undefined;
  if (thinking?.type === "adaptive") {
    // Adaptive thinking: no budget, and Claude may leave thinking out of any message, so no first-block rule.
    if (thinking.budget_tokens !== undefined) return "thinking.adaptive.budget_tokens: Extra inputs are not permitted";
    if (body["temperature"] !== undefined && body["temperature"] !== 1) return "`temperature` may only be set to 1 when thinking is enabled";
    return null;
  }
  if (!thinking || thinking.type !== "enabled") return null;
  const budget = thinking.budget_tokens;
  if (typeof budget !== "number" || budget < 1024) return "thinking.enabled.budget_tokens: Input should be greater than or equal to 1024";
  if (typeof body["max_tokens"] !== "number" || body["max_tokens"] <= budget) return "`max_tokens` must be greater than `thinking.budget_tokens`";
  if (body["temperature"] !== undefined && body["temperature"] !== 1) return "`temperature` may only be set to 1 when thinking is enabled";
  // The assistant turn runs from the last user message that is not only tool results: Claude thinks once at its
  // start (without interleaved thinking it does not think again after tool results), so its first assistant message
  // is the one that must start with thinking while the turn's tool-use cycle goes on.
  const last = messages.at(-1);
  const inToolCycle = last?.role === "user" && blocksOf(last).some((block) => block.type === "tool_result");
  const turnStart = messages.findLastIndex((message) => message.role === "user" && !blocksOf(message).some((block) => block.type === "tool_result"));
  const assistantAt = messages.findIndex((message, i) => i > turnStart && message.role === "assistant");
  const first = assistantAt >= 0 ? blocksOf(messages[assistantAt]!)[0] : undefined;
  if (inToolCycle && first && first.type !== "thinking" && first.type !== "redacted_thinking") {
    return `messages.${assistantAt}.content.0.type: Expected \`thinking\` or \`redacted_thinking\`, but found \`${first.type}\`. When \`thinking\` is enabled, a final \`assistant\` message must start with a thinking block (preceeding the lastmost set of \`tool_use\` and \`tool_result\` blocks).`;
  }
  return null;
}
