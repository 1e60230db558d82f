import { sleep } from "./api-retry.js";

/** At most `count` sends in any `windowMs` (a burst of `count`, then `count` per window on average). */
export interface SendWindow {
  count: number;
  windowMs: number;
}

export interface SendLimits {
  /** Per chat; Telegram allows about one message per second with short bursts. */
  perChat: SendWindow;
  /** Per group or supergroup (negative chat id), on top of `perChat`; Telegram: 20 per minute. */
  perGroup: SendWindow;
  /** The whole bot; Telegram: about 30 per second. */
  perBot: SendWindow;
}

/** Telegram's limits (core.telegram.org/bots/faq#my-bot-is-hitting-limits-how-do-i-avoid-this). */
export const TELEGRAM_SEND_LIMITS: SendLimits = {
  perChat: { count: 3, windowMs: 3000 },
  perGroup: { count: 20, windowMs: 60_000 },
  perBot: { count: 30, windowMs: 1000 },
};

/**
 * No pacing (`pace_sends: false`): for a Bot API server without Telegram's limits, such as a local fake.
 * Unlimited windows keep no history (the bot-wide one would hold every send of the last second).
 */
export const NO_SEND_LIMITS: SendLimits = {
  perChat: { count: Number.POSITIVE_INFINITY, windowMs: 1000 },
  perGroup: { count: Number.POSITIVE_INFINITY, windowMs: 1000 },
  perBot: { count: Number.POSITIVE_INFINITY, windowMs: 1000 },
};

/** A cosmetic call (panel edit, typing) that the budget refused now; the caller shows the state later. */
export class BudgetDeferredError extends Error {
  constructor(readonly retryInMs: number) {
    super(`send budget: deferred for ${retryInMs} ms`);
    this.name = "BudgetDeferredError";
  }
}

/**
 * The shared send budget of one bot (ARCHITECTURE §8): sliding windows per chat, per group and per
 * bot, so a normal turn's panel and reply go at once and a burst of replies is spread out instead of
 * earning 429s. A send holds its room from before it goes until its answer, and is counted from its answer
 * (Telegram counts arrivals). Replies wait for room (`acquire`); cosmetic calls only take room that is free now and
 * leave a reserve for replies (`tryAcquire`), so panel edits are merged or dropped first. A 429's
 * `retry_after` pauses the chat (or the bot) in BotApi (FloodPauses), before the budget is asked. In memory;
 * a restarted host refills it from the send times the outbox stored with its last deliveries (send-history.ts).
 */
export class SendBudget {
  private readonly history = new Map<string, number[]>();
  /** Room held for a send not answered yet (taken by `acquire` or `tryAcquire`), per window key: it counts as now. */
  private readonly held = new Map<string, number>();
  /** Replies waiting for room, per chat: cosmetic calls to that chat give way to them. */
  private readonly waiting = new Map<string, number>();

  constructor(
    private readonly limits: SendLimits = TELEGRAM_SEND_LIMITS,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Waits until one more send to `chatId` fits every window, then holds that room: it counts as "now"
   * in every window until `settle` (the send is over) or `dropHeld` (it will not go).
   */
  async acquire(chatId: string, signal?: AbortSignal): Promise<void> {
    this.waiting.set(chatId, (this.waiting.get(chatId) ?? 0) + 1);
    try {
      for (;;) {
        const at = this.freeAt(chatId, 0);
        if (at <= this.now()) return this.adjustHeld(chatId, 1);
        await sleep(Math.max(1, at - this.now()), signal);
      }
    } finally {
      const left = (this.waiting.get(chatId) ?? 1) - 1;
      if (left > 0) this.waiting.set(chatId, left);
      else this.waiting.delete(chatId);
    }
  }

  /** Holds room for one cosmetic send (as `acquire`) if it fits now with room left for replies; otherwise throws BudgetDeferredError. */
  tryAcquire(chatId: string): void {
    const at = this.waiting.has(chatId) ? this.now() + 200 : this.freeAt(chatId, 1);
    if (at > this.now()) throw new BudgetDeferredError(at - this.now());
    this.adjustHeld(chatId, 1);
  }

  /**
   * The held send is over (answered, refused or failed): counted from now on. Telegram counts a send
   * when it arrives, which is no later than its answer but may be well after it went (a first send on
   * a fresh connection arrives after the ones sent just after it), so the take time would undercount.
   */
  settle(chatId: string): void {
    this.adjustHeld(chatId, -1);
    this.take(chatId);
  }

  /** Gives back room held for a send that will not go. */
  dropHeld(chatId: string): void {
    this.adjustHeld(chatId, -1);
  }

  private adjustHeld(chatId: string, by: 1 | -1): void {
    for (const [key] of this.windows(chatId)) {
      const n = Math.max(0, (this.held.get(key) ?? 0) + by);
      if (n) this.held.set(key, n);
      else this.held.delete(key);
    }
  }

  /**
   * The chat's sends still inside its longest window (a group's minute, a private chat's 3 s), oldest
   * first: what the outbox stores with a delivered item so that a restarted host keeps to the windows.
   */
  sendTimes(chatId: string): number[] {
    const t = this.now();
    const longest = this.windows(chatId).filter(([key]) => key !== "bot").sort((a, b) => b[1].windowMs - a[1].windowMs)[0];
    return longest ? [...this.recent(longest[0], longest[1], t)] : [];
  }

  /** When the chat's last counted send leaves its longest window (now, or earlier, when none is left in it). */
  quietAt(chatId: string): number {
    const times = this.sendTimes(chatId);
    const longest = Math.max(0, ...this.windows(chatId).filter(([key]) => key !== "bot").map(([, w]) => span(w)));
    return times.length ? times[times.length - 1]! + longest : this.now();
  }

  /** Counts sends to the chat made before this budget existed (by an earlier run of the host). */
  restore(chatId: string, times: number[]): void {
    const t = this.now();
    for (const [key, window] of this.windows(chatId)) {
      const merged = [...(this.history.get(key) ?? []), ...times.map((at) => Math.min(at, t))].sort((a, b) => a - b);
      this.history.set(key, merged);
      this.recent(key, window, t);
    }
  }

  /** Throws BudgetDeferredError while a 429's retry_after for the chat is running (for cosmetic calls). */
  checkNotPaused(pausedUntil: number | undefined): void {
    if (pausedUntil !== undefined && pausedUntil > this.now()) throw new BudgetDeferredError(pausedUntil - this.now());
  }

  /** Earliest time a send to `chatId` fits; with `reserve`, a quarter of each window stays free for replies. */
  private freeAt(chatId: string, reserve: 0 | 1): number {
    const t = this.now();
    let at = t;
    for (const [key, window] of this.windows(chatId)) {
      const keep = reserve && window.count > 1 ? Math.max(1, Math.ceil(window.count / 4)) : 0;
      // The sends in the window, then the held ones counted as now.
      const times = this.recent(key, window, t);
      const counted = times.length + (this.held.get(key) ?? 0);
      const allowed = window.count - keep;
      if (counted >= allowed) at = Math.max(at, (times[counted - allowed] ?? t) + span(window));
    }
    return at;
  }

  private take(chatId: string): void {
    const t = this.now();
    for (const [key, window] of this.windows(chatId)) {
      const times = this.recent(key, window, t);
      times.push(t);
      this.history.set(key, times);
    }
  }

  private windows(chatId: string): [string, SendWindow][] {
    const { perChat, perBot, perGroup } = this.limits;
    const out: [string, SendWindow][] = [];
    if (perChat.count !== Number.POSITIVE_INFINITY) out.push([`chat:${chatId}`, perChat]);
    if (perBot.count !== Number.POSITIVE_INFINITY) out.push(["bot", perBot]);
    if (chatId.startsWith("-") && perGroup.count !== Number.POSITIVE_INFINITY) out.push([`group:${chatId}`, perGroup]);
    return out;
  }

  /** The key's send times still inside the window, oldest first (expired ones dropped). */
  private recent(key: string, window: SendWindow, t: number): number[] {
    const all = this.history.get(key) ?? [];
    const from = all.findIndex((at) => at > t - span(window));
    const times = from === 0 ? all : from < 0 ? [] : all.slice(from);
    if (times.length) this.history.set(key, times);
    else this.history.delete(key);
    return times;
  }
}

/** The window plus a little slack: Telegram counts arrival times, which network jitter can bring closer together. */
function span(window: SendWindow): number {
  return window.windowMs + Math.max(50, window.windowMs / 20);
}
