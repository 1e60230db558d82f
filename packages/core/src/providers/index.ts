export {
  createProvider,
  createSearchProvider,
  createImageProvider,
  providerFactories,
  type ProviderFactory,
} from "./registry.js";

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
export { HELPER_ROLES, helperModelKey, createHelperModels, type HelperRole, type HelperModels } from "./helper-models.js";
export { createBraveSearchProvider, mapBraveResults, formatSearchAnswer, BRAVE_MAX_RESULTS } from "./brave-search/provider.js";
export { createOpenAIImageProvider, imageEndpoint } from "./openai-image/provider.js";

// Building blocks, for other providers and tests
export { withRetries, sleep, retryBudget, retryDelayMs, type RetryOptions } from "./retry.js";
export { HttpExchange, statusError, kindForStatus, parseRetryAfter, DEFAULT_CONN_TIMEOUT_SECS } from "./http.js";
export { resolveApiKey } from "./api-key.js";
export { createChatCompletionsProvider, type ChatCompletionsProviderOptions } from "./chat-completions/provider.js";
export { createResponsesProvider } from "./responses/provider.js";
export { createCodexProvider, codexHeaders } from "./codex/provider.js";
export { codexRequestFrame, codexIds, codexReasoning, codexReasoningKept, codexServiceTier, type CodexIds } from "./codex/request.js";
export { CodexCredentials, REFRESH_MARGIN_MS, type AskCredentials, type CodexAuth } from "./codex/credentials.js";
export { websocketUrl } from "./codex/exchange.js";
export { buildResponsesRequest, type ResponsesRequest } from "./responses/request-mapping.js";
export { createAnthropicProvider } from "./anthropic/provider.js";
export { buildAnthropicRequest, claudeCacheControl, type AnthropicRequest } from "./anthropic/request-mapping.js";
export { createHttpChatProvider, type ChatWireFormat, type HttpProviderOptions } from "./http-chat-provider.js";
export { NodeResponse, type PostJson } from "./http-post.js";
export { releaseBodyBuffer } from "./body-buffer.js";
export { buildChatRequest, SUMMARY_PREFIX, TEXT_REFERENCE_HEADER, type ChatCompletionRequest } from "./chat-completions/request-mapping.js";
export { SseParser, type SseEvent } from "./chat-completions/sse.js";
export { CompletionAssembler, mapUsage } from "./chat-completions/stream-assembler.js";
