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

/** Finish reasons of a reply the model stopped at its output limit (chat `length`, Anthropic `max_tokens`, Responses `incomplete`). */
const OUTPUT_LIMIT_REASONS: ReadonlySet<string> = new Set(["length", "max_tokens", "incomplete"]);

/** Whether a reply ended at the model's output limit, so its text is probably cut off. */
export const reachedOutputLimit = (finishReason: string | undefined): boolean => finishReason !== undefined && OUTPUT_LIMIT_REASONS.has(finishReason);

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
