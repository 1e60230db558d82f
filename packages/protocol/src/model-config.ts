import { z } from "zod";

/** Provider wire formats a ModelConfig can name. `openai_image_edit` is the Stellaclaw alias of `openai_image`. */
export const ProviderType = z.enum([
  "open_router_completion",
  "open_router_responses",
  "claude_code",
  "codex_subscription",
  "brave_search",
  "openai_image",
  "openai_image_edit",
]);
export type ProviderType = z.infer<typeof ProviderType>;

export const ModelCapability = z.enum(["chat", "image_in", "image_out", "pdf_in", "audio_in", "file_in", "web_search"]);
export type ModelCapability = z.infer<typeof ModelCapability>;

/**
 * `"once"`: a single attempt, no retry (as in Stellaclaw). `random_interval`: up to `max_retries`
 * retries, each after a random whole number of seconds in [0, `max_interval_secs`]. Absent: one
 * retry after 1 s (or the server's `retry-after`).
 */
export const RetryMode = z.union([
  z.literal("once"),
  z.object({
    random_interval: z.object({
      max_interval_secs: z.number().nonnegative(),
      max_retries: z.number().int().nonnegative(),
    }),
  }),
]);
export type RetryMode = z.infer<typeof RetryMode>;

const MultimodalTransport = z.looseObject({
  transport: z.enum(["file_reference", "inline_base64"]),
  supported_media_types: z.array(z.string()).optional(),
  max_width: z.number().int().positive().optional(),
  max_height: z.number().int().positive().optional(),
});

/** Characters of one tool result the model sees (longer ones are cut to head and tail; core's DEFAULT_MAX_RESULT_CHARS). */
export const TOOL_RESULT_MAX_CHARS = 20_000;
/** Tokens one bounded tool result can take (~4 characters per token). */
export const TOOL_RESULT_TOKENS = Math.ceil(TOOL_RESULT_MAX_CHARS / 4);
/**
 * The smallest `token_max_context` a chat model can work with: one bounded tool result, and next to it
 * the system prompt, the tool definitions and the answer. Config loading refuses a smaller chat model.
 */
export const MIN_CHAT_CONTEXT_TOKENS = 8_192;

/** Anthropic's `max_tokens` for a `claude_code` model without `max_output_tokens`. */
export const CLAUDE_DEFAULT_MAX_TOKENS = 4096;
/** The smallest extended-thinking budget (`reasoning.max_tokens` on `claude_code`) Anthropic accepts. */
export const CLAUDE_MIN_THINKING_BUDGET = 1024;

/** Anthropic's effort levels (`output_config.effort`); `xhigh` and `max` only on some models (Anthropic's "Effort" page). */
export const ClaudeEffort = z.enum(["low", "medium", "high", "xhigh", "max"], {
  error: 'must be "low", "medium", "high", "xhigh" or "max" (Anthropic\'s effort levels; "high" is the API\'s default)',
});
export type ClaudeEffort = z.infer<typeof ClaudeEffort>;

/**
 * A model as written in the config file (snake_case, Stellaclaw 0.4 shape). The worker receives it
 * unchanged in `initialize`. Unknown keys are kept (loose) so newer configs pass through older code.
 */
export const ModelConfig = z.looseObject({
  provider_type: ProviderType,
  model_name: z.string().min(1),
  url: z.string().url(),
  api_key_env: z.string().min(1).optional(),
  capabilities: z.array(ModelCapability).default(["chat"]),
  token_max_context: z.number().int().positive().optional(),
  cache_timeout: z.number().nonnegative().optional(),
  /** Seconds to wait for a connection / first byte. */
  conn_timeout: z.number().positive().optional(),
  /**
   * Longest silence (seconds) tolerated while a reply streams in, after the headers came; a stream
   * that stalls longer fails the attempt with kind `timeout` (retried per `retry_mode`). Default 300.
   */
  stream_idle_timeout: z.number().positive().optional(),
  retry_mode: RetryMode.optional(),
  /**
   * Most tokens one reply may take (thinking included where the API counts it): sent as the API's own field
   * (chat `max_tokens`, or `max_completion_tokens` to OpenAI; Responses `max_output_tokens`; Anthropic
   * `max_tokens`). Unset: the server's default (Anthropic: CLAUDE_DEFAULT_MAX_TOKENS).
   */
  max_output_tokens: z
    .number({ error: "must be a whole number of tokens, e.g. 8192" })
    .int({ error: "must be a whole number of tokens, e.g. 8192" })
    .positive({ error: "must be at least 1 (leave it out for the provider's default)" })
    .optional(),
  /**
   * Sent as the API's `reasoning` (chat completions, Responses; codex filters it). On `claude_code`,
   * `{"type": "adaptive"}` is adaptive thinking (`thinking: {type: "adaptive"}`) and `max_tokens` the manual
   * extended-thinking budget (`thinking.budget_tokens`); nothing else is read.
   */
  reasoning: z
    .unknown()
    .optional()
    .describe(
      'Chat models: sent as the API\'s `reasoning`, e.g. {"effort": "medium"}. claude_code: {"type": "adaptive"} turns on adaptive thinking (Claude decides when and how much to think; the only thinking Claude Opus 4.7 and newer take), {"max_tokens": N} manual extended thinking with a budget of N tokens (at least 1024, below max_output_tokens; older models)',
    ),
  /** claude_code only (config load refuses it elsewhere): sent as `output_config: {effort}`. */
  effort: ClaudeEffort.optional().describe(
    'claude_code only: Anthropic\'s effort (sent as output_config.effort), how many tokens Claude spends on an answer, thinking and tool calls included: "low", "medium", "high" (the default), "xhigh" or "max" (the last two only on some models, e.g. Claude Opus 4.6 for "max")',
  ),
  token_estimator_type: z.enum(["local", "hugging_face"]).optional(),
  token_estimator_url: z.string().optional(),
  multimodal_estimator: z.looseObject({ image: z.unknown().optional() }).optional(),
  multimodal_input: z
    .looseObject({
      image: MultimodalTransport.optional(),
      pdf: MultimodalTransport.optional(),
      audio: MultimodalTransport.optional(),
    })
    .optional(),
});
export type ModelConfig = z.infer<typeof ModelConfig>;
export type ModelConfigInput = z.input<typeof ModelConfig>;
