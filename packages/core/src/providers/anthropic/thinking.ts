import type { ModelConfig } from "@starling/protocol";
import type { AnthropicMessage } from "./request-mapping.js";

/** The extended-thinking budget: the model's `reasoning.max_tokens` when it is a whole number of tokens. */
export function claudeThinkingBudget(config: ModelConfig): number | undefined {
  const reasoning = config.reasoning;
  const value = typeof reasoning === "object" && reasoning !== null ? (reasoning as Record<string, unknown>)["max_tokens"] : undefined;
  return typeof value === "number" && Number.isInteger(value) && value > 0 ? value : undefined;
}

const isThinking = (type: string | undefined): boolean => type === "thinking" || type === "redacted_thinking";
const holdsToolResults = (message: AnthropicMessage): boolean => message.content.some((block) => block.type === "tool_result");

/**
 * Whether a request may turn thinking on. Anthropic keeps one thinking mode per assistant turn (from the last
 * user message that is not only tool results, through its tool-use cycle) and refuses a request with thinking
 * while that turn's tool-use cycle runs if its first assistant message does not start with a thinking block:
 * a cycle begun without thinking (thinking switched on by a `/model` switch or a config change mid-turn,
 * begun by another provider, or whose thinking message a compaction summarised away) finishes without it; the next
 * turn thinks again.
 */
export function thinkingFits(messages: readonly AnthropicMessage[]): boolean {
  const last = messages.at(-1);
  if (!last || last.role !== "user" || !holdsToolResults(last)) return true;
  const turnStart = messages.findLastIndex((message) => message.role === "user" && !holdsToolResults(message));
  const opening = messages.find((message, i) => i > turnStart && message.role === "assistant");
  return opening === undefined || isThinking(opening.content[0]?.type);
}
