import type { ModelConfig } from "@starling/protocol";

/** An OpenRouter model id naming a Claude model (`anthropic/claude-…`): OpenRouter sends its requests on to Anthropic. */
export function isOpenRouterClaude(modelName: string): boolean {
  return modelName.startsWith("anthropic/claude-");
}

/**
 * Whether `config`'s requests end at Anthropic's Messages API, whose limits then apply: `claude_code`,
 * or a Claude model reached through OpenRouter (chat completions or Responses).
 */
export function servedByAnthropic(config: ModelConfig): boolean {
  if (config.provider_type === "claude_code") return true;
  const openRouter = config.provider_type === "open_router_completion" || config.provider_type === "open_router_responses";
  return openRouter && isOpenRouterClaude(config.model_name);
}
