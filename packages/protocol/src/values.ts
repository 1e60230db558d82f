import { z } from "zod";

export const TextItem = z.object({ type: z.literal("text"), text: z.string() });
export type TextItem = z.infer<typeof TextItem>;

/** A file the model may see. `uri` is `file:///abs/path` (or a `data:` URL after media normalisation). */
export const FileItem = z.object({
  type: z.literal("file"),
  uri: z.string().min(1),
  name: z.string().optional(),
  mediaType: z.string().optional(),
});
export type FileItem = z.infer<typeof FileItem>;

/** What a user or actor message may contain. */
export const ContentItem = z.discriminatedUnion("type", [TextItem, FileItem]);
export type ContentItem = z.infer<typeof ContentItem>;

/** A tool call as the model asked for it; `arguments` is the raw JSON text the model produced. */
export const ToolCallItem = z.object({
  type: z.literal("tool_call"),
  id: z.string(),
  name: z.string(),
  arguments: z.string(),
});
export type ToolCallItem = z.infer<typeof ToolCallItem>;

/** The one result every tool call gets, real or synthetic (interrupted, cancelled, crashed). */
export const ToolResultItem = z.object({
  type: z.literal("tool_result"),
  callId: z.string(),
  name: z.string(),
  content: z.string(),
  isError: z.boolean().default(false),
  /** Why a synthetic result was written instead of running the tool (`crash`, `cancelled`, `superseded`, …). */
  synthetic: z.string().optional(),
});
export type ToolResultItem = z.infer<typeof ToolResultItem>;

/**
 * A model's reasoning, kept only so it can be handed back to the same provider type in later requests.
 * Never shown, never sent to another provider type. `format` says whose it is:
 * - absent: a Responses `reasoning` item (codex_subscription); `encryptedContent` is its opaque
 *   `encrypted_content`, `summary` the model's own summary texts, if any;
 * - `open_router_responses`: the same from an `open_router_responses` model with `reasoning` configured; `model` is
 *   the `model_name` that wrote it, the only one it goes back to (another model or endpoint cannot decrypt it);
 * - `claude_thinking`: an Anthropic `thinking` block; `encryptedContent` is its `signature`, `summary` holds
 *   its `thinking` text as one string (Claude 4 models return a summary of their thinking there);
 * - `claude_redacted_thinking`: an Anthropic `redacted_thinking` block; `encryptedContent` is its `data`.
 * Anthropic checks the signature: the blocks go back exactly as they came.
 */
export const ReasoningItem = z.object({
  type: z.literal("reasoning"),
  format: z.enum(["claude_thinking", "claude_redacted_thinking", "open_router_responses"]).optional(),
  encryptedContent: z.string().min(1),
  summary: z.array(z.string()).default([]),
  /** The model that wrote it (`open_router_responses` items). */
  model: z.string().min(1).optional(),
});
export type ReasoningItem = z.infer<typeof ReasoningItem>;

/** Items that can appear in the stored transcript. */
export const TranscriptItem = z.discriminatedUnion("type", [TextItem, FileItem, ToolCallItem, ToolResultItem, ReasoningItem]);
export type TranscriptItem = z.infer<typeof TranscriptItem>;

/** A message handed to a session by `session/enqueue`. */
export const ChatMessage = z.object({
  role: z.enum(["user", "assistant"]),
  userName: z.string().optional(),
  /** ISO 8601 time the message was written; the worker stamps it when absent. */
  time: z.string().optional(),
  content: z.array(ContentItem).min(1, "a message needs at least one content item"),
});
export type ChatMessage = z.infer<typeof ChatMessage>;

/**
 * One entry of the session transcript. `role: "tool"` holds tool results; `role: "context"` is a
 * compaction summary that stands in for older messages in the current context.
 */
export const TranscriptMessage = z.object({
  index: z.number().int().nonnegative(),
  role: z.enum(["user", "assistant", "tool", "context"]),
  turnId: z.number().int().nonnegative().optional(),
  messageId: z.string().optional(),
  userName: z.string().optional(),
  time: z.string(),
  content: z.array(TranscriptItem),
});
export type TranscriptMessage = z.infer<typeof TranscriptMessage>;

export const Usage = z.object({
  inputTokens: z.number().int().nonnegative(),
  outputTokens: z.number().int().nonnegative(),
  cachedTokens: z.number().int().nonnegative().optional(),
});
export type Usage = z.infer<typeof Usage>;

/**
 * Error classes of a failed turn. `network`, `rate_limited`, `server`, `timeout` are retryable upstream.
 * `context_overflow`: the conversation did not fit the model's context window even after compacting it;
 * the message says what the user can do.
 */
export const TurnErrorKind = z.enum([
  "network",
  "timeout",
  "rate_limited",
  "server",
  "auth",
  "bad_request",
  "context_overflow",
  "config",
  "step_limit",
  "tool_protocol",
  "internal",
]);
export type TurnErrorKind = z.infer<typeof TurnErrorKind>;

export const TurnError = z.object({
  kind: TurnErrorKind,
  message: z.string(),
  status: z.number().int().optional(),
});
export type TurnError = z.infer<typeof TurnError>;

export const SessionType = z.enum(["foreground", "background", "subagent"]);
export type SessionType = z.infer<typeof SessionType>;
