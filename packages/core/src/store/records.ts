import type { ChatMessage, SessionEvent, TurnError, Usage } from "@starling/protocol";

/** Counters kept in one record and rewritten in every commit batch, so they never disagree with the journal. */
export interface SessionMeta {
  schema: 1;
  nextSeq: number;
  lastAckedSeq: number;
  nextTurnId: number;
  nextMessageIndex: number;
  nextQueueId: number;
  usage: { inputTokens: number; outputTokens: number; cachedTokens: number; turns: number };
  lastTurnUsage: Usage | null;
}

export const initialMeta = (): SessionMeta => ({
  schema: 1,
  nextSeq: 1,
  lastAckedSeq: 0,
  nextTurnId: 1,
  nextMessageIndex: 0,
  nextQueueId: 1,
  usage: { inputTokens: 0, outputTokens: 0, cachedTokens: 0, turns: 0 },
  lastTurnUsage: null,
});

/** A durably acknowledged input that no turn has taken yet. */
export interface QueuedInput {
  queueId: number;
  messageId: string;
  kind: "user" | "actor";
  message: ChatMessage;
  receivedAt: string;
}

export type TurnStatus = "running" | "completed" | "failed" | "cancelled" | "superseded" | "recovered";

export interface TurnRecord {
  turnId: number;
  status: TurnStatus;
  /** Model calls made since the turn (or its last continuation) started. */
  steps: number;
  startedAt: string;
  endedAt?: string;
  messageIds: string[];
  error?: TurnError;
  canContinue?: boolean;
  /** Why the turn waits for /continue (`crash`, `failed`, `cancelled`, `step_limit`). */
  unfinishedReason?: string;
  usage?: Usage;
  /** Reopened by a continue at least once: its next first step may retry an answer a crash cut short. */
  resumed?: boolean;
  /**
   * Images of the turn (`generated/…`, saved by answers with tool calls) a notice of its ending without a
   * final answer already sent (`attachments` of turn_failed/cancelled/superseded): a continue's final answer leaves them out.
   */
  imagesSent?: string[];
  /**
   * Images of the unfinished turn this one superseded that the chat never received (a turn recovered after
   * a crash, which a new message ended instead of a continue): they ride on this turn's ending like its own.
   */
  carriedImages?: string[];
}

/** Stored before a side-effecting tool runs; removed when its result is stored. */
export interface ToolIntent {
  callId: string;
  turnId: number;
  name: string;
  startedAt: string;
}

export interface OutboxEntry {
  seq: number;
  event: SessionEvent;
}

/** The latest compaction: the current context is `summary` followed by messages from `fromIndex` on. */
export interface CompactionRecord {
  fromIndex: number;
  summary: string;
  summarisedMessages: number;
  at: string;
}

/**
 * The context window a provider's refusal stated for a model without `token_max_context`, kept so a
 * restarted worker compacts before the first too-long call instead of after its refusal. `model`:
 * provider type, url and model name (session/context-window-memory.ts), so another model never uses it.
 */
export interface LearnedWindow {
  model: string;
  window: number;
  learnedAt: string;
}

/**
 * A file given by URL (the provider fetches it) that the provider refused (its size, its pages, a failed
 * fetch): every later request carries a note in its place (media/refused-url-media.ts). `reason`: the refusal.
 */
export interface RefusedUrlRecord {
  url: string;
  reason: string;
  refusedAt: string;
}
