import type { ModelConfig, ProviderType } from "@starling/protocol";
import { createAnthropicProvider } from "./anthropic/provider.js";
import { createChatCompletionsProvider } from "./chat-completions/provider.js";
import { createResponsesProvider } from "./responses/provider.js";
import { ProviderError, type ModelProvider } from "./types.js";

/** Builds a provider for one ModelConfig. Reads secrets from `env` at call time, never at build time. */
export type ProviderFactory = (config: ModelConfig, env: NodeJS.ProcessEnv) => ModelProvider;

/** The chat providers Starling implements, by `provider_type`. */
export const providerFactories: Readonly<Partial<Record<ProviderType, ProviderFactory>>> = {
  open_router_completion: (config, env) => createChatCompletionsProvider(config, env),
  open_router_responses: (config, env) => createResponsesProvider(config, env),
  claude_code: (config, env) => createAnthropicProvider(config, env),
};

/**
 * The provider for `config.provider_type`. An unsupported type throws ProviderError kind
 * `config` at once; a missing API key surfaces when `complete` is called (kind `config`, naming
 * the variable).
 */
export function createProvider(config: ModelConfig, env: NodeJS.ProcessEnv = process.env): ModelProvider {
  const factory = providerFactories[config.provider_type];
  if (!factory) {
    const supported = Object.keys(providerFactories).join(", ");
    throw new ProviderError(
      "config",
      `model ${config.model_name}: provider_type "${config.provider_type}" is not supported yet (supported: ${supported})`,
    );
  }
  return factory(config, env);
}

// Types and errors
export {
  ProviderError,
  type ProviderErrorKind,
  type ModelProvider,
  type ModelRequest,
  type ModelResponse,
  type CompleteOptions,
  type RetryNotice,
} from "./types.js";

// Helper-model interfaces (web_search, image_generation, media analysis tools)
export type { SearchProvider, SearchRequest, SearchResult } from "./search-types.js";
export type { ImageProvider, ImageInput, ImageGenerationRequest, ImageEditRequest, ImageResult, GeneratedImage } from "./image-types.js";
export { HELPER_ROLES, helperModelKey, type HelperRole, type HelperModels } from "./helper-models.js";

// Building blocks, for other providers and tests
export { withRetries, sleep, retryBudget, retryDelayMs, type RetryOptions } from "./retry.js";
export { HttpExchange, statusError, kindForStatus, parseRetryAfter, DEFAULT_CONN_TIMEOUT_SECS } from "./http.js";
export { resolveApiKey } from "./api-key.js";
export { createChatCompletionsProvider, type ChatCompletionsProviderOptions } from "./chat-completions/provider.js";
export { createResponsesProvider } from "./responses/provider.js";
export { buildResponsesRequest, type ResponsesRequest } from "./responses/request-mapping.js";
export { createAnthropicProvider } from "./anthropic/provider.js";
export { buildAnthropicRequest, claudeCacheControl, type AnthropicRequest } from "./anthropic/request-mapping.js";
export { createHttpChatProvider, type ChatWireFormat, type HttpProviderOptions } from "./http-chat-provider.js";
export { buildChatRequest, SUMMARY_PREFIX, TEXT_REFERENCE_HEADER, type ChatCompletionRequest } from "./chat-completions/request-mapping.js";
export { SseParser, type SseEvent } from "./chat-completions/sse.js";
export { CompletionAssembler, mapUsage } from "./chat-completions/stream-assembler.js";
