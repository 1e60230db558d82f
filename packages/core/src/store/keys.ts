// LevelDB key layout of a session database. Numbers are zero-padded so keys sort numerically.
const pad = (n: number, width = 12) => String(n).padStart(width, "0");

export const Keys = {
  meta: "meta",
  compaction: "compaction",
  message: (index: number) => `msg:${pad(index)}`,
  messagePrefix: "msg:",
  inbox: (messageId: string) => `inbox:${messageId}`,
  inboxPrefix: "inbox:",
  queue: (queueId: number) => `queue:${pad(queueId)}`,
  queuePrefix: "queue:",
  turn: (turnId: number) => `turn:${pad(turnId)}`,
  turnPrefix: "turn:",
  intent: (callId: string) => `intent:${callId}`,
  intentPrefix: "intent:",
  outbox: (seq: number) => `outbox:${pad(seq)}`,
  outboxPrefix: "outbox:",
  learnedWindow: (model: string) => `window:${model}`,
  learnedWindowPrefix: "window:",
  refusedUrl: (url: string) => `refused-url:${url}`,
  refusedUrlPrefix: "refused-url:",
} as const;

/** Range options selecting every key that starts with `prefix`. */
export const prefixRange = (prefix: string) => ({ gte: prefix, lt: `${prefix}\xff` });
