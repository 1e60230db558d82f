import { sleep } from "./api-retry.js";

/**
 * Telegram's 429 pauses (`retry_after`), kept by BotApi (ARCHITECTURE §8). A 429 on a call for a chat
 * pauses every call for that chat. A 429 on a call that names no chat (setMyCommands, getFile,
 * answerCallbackQuery, getMe) can only come from a limit of the whole bot, and so can a 429 on a
 * message (a send or an edit) for a second chat while another chat's message pause runs (Telegram's
 * ~30 messages/s per bot refuses every chat): either pauses every call of the bot but `getUpdates`
 * until its `retry_after` has passed. Calls wait; nothing is dropped.
 */
export class FloodPauses {
  /** Chat id → time until which calls for that chat wait. */
  private readonly chats = new Map<string, number>();
  /** Chat id → end of a pause that a 429 on a message started (typing has its own, looser limits). */
  private readonly messages = new Map<string, number>();
  /** Time until which every call but getUpdates waits. */
  private bot = 0;

  constructor(private readonly now: () => number = Date.now) {}

  /**
   * Notes a 429 for `chat` (null: the call named none) on a call that posts or edits a message or
   * not; "bot" when it pauses the whole bot.
   */
  refused(chat: string | null, retryAfterMs: number, message: boolean): "chat" | "bot" {
    const t = this.now();
    const until = t + retryAfterMs;
    let otherChat = 0;
    for (const [id, end] of this.messages) {
      if (end <= t) this.messages.delete(id);
      else if (id !== chat && message) otherChat = Math.max(otherChat, end);
    }
    if (chat !== null) {
      this.chats.set(chat, Math.max(this.chats.get(chat) ?? 0, until));
      if (message) this.messages.set(chat, Math.max(this.messages.get(chat) ?? 0, until));
    }
    if (chat !== null && otherChat === 0) return "chat";
    this.bot = Math.max(this.bot, until, otherChat);
    return "bot";
  }

  /** Until when a call for `chat` (null: one naming no chat) must wait; at or before now when it need not. */
  until(chat: string | null): number {
    const own = chat === null ? 0 : (this.chats.get(chat) ?? 0);
    if (own && own <= this.now()) this.chats.delete(chat!);
    return Math.max(own, this.bot);
  }

  /** Waits out the pauses that hold a call for `chat` (null: one naming no chat), including ones that start meanwhile. */
  async wait(chat: string | null, signal: AbortSignal | undefined): Promise<void> {
    for (let until = this.until(chat); until > this.now(); until = this.until(chat)) await sleep(until - this.now(), signal);
  }
}
