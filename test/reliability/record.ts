// Builds a checkable History from what the fake Bot API saw (updates, calls, sent messages).
import type { FakeTelegram, SentMessage } from "../fakes/telegram-api.js";
import type { ApiCallRecord, History, InboundRecord, SendRecord, TranscriptRecord } from "./history.js";

/** The progress panel is one message edited in place; it shows the elapsed time. */
export const isPanel = (m: SentMessage): boolean => (m.text ?? "").includes("⏱");

function chatIdOf(params: Record<string, unknown>): number | null {
  const raw = params["chat_id"];
  const id = typeof raw === "number" ? raw : typeof raw === "string" && /^-?\d+$/.test(raw) ? Number(raw) : NaN;
  return Number.isFinite(id) ? id : null;
}

/** When each update was confirmed: the first getUpdates whose offset passed it. */
function admissionTimes(telegram: FakeTelegram): (updateId: number) => number | null {
  const polls = telegram
    .calls("getUpdates")
    .map((c) => ({ at: c.startedAt, offset: Number(c.params["offset"] ?? 0) }))
    .filter((p) => Number.isFinite(p.offset) && p.offset > 0)
    .sort((a, b) => a.at - b.at);
  return (updateId) => polls.find((p) => p.offset > updateId)?.at ?? null;
}

export function recordHistory(telegram: FakeTelegram, startedAt: number, transcripts: TranscriptRecord[] = []): History {
  const admittedAt = admissionTimes(telegram);
  const inbound: InboundRecord[] = telegram
    .updates()
    .filter((u) => u.message !== undefined)
    .map((u) => ({
      chatId: u.message!.chat.id,
      updateId: u.update_id,
      text: u.message!.text ?? u.message!.caption ?? "",
      sentAt: telegram.pushedAt(u.update_id) ?? u.message!.date * 1000,
      admittedAt: admittedAt(u.update_id),
    }));
  const sends: SendRecord[] = telegram
    .messages()
    .filter((m) => !isPanel(m))
    .map((m) => ({ chatId: m.chatId, messageId: m.messageId, text: m.text ?? m.caption ?? "", at: m.sentAt }));
  const calls: ApiCallRecord[] = telegram.calls().map((c) => ({
    method: c.method,
    chatId: chatIdOf(c.params),
    startedAt: c.startedAt,
    endedAt: c.at,
    status: c.status,
    ...(c.retryAfter !== undefined ? { retryAfter: c.retryAfter } : {}),
  }));
  return { startedAt, inbound, sends, calls, transcripts, pendingUpdatesAtEnd: telegram.pendingUpdates() };
}
