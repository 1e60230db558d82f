import type { ModelConfig, TranscriptItem, TranscriptMessage, TurnErrorKind, Usage } from "@starling/protocol";
import type { ToolSchema } from "../tools/types.js";

/** One request to a chat model. `messages` is the current context (summary + recent history). */
export interface ModelRequest {
  system: string;
  messages: readonly TranscriptMessage[];
  tools: readonly ToolSchema[];
}

/** The model's answer: text and tool_call items in the order produced. */
export interface ModelResponse {
  content: TranscriptItem[];
  usage?: Usage;
  /** Upstream finish reason (`stop`, `tool_calls`, `length`, …) when given. */
  finishReason?: string;
}

/**
 * Why a reply ended before the model was done: `output_limit` (chat `length`, Anthropic `max_tokens`, a Responses
 * reply `incomplete` for `max_output_tokens`, or `incomplete` without a reason) or `content_filter` (chat and
 * Responses `content_filter`, Anthropic `refusal`: the provider's filter stopped it, more will not come).
 */
export type ReplyCut = "output_limit" | "content_filter";

const CUT_BY: Readonly<Record<string, ReplyCut>> = {
  length: "output_limit",
  max_tokens: "output_limit",
  max_output_tokens: "output_limit",
  incomplete: "output_limit",
  content_filter: "content_filter",
  refusal: "content_filter",
};

/** What cut a reply short, from its finish reason; undefined when the model finished by itself. */
export const replyCutBy = (finishReason: string | undefined): ReplyCut | undefined => (finishReason !== undefined && Object.hasOwn(CUT_BY, finishReason) ? CUT_BY[finishReason] : undefined);

export interface RetryNotice {
  attempt: number;
  delayMs: number;
  error: ProviderError;
}

export interface CompleteOptions {
  /** Aborting cancels the in-flight HTTP request; the call then rejects with kind `aborted`. */
  signal: AbortSignal;
  /** Streaming text as it arrives (optional). */
  onDelta?: (text: string) => void;
  /** Called before each retry sleep. */
  onRetry?: (notice: RetryNotice) => void;
}

/** A chat model. `complete` resolves with the whole answer or rejects with a ProviderError. */
export interface ModelProvider {
  readonly config: ModelConfig;
  complete(request: ModelRequest, options: CompleteOptions): Promise<ModelResponse>;
}

export type ProviderErrorKind = TurnErrorKind | "aborted";

/** A model call that failed. `retryable`: network, timeout, 429, 5xx; not: auth, other 4xx, config. */
export class ProviderError extends Error {
  override readonly name = "ProviderError";
  constructor(
    readonly kind: ProviderErrorKind,
    message: string,
    readonly options: { status?: number; retryAfterMs?: number; retryable?: boolean; cause?: unknown } = {},
  ) {
    super(message, { cause: options.cause });
  }
  get retryable(): boolean {
    return (
      this.options.retryable ?? ["network", "timeout", "rate_limited", "server"].includes(this.kind)
    );
  }
  get status(): number | undefined {
    return this.options.status;
  }
}

/**
 * The provider refused the request as longer than the model's context window (OpenAI
 * `context_length_exceeded` "maximum context length is …", the Responses API "exceeds the context
 * window", Anthropic "prompt is too long"). Told apart by the message: the status is a plain 400.
 */
export function isContextOverflow(err: unknown): boolean {
  if (!(err instanceof ProviderError) || err.kind === "aborted" || err.kind === "auth" || err.kind === "rate_limited") return false;
  return CONTEXT_OVERFLOW.test(err.message);
}

/**
 * The window a context-overflow refusal states, when it does (OpenAI and servers copying it: "maximum
 * context length is 8192 tokens"; Anthropic: "prompt is too long: 210000 tokens > 200000 maximum").
 */
export function statedContextWindow(err: unknown): number | null {
  if (!isContextOverflow(err)) return null;
  const m = /maximum context length is (\d+)/i.exec((err as ProviderError).message) ?? /too long: \d+ tokens > (\d+) maximum/i.exec((err as ProviderError).message);
  const n = m ? Number(m[1]) : NaN;
  return Number.isSafeInteger(n) && n > 0 ? n : null;
}

const CONTEXT_OVERFLOW =
  /context_length_exceeded|maximum context length|context (?:window|length) (?:of|exceeded|is exceeded)|exceeds? the (?:model's )?context window|prompt is too long|input is too long|too many (?:input )?tokens/i;
