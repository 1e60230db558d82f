import type pino from "pino";
import type { TurnActivity } from "../channel.js";
import type { BotApi } from "./bot-api.js";
import { isFinalPhase } from "./format/index.js";
import { destination } from "./reply-sender.js";

export interface TypingOptions {
  api: BotApi;
  log: pino.Logger;
  signal: AbortSignal;
  /** Telegram shows `typing` for ~5 s; resend every `intervalMs` (default 4000). */
  intervalMs?: number;
  /**
   * The first `typing` goes out once a turn has run this long (default TYPING_DELAY_MS): an answer
   * faster than that arrives before the user could see the indicator, and costs one call less.
   */
  delayMs?: number;
  /** A turn with no activity for this long is assumed gone (default 30 min). */
  staleMs?: number;
}

/** Too short for anyone to notice the indicator missing; most model calls take longer. */
export const TYPING_DELAY_MS = 300;

interface ChatTyping {
  /** The first send (after the delay), then every `intervalMs`: one timer, re-armed. */
  timer: NodeJS.Timeout;
  /** turnKey → time of its last activity. */
  turns: Map<string, number>;
}

/** The `typing` chat action, shown after a short delay and repeated while a turn of the chat is active. Best-effort. */
export class TypingIndicator {
  private readonly chats = new Map<string, ChatTyping>();

  constructor(private readonly options: TypingOptions) {}

  update(activity: TurnActivity): void {
    // One indicator per conversation: a forum topic shows its own.
    const { chatId: id, threadId } = activity.chat;
    const chatId = threadId === undefined ? id : `${id}/${threadId}`;
    let chat = this.chats.get(chatId);
    if (isFinalPhase(activity.phase)) {
      chat?.turns.delete(activity.turnKey);
      if (chat && chat.turns.size === 0) this.stopChat(chatId);
      return;
    }
    if (this.options.signal.aborted) return;
    if (!chat) {
      const delay = this.options.delayMs ?? TYPING_DELAY_MS;
      const timer = setTimeout(() => this.tick(chatId), Math.max(0, activity.startedAt + delay - Date.now()));
      timer.unref();
      chat = { timer, turns: new Map() };
      this.chats.set(chatId, chat);
    }
    chat.turns.set(activity.turnKey, Date.now());
  }

  stopAll(): void {
    for (const chatId of [...this.chats.keys()]) this.stopChat(chatId);
  }

  /** Chats currently showing `typing` (for tests and status). */
  activeChats(): string[] {
    return [...this.chats.keys()];
  }

  private tick(chatId: string): void {
    const chat = this.chats.get(chatId);
    if (!chat) return;
    const staleBefore = Date.now() - (this.options.staleMs ?? 30 * 60_000);
    for (const [turnKey, at] of chat.turns) if (at < staleBefore) chat.turns.delete(turnKey);
    if (chat.turns.size === 0 || this.options.signal.aborted) return this.stopChat(chatId);
    this.send(chatId);
    chat.timer = setTimeout(() => this.tick(chatId), this.options.intervalMs ?? 4000);
    chat.timer.unref();
  }

  private stopChat(chatId: string): void {
    const chat = this.chats.get(chatId);
    if (chat) clearTimeout(chat.timer);
    this.chats.delete(chatId);
  }

  private send(key: string): void {
    const { api, log, signal } = this.options;
    const [chatId, thread] = key.split("/");
    api.call("sendChatAction", { ...destination(chatId!, thread === undefined ? undefined : Number(thread)), action: "typing" }, { signal, maxAttempts: 1, quiet: true, budget: "cosmetic" }).catch((err: unknown) => {
      if (!signal.aborted) log.debug({ chatId, error: api.describe(err) }, "typing indicator failed");
    });
  }
}
