import type { CoordinateParams, CoordinateResult } from "@starling/protocol";
import { queueOutbound } from "../state/outbox.js";
import type { ConversationService } from "./conversation-service.js";

/**
 * Host actions a worker's tools ask for. `user_tell` sends the user a message now (durably, through
 * the outbox); `update_plan` is shown the same way. Others are refused with a clear reason.
 */
export async function handleCoordinate(
  service: ConversationService,
  sessionId: string,
  params: CoordinateParams,
): Promise<CoordinateResult> {
  const conversation = service.conversationOfSession(sessionId);
  if (!conversation) return { ok: false, error: `no conversation for session ${sessionId}` };
  const payload = (params.payload ?? {}) as Record<string, unknown>;
  switch (params.action) {
    case "user_tell": {
      const text = typeof payload.text === "string" ? payload.text : typeof payload.message === "string" ? payload.message : "";
      if (!text.trim()) return { ok: false, error: "user_tell needs a non-empty text" };
      await service.store.commit("event_processed", (tx) => queueOutbound(tx, service.target(conversation), { kind: "text", text }));
      service.wake(conversation.channelId);
      return { ok: true, result: { delivered: "queued" } };
    }
    case "update_plan": {
      const plan = Array.isArray(payload.plan) ? payload.plan : [];
      const lines = plan.map((step) => {
        const s = step as { step?: string; status?: string };
        const mark = s.status === "completed" ? "✅" : s.status === "in_progress" ? "▶️" : "▫️";
        return `${mark} ${s.step ?? String(step)}`;
      });
      if (!lines.length) return { ok: false, error: "update_plan needs a non-empty plan" };
      await service.store.commit("event_processed", (tx) =>
        queueOutbound(tx, service.target(conversation), { kind: "text", text: `Plan:\n${lines.join("\n")}` }),
      );
      service.wake(conversation.channelId);
      return { ok: true, result: { shown: lines.length } };
    }
    default:
      return { ok: false, error: `the host does not support ${params.action} yet` };
  }
}
