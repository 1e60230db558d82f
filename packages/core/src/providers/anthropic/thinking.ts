import type { ModelConfig } from "@starling/protocol";
import type { AnthropicMessage, AnthropicRequest } from "./request-mapping.js";

const reasoningOf = (config: ModelConfig): Record<string, unknown> => {
  const reasoning = config.reasoning;
  return typeof reasoning === "object" && reasoning !== null ? (reasoning as Record<string, unknown>) : {};
};

/** The extended-thinking budget: the model's `reasoning.max_tokens` when it is a whole number of tokens. */
function claudeThinkingBudget(config: ModelConfig): number | undefined {
  const value = reasoningOf(config)["max_tokens"];
  return typeof value === "number" && Number.isInteger(value) && value > 0 ? value : undefined;
}

/**
 * The request's `thinking`: `reasoning: {"type": "adaptive"}` → adaptive thinking (Claude decides whether and how
 * much to think, also between tool calls; the only thinking newer models take), sent on every request: the model may
 * skip thinking in any message, so the API cannot hold a tool-use cycle to a first thinking block, and the
 * configuration stays the same through the turn as Anthropic asks. `reasoning.max_tokens` → manual extended
 * thinking with that budget, except where it does not fit the running tool-use cycle (thinkingFits).
 */
export function claudeThinking(config: ModelConfig, messages: readonly AnthropicMessage[]): AnthropicRequest["thinking"] {
  if (reasoningOf(config)["type"] === "adaptive") return { type: "adaptive" };
  const budget = claudeThinkingBudget(config);
  return budget !== undefined && thinkingFits(messages) ? { type: "enabled", budget_tokens: budget } : undefined;
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
