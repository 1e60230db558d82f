import type { SessionEventOf } from "@starling/protocol";
import type { CommandReply } from "../channels/channel.js";
import { StuckWorkerKilled } from "../sessions/answer-deadline.js";
import { hostRedactor } from "../security/host-secrets.js";
import type { ConversationRecord } from "../state/records.js";
import type { ConversationService } from "./conversation-service.js";
import { stuckWorkerText } from "./turn-control-replies.js";

/**
 * `/compact`: the foreground session's history is summarised now (the older part; the recent part stays word for
 * word), as a long conversation is when it passes its threshold, so later turns send less. The worker answers at
 * once; how it ended comes as the session's `manual_compaction` event (compactedNotice). A /cancel stops it.
 */
export async function compactCommand(service: ConversationService, conversation: ConversationRecord): Promise<CommandReply> {
  let result;
  try {
    result = await service.supervisor.compact(conversation.foreground.sessionId);
  } catch (err) {
    if (!(err instanceof StuckWorkerKilled)) throw err;
    return { text: `${stuckWorkerText(err.noAnswer.ms)} and was killed; send /compact again once it is back.` };
  }
  if (result === null) return { text: "The session's worker is still starting; send /compact again in a moment." };
  if (!result.accepted) return { text: `Nothing to compact now: ${result.reason ?? "the session is busy"}.` };
  return { text: "Compacting this conversation's history: the older part is summarised, the recent part kept word for word. I will say when it is done (/cancel stops it)." };
}

/** The chat's notice for how a /compact ended (the session's durable `manual_compaction` event). */
export function compactedNotice(event: SessionEventOf<"manual_compaction">): string {
  switch (event.outcome) {
    case "compacted":
      return `🗜 Compacted: ${event.summarisedMessages} older message${event.summarisedMessages === 1 ? "" : "s"} summarised; the context went from ≈${event.tokensBefore} to ≈${event.tokensAfter} tokens.`;
    case "skipped":
      return `🗜 Nothing compacted: ${event.reason ?? "the history is short"}.`;
    case "failed":
      return `⚠️ Compacting failed, the history is unchanged: ${hostRedactor().redact(event.reason ?? "the summary request failed")}.`;
  }
}
