import type { SessionEvent } from "@starling/protocol";
import type { ConversationService } from "../conversations/conversation-service.js";
import type { HostTransaction } from "../state/host-store.js";
import { queueOutbound } from "../state/outbox.js";
import type { EventContext } from "../sessions/types.js";
import { sessionLabel } from "../cron/cron-store.js";
import { madeBefore } from "../conversations/unsent-images.js";
import { suppressKey } from "./agent-actions.js";
import { agentOfSession, finishAgent, type AgentRecord } from "./agent-store.js";
import { stageAgentEnd, stageOrphanStop } from "./agent-control.js";

/** The line a background agent's last chat message ends with when it left subagents running ("" when none). */
function stoppedNote(orphans: AgentRecord[]): string {
  if (!orphans.length) return "";
  return orphans.length === 1
    ? `\n\n(Its subagent ${orphans[0]!.agent_id} was still running and is stopped: nothing would collect its answer.)`
    : `\n\n(Its subagents ${orphans.map((a) => a.agent_id).join(", ")} were still running and are stopped: nothing would collect their answers.)`;
}

const FINAL = new Set<SessionEvent["type"]>(["turn_completed", "turn_failed", "turn_cancelled"]);

function answerText(event: Extract<SessionEvent, { type: "turn_completed" }>): string {
  return event.message.content
    .filter((i) => i.type === "text")
    .map((i) => i.text)
    .join("\n\n")
    .trim();
}

/**
 * A durable event of an agent session, or of a background turn that called `terminate`: inside the
 * event's commit, the agent's record gets its outcome, and a background agent's answer or failure is
 * queued for the chat (once: the event is processed once). A subagent never writes to the chat; its
 * answer waits in its record for subagent_join. Returns false for every other session.
 */
export function agentEventReplies(service: ConversationService, event: SessionEvent, tx: HostTransaction, ctx: EventContext): boolean {
  const { store } = service;
  const suppressed = "turnId" in event && store.get<number>(suppressKey(ctx.sessionId)) === event.turnId;
  const agent = agentOfSession(store, ctx.sessionId);
  if (!agent) return suppressed && FINAL.has(event.type);
  const conversation = service.conversationOfSession(ctx.sessionId);
  const label = sessionLabel(store, ctx.sessionId) ?? `🤖 ${agent.agent_id}`;
  // A background agent's turn is its whole life: the subagents it leaves running would answer nobody
  // (and go on editing the workspace, holding max_subagents places). They stop in this batch.
  const ending = FINAL.has(event.type) || (event.type === "turn_recovered" && !ctx.autoContinued && event.action !== "none");
  const orphans = ending ? stageOrphanStop(service, tx, agent, `stopped: ${agent.agent_id}, which started it, finished`) : [];
  const tell = (text: string) => {
    if (agent.kind !== "background" || suppressed || !conversation) return;
    queueOutbound(tx, service.target(conversation), { kind: "text", text: text + stoppedNote(orphans) });
  };
  let done = false;
  switch (event.type) {
    case "turn_completed": {
      const text = answerText(event);
      const usage = event.usage ? { input_tokens: event.usage.inputTokens, output_tokens: event.usage.outputTokens } : undefined;
      done = agent.status === "running";
      finishAgent(tx, agent, "completed", { message: text, ...(usage ? { usage } : {}) });
      if (done) tell(`${label}\n\n${text || "(The agent finished without a text answer.)"}`);
      break;
    }
    case "turn_failed":
      done = agent.status === "running";
      finishAgent(tx, agent, "failed", { error: `${event.error.kind}: ${event.error.message}` });
      if (done) tell(`${label} failed (${event.error.kind}): ${event.error.message}${madeBefore(event.attachments, "\n\n")}`);
      break;
    case "turn_cancelled": {
      done = agent.status === "running";
      // A kill (subagent_kill) records the agent's end before it cancels the turn, so the agent is seldom
      // running here; the images its turn made still reach the chat, once (the worker marked them sent in
      // this event's commit).
      const stopped = finishAgent(tx, agent, "killed", { error: event.reason ?? "cancelled" });
      if (event.attachments?.length) tell(`${label} was stopped: ${stopped.error ?? "cancelled"}.${madeBefore(event.attachments, "\n\n")}`);
      break;
    }
    case "turn_recovered":
      // Continued by the supervisor (or nothing left to do): the agent goes on.
      if (ctx.autoContinued || event.action === "none") break;
      done = agent.status === "running";
      finishAgent(tx, agent, "failed", { error: `interrupted by worker restarts${event.detail ? ` (${event.detail})` : ""}` });
      if (done) tell(`${label} failed: it was interrupted by worker restarts and is not continued.`);
      break;
    default:
      break;
  }
  // Its one task is over: stop its worker now rather than after the idle timeout.
  if (done || FINAL.has(event.type)) tx.afterCommit(() => setTimeout(() => void service.supervisor.retire(ctx.sessionId).catch(() => undefined), 0));
  return true;
}

/**
 * An agent's session gave up restarting its worker (supervisor `onGiveUp`, inside its `giveup` batch).
 * Nobody can /continue an agent's session (a chat's /continue goes to its foreground), so the agent
 * fails with the reason: its record, the answer a subagent_join gets, and for a background agent a
 * labelled notice. Its waiting task and resume mark are dropped, so no later start tries it again.
 * False for every other session.
 */
export function agentGaveUp(service: ConversationService, sessionId: string, lastError: string, tx: HostTransaction): boolean {
  const { store } = service;
  const agent = agentOfSession(store, sessionId);
  if (!agent) return false;
  const error = `its worker could not be started (${lastError.replace(/^worker start failed: /, "")})`;
  if (!stageAgentEnd(store, tx, agent, error, "failed")) return true;
  const orphans = stageOrphanStop(service, tx, agent, `stopped: ${agent.agent_id}, which started it, failed`);
  const conversation = service.conversationOfSession(sessionId);
  if (agent.kind === "background" && conversation) {
    queueOutbound(tx, service.target(conversation), { kind: "text", text: `${sessionLabel(store, sessionId) ?? `🤖 ${agent.agent_id}`} failed: ${error}.${stoppedNote(orphans)}` });
  }
  tx.afterCommit(() => setTimeout(() => void service.supervisor.retire(sessionId).catch(() => undefined), 0));
  return true;
}
