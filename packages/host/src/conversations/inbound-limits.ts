import type { ChatMessage, ContentItem } from "@starling/protocol";

/** Config `limits` as the host uses it. */
export interface LimitSettings {
  /** User messages one chat may pass on to its session per minute (a sliding 60 s window). */
  perChatMessagesPerMinute: number;
  /** Admitted messages waiting for their session (not yet handed to a worker), across all chats. */
  maxQueuedTurns: number;
}

export const DEFAULT_LIMITS: LimitSettings = { perChatMessagesPerMinute: 20, maxQueuedTurns: 200 };

const WINDOW_MS = 60_000;
const SNIPPET_CHARS = 40;

export type Refusal =
  | { kind: "chat_rate"; limit: number; retryAfterSeconds: number }
  | { kind: "queue_full"; queued: number; limit: number };

/**
 * Inbound limits (ARCHITECTURE §6 `limits`, docs/SECURITY.md "Limits"). A message over a limit is
 * still admitted durably (its update id committed) but not passed on: the chat gets a notice saying
 * which message and why, with when to send it again. Only messages that were passed on count toward
 * a chat's rate, so a chat that stops sending is let through again once its oldest message of the
 * last minute is a minute old. The window lives in memory: a host restart starts it afresh.
 */
export class InboundLimits {
  private readonly passed = new Map<string, number[]>();

  constructor(
    private readonly settings: LimitSettings,
    private readonly now: () => number = Date.now,
  ) {}

  /** Why a message from `chatKey` must be refused now, or null; `queued` counts messages waiting across all chats. */
  check(chatKey: string, queued: number, pendingFromChat = 0): Refusal | null {
    // Messages of the same admission batch count as passed now (they are recorded once it is durable).
    const recent = [...this.recent(chatKey), ...Array.from({ length: pendingFromChat }, () => this.now())];
    const perMinute = this.settings.perChatMessagesPerMinute;
    if (recent.length >= perMinute) {
      const oldest = recent[recent.length - perMinute]!;
      return { kind: "chat_rate", limit: perMinute, retryAfterSeconds: Math.max(1, Math.ceil((oldest + WINDOW_MS - this.now()) / 1000)) };
    }
    if (queued >= this.settings.maxQueuedTurns) return { kind: "queue_full", queued, limit: this.settings.maxQueuedTurns };
    return null;
  }

  /** A message from `chatKey` was passed on (call after its admission is durable). */
  record(chatKey: string): void {
    const recent = this.recent(chatKey);
    recent.push(this.now());
    this.passed.set(chatKey, recent);
  }

  private recent(chatKey: string): number[] {
    const since = this.now() - WINDOW_MS;
    const kept = (this.passed.get(chatKey) ?? []).filter((t) => t > since);
    if (kept.length) this.passed.set(chatKey, kept);
    else this.passed.delete(chatKey);
    return kept;
  }
}

/** Refused messages a notice names before it only counts the rest. */
export const MAX_QUOTES = 30;

/**
 * The notice for refused messages: it quotes them (`quotes`, up to MAX_QUOTES, then `more` counted)
 * so the user knows which to send again, says why, and when.
 */
export function refusalNotice(refusal: Refusal, quotes: readonly string[], more = 0): string {
  const several = quotes.length + more > 1;
  const listed = `${quotes.join(", ")}${more ? ` and ${more} more` : ""}`;
  const what = `Not passed on to the agent: ${listed}.`;
  const again = several ? "Send them again" : "Send it again";
  if (refusal.kind === "chat_rate") {
    return `⏳ ${what} This chat sent ${refusal.limit} messages in the last minute, the most it may send. ${again} in ${refusal.retryAfterSeconds} s.`;
  }
  return `⏳ ${what} The server is busy: ${refusal.queued} messages from all chats are already waiting for the agent (the limit is ${refusal.limit}). ${again} in a few minutes.`;
}

/** How a notice names a message: its first words in quotes, or "your file(s)". */
export function quoteOf(message: ChatMessage): string {
  const text = message.content.find((item): item is Extract<ContentItem, { type: "text" }> => item.type === "text")?.text.replace(/\s+/g, " ").trim() ?? "";
  const files = message.content.filter((item) => item.type === "file").length;
  if (!text) return files === 1 ? "your file" : `your ${files} files`;
  const chars = [...text];
  return `"${chars.length > SNIPPET_CHARS ? `${chars.slice(0, SNIPPET_CHARS).join("").trimEnd()}…` : text}"`;
}
