// Telegram's flood limits, enforced by the fake Bot API on request: a bot that sends too fast gets
// 429 "Too Many Requests: retry after N" like the real API, and a bot that calls again before N
// seconds passed gets another 429 (the real API extends the ban). Plug it in with
// `fake.setNemesis(limits.nemesis)`; `limits.violations` lists every 429 it answered.
//
// Counted calls are those that post or change a message (send*, edit*, copy/forward); typing,
// callback answers, polling and setMyCommands are not counted (Telegram limits those separately
// and far more loosely).

/** A sliding window: at most `count` counted calls in any `windowMs`. */
export interface Window {
  count: number;
  windowMs: number;
}

export interface TelegramLimitsOptions {
  /** Per chat (Telegram: about one message per second, short bursts tolerated). */
  perChat: Window;
  /** Per group or supergroup chat (negative id), on top of `perChat` (Telegram: 20 per minute). */
  perGroup: Window;
  /** Per bot, all chats together (Telegram: about 30 per second). */
  perBot: Window;
}

/** Telegram's published limits, with a per-chat burst of 3 in 3 s. */
export const TELEGRAM_LIMITS: TelegramLimitsOptions = {
  perChat: { count: 3, windowMs: 3000 },
  perGroup: { count: 20, windowMs: 60_000 },
  perBot: { count: 30, windowMs: 1000 },
};

export interface LimitViolation {
  method: string;
  chatId: string;
  /** Which limit: `chat`, `group`, `bot`, or `banned` (called again during a retry_after ban). */
  limit: "chat" | "group" | "bot" | "banned";
  retryAfter: number;
  at: number;
}

type LimitsFault = { kind: "fault"; fault: { status: 429; retryAfter: number } };

export interface TelegramLimits {
  /** Structurally a `Nemesis` (see nemesis.ts): give it to `fake.setNemesis`. */
  nemesis: (call: { method: string; params: Record<string, unknown> }) => LimitsFault | undefined;
  violations: LimitViolation[];
  /** Counted calls accepted so far. */
  accepted(): number;
}

const COUNTED = /^(send(?!ChatAction)[A-Za-z]*|edit[A-Za-z]+|copyMessages?|forwardMessages?)$/;

export function telegramLimits(options: TelegramLimitsOptions = TELEGRAM_LIMITS, now: () => number = Date.now): TelegramLimits {
  const history = new Map<string, number[]>();
  const bannedUntil = new Map<string, number>();
  const violations: LimitViolation[] = [];
  let accepted = 0;

  /** Times in `key`'s window; the oldest that must expire before one more fits, or undefined. */
  const blockedUntil = (key: string, window: Window, t: number): number | undefined => {
    const times = (history.get(key) ?? []).filter((at) => at > t - window.windowMs);
    history.set(key, times);
    return times.length >= window.count ? times[times.length - window.count]! + window.windowMs : undefined;
  };

  const nemesis: TelegramLimits["nemesis"] = ({ method, params }) => {
    if (!COUNTED.test(method)) return undefined;
    const t = now();
    const chatId = String(params["chat_id"] ?? "");
    const keys: [string, Window, LimitViolation["limit"]][] = [
      [`chat:${chatId}`, options.perChat, "chat"],
      ["bot", options.perBot, "bot"],
    ];
    if (chatId.startsWith("-")) keys.push([`group:${chatId}`, options.perGroup, "group"]);
    const fail = (limit: LimitViolation["limit"], until: number, banKey: string): LimitsFault => {
      const retryAfter = Math.max(1, Math.ceil((until - t) / 1000));
      bannedUntil.set(banKey, t + retryAfter * 1000);
      violations.push({ method, chatId, limit, retryAfter, at: t });
      return { kind: "fault", fault: { status: 429, retryAfter } };
    };
    for (const key of [`chat:${chatId}`, "bot"]) {
      const until = bannedUntil.get(key);
      if (until !== undefined && until > t) return fail("banned", until, key);
    }
    for (const [key, window, limit] of keys) {
      const until = blockedUntil(key, window, t);
      if (until !== undefined) return fail(limit, until, limit === "bot" ? "bot" : `chat:${chatId}`);
    }
    for (const [key] of keys) history.get(key)!.push(t);
    accepted++;
    return undefined;
  };
  return { nemesis, violations, accepted: () => accepted };
}
