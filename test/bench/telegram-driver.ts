// Plays Telegram users against a fake Bot API and times each message until the bot's reply.
import { subscribe, unsubscribe } from "node:diagnostics_channel";
import type { IncomingMessage } from "node:http";
import { privateChat, type FakeTelegram } from "../fakes/telegram-api.js";
import type { ScriptedReply } from "../fakes/openai-server.js";
import { summarize, type Summary } from "./stats.js";

/** Every benchmark message carries a marker; the fake model answers `re: <marker>`. */
const MARKER = /\bbm-[a-z0-9-]+\b/g;

/** The fake model's answer for a request: echo the marker of the last user message. */
export function replyFor(body: Record<string, unknown>, slowDelayMs: number): ScriptedReply {
  const messages = Array.isArray(body["messages"]) ? (body["messages"] as unknown[]) : [];
  const lastUser = [...messages].reverse().find((m) => (m as { role?: string }).role === "user");
  const markers = JSON.stringify(lastUser ?? "").match(MARKER) ?? [];
  const marker = markers[markers.length - 1] ?? "no-marker";
  return { text: `re: ${marker}`, ...(marker.startsWith("bm-slow") ? { delayMs: slowDelayMs } : {}) };
}

/** Wall-clock milliseconds with sub-millisecond resolution. */
export const preciseNow = (): number => performance.timeOrigin + performance.now();

const FINISH = "http.server.response.finish";
const REPLY_METHOD = /\/(sendMessage|editMessageText)\b/i;

/**
 * Watches one fake Telegram for replies (`sendMessage`, or an `editMessageText` that turns a
 * panel into the answer) containing `re: <marker>`; resolves the waiter with the time the fake
 * finished answering that Bot API call. The fake runs in this process, so the bench hears of
 * every finished response (node:diagnostics_channel) and reads only the calls it has not seen;
 * a slow interval scan (using the fake's own millisecond timestamps) is the fallback.
 */
export class ReplyWatcher {
  private seen = 0;
  private readonly waiting = new Map<string, (at: number) => void>();
  private readonly arrived = new Map<string, number>();
  private readonly timer: NodeJS.Timeout;
  private readonly onFinish = (message: unknown): void => {
    const url = (message as { request?: IncomingMessage }).request?.url ?? "";
    if (REPLY_METHOD.test(url)) this.scan(preciseNow());
  };

  constructor(private readonly fake: FakeTelegram) {
    subscribe(FINISH, this.onFinish);
    this.timer = setInterval(() => this.scan(null), 100);
  }

  /** Resolves with the wall-clock time (ms) the reply reached the fake Bot API. */
  reply(marker: string, timeoutMs: number): Promise<number> {
    const known = this.arrived.get(marker);
    if (known !== undefined) return Promise.resolve(known);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(marker);
        reject(new Error(`no reply for ${marker} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiting.set(marker, (at) => {
        clearTimeout(timer);
        resolve(at);
      });
    });
  }

  stop(): void {
    clearInterval(this.timer);
    unsubscribe(FINISH, this.onFinish);
  }

  /** `now`: when the triggering response finished; null for the fallback scan (use the call's own time). */
  private scan(now: number | null): void {
    const calls = this.fake.calls();
    for (let i = this.seen; i < calls.length; i++) {
      const call = calls[i]!;
      if (call.status !== 200 || (call.method !== "sendMessage" && call.method !== "editMessageText")) continue;
      const text = String(call.params["text"] ?? "");
      for (const match of text.matchAll(/re: (bm-[a-z0-9-]+)/g)) {
        const marker = match[1]!;
        if (this.arrived.has(marker)) continue;
        const at = now ?? call.at;
        this.arrived.set(marker, at);
        this.waiting.get(marker)?.(at);
        this.waiting.delete(marker);
      }
    }
    this.seen = calls.length;
  }
}

export interface LoadResult {
  conversations: number;
  rounds: number;
  /** Latency of the measured rounds (warm: conversation exists, worker running). */
  latency: Summary;
  /** First message of each conversation (admission, new conversation, worker spawn). */
  cold: Summary;
  /** Measured turns per second across all conversations (closed loop: each user waits for the reply). */
  turnsPerSecond: number;
}

/**
 * Closed-loop load: `users` private chats each send a message, wait for the reply, send the next,
 * for `rounds` rounds after one unmeasured warm-up round.
 */
export async function closedLoop(
  fake: FakeTelegram,
  watcher: ReplyWatcher,
  opts: { label: string; userIds: number[]; rounds: number; timeoutMs: number },
): Promise<LoadResult> {
  const cold: number[] = [];
  const latency: number[] = [];
  const send = async (userId: number, tag: string): Promise<number> => {
    const marker = `bm-${opts.label}-${tag}-${userId}`;
    const sentAt = preciseNow();
    fake.sendText(privateChat(userId), `please answer ${marker}`);
    const at = await watcher.reply(marker, opts.timeoutMs);
    return at - sentAt;
  };
  await Promise.all(opts.userIds.map(async (id) => cold.push(await send(id, "w"))));
  const t0 = preciseNow();
  await Promise.all(
    opts.userIds.map(async (id) => {
      for (let r = 0; r < opts.rounds; r++) latency.push(await send(id, `r${r}`));
    }),
  );
  const wall = (preciseNow() - t0) / 1000;
  return {
    conversations: opts.userIds.length,
    rounds: opts.rounds,
    latency: summarize(latency),
    cold: summarize(cold),
    turnsPerSecond: latency.length / Math.max(wall, 0.001),
  };
}
