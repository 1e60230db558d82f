import type { ModelConfig, ProviderType } from "@starling/protocol";
import { createAnthropicProvider } from "./anthropic/provider.js";
import { createBraveSearchProvider } from "./brave-search/provider.js";
import { createCodexProvider } from "./codex/provider.js";
import { createChatCompletionsProvider } from "./chat-completions/provider.js";
import type { HttpProviderOptions } from "./http-chat-provider.js";
import type { ImageProvider } from "./image-types.js";
import { createOpenAIImageProvider } from "./openai-image/provider.js";
import { createResponsesProvider } from "./responses/provider.js";
import type { SearchProvider } from "./search-types.js";
import { ProviderError, type ModelProvider } from "./types.js";

/** Builds a provider for one ModelConfig. Reads secrets from `env` at call time, never at build time. */
export type ProviderFactory = (config: ModelConfig, env: NodeJS.ProcessEnv, options?: HttpProviderOptions) => ModelProvider;

/** The chat providers Starling implements, by `provider_type`. */
export const providerFactories: Readonly<Partial<Record<ProviderType, ProviderFactory>>> = {
  open_router_completion: (config, env, options) => createChatCompletionsProvider(config, env, options),
  open_router_responses: (config, env, options) => createResponsesProvider(config, env, options),
  claude_code: (config, env, options) => createAnthropicProvider(config, env, options),
  codex_subscription: (config, env, options) => createCodexProvider(config, env, options),
};

const IMAGE_TYPES: readonly ProviderType[] = ["openai_image", "openai_image_edit"];

/**
 * The chat provider for `config.provider_type`. A type that is not a chat wire format, or not
 * implemented, throws ProviderError kind `config` at once, saying what to do; a missing API key
 * surfaces when `complete` is called (kind `config`, naming the variable).
 */
export function createProvider(config: ModelConfig, env: NodeJS.ProcessEnv = process.env, options?: HttpProviderOptions): ModelProvider {
  const factory = providerFactories[config.provider_type];
  if (factory) return factory(config, env, options);
  const supported = Object.keys(providerFactories).join(", ");
  const what =
    config.provider_type === "brave_search"
      ? "is a web search service, not a chat model: use it as session_defaults.search_tool_model"
      : IMAGE_TYPES.includes(config.provider_type)
        ? "is an image generator, not a chat model: use it as session_defaults.image_generation_tool_model"
        : "is not supported yet";
  throw new ProviderError("config", `model ${config.model_name}: provider_type "${config.provider_type}" ${what} (chat providers: ${supported})`);
}

/** The search provider for a `brave_search` model; any other type throws kind `config`. */
export function createSearchProvider(config: ModelConfig, env: NodeJS.ProcessEnv = process.env): SearchProvider {
  if (config.provider_type === "brave_search") return createBraveSearchProvider(config, env);
  throw new ProviderError(
    "config",
    `model ${config.model_name}: web search needs provider_type "brave_search", not "${config.provider_type}" (fix session_defaults.search_tool_model)`,
  );
}

/** The image provider for an `openai_image` (or `openai_image_edit`) model; any other type throws kind `config`. */
export function createImageProvider(config: ModelConfig, env: NodeJS.ProcessEnv = process.env): ImageProvider {
  if (IMAGE_TYPES.includes(config.provider_type)) return createOpenAIImageProvider(config, env);
  throw new ProviderError(
    "config",
    `model ${config.model_name}: image generation needs provider_type "openai_image", not "${config.provider_type}" (fix session_defaults.image_generation_tool_model)`,
  );
}

export function isImageProviderType(type: ProviderType): boolean {
  return IMAGE_TYPES.includes(type);
}
