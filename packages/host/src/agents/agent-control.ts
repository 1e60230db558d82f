import type { ConversationService } from "../conversations/conversation-service.js";
import { clearResumeMark } from "../sessions/recovery.js";
import { HostKeys } from "../state/host-store.js";
import type { ConversationRecord } from "../state/records.js";
import { agentOfSession, conversationAgents, finishAgent, type AgentRecord } from "./agent-store.js";

/**
 * Stops an agent: one batch (commit point `agent_kill`) marks it killed, drops its messages not yet
 * handed to its worker and its resume mark (so a host restart never brings its turn back); then its
 * turn is cancelled and its worker shut down, which ends its shell commands too. False when it had
 * already finished.
 */
export async function killAgent(service: ConversationService, agent: AgentRecord, why: string): Promise<boolean> {
  const { store, supervisor } = service;
  const killed = await store.commit("agent_kill", (tx) => {
    const current = agentOfSession(store, agent.session_id);
    if (!current || current.status !== "running") return false;
    finishAgent(tx, current, "killed", { error: why });
    for (const item of store.inbound()) if (item.sessionId === agent.session_id) tx.del(HostKeys.inbound(item.seq));
    clearResumeMark(tx, agent.session_id);
    return true;
  });
  if (!killed) return false;
  try {
    await supervisor.cancel(agent.session_id, why);
  } catch (err) {
    service.log.warn({ agent: agent.agent_id, err: err instanceof Error ? err.message : String(err) }, "cancelling a killed agent's turn failed; its worker is stopped anyway");
  }
  await supervisor.retire(agent.session_id);
  service.log.info({ agent: agent.agent_id, session: agent.session_id, why }, "agent killed");
  return true;
}

/** /cancel and /new: stops the running subagents the conversation's foreground session started. */
export async function cancelSubagents(service: ConversationService, conversation: ConversationRecord, why = "stopped by /cancel"): Promise<string[]> {
  const running = conversationAgents(service.store, conversation.id).filter(
    (a) => a.kind === "subagent" && a.status === "running" && a.parentSessionId === conversation.foreground.sessionId,
  );
  const stopped: string[] = [];
  for (const agent of running) if (await killAgent(service, agent, why)) stopped.push(agent.agent_id);
  return stopped;
}

/** What /cancel says of the conversation's running background agents, which it leaves running ("" when none). */
export function backgroundAgentsNote(service: ConversationService, conversation: ConversationRecord): string {
  const ids = conversationAgents(service.store, conversation.id)
    .filter((a) => a.kind === "background" && a.status === "running")
    .map((a) => a.agent_id);
  if (!ids.length) return "";
  return ids.length === 1
    ? ` Background agent ${ids[0]} goes on (it answers here when done).`
    : ` Background agents ${ids.join(", ")} go on (they answer here when done).`;
}

const RECENT_FINISHED = 3;

/** /status: running agents with where they are, then the last few finished ones. */
export function agentStatusLines(service: ConversationService, conversation: ConversationRecord): string[] {
  const agents = conversationAgents(service.store, conversation.id);
  if (!agents.length) return [];
  const running = agents.filter((a) => a.status === "running");
  const finished = agents.filter((a) => a.status !== "running").slice(-RECENT_FINISHED);
  const lines = ["Agents:"];
  for (const a of running) {
    const s = service.supervisor.status(a.session_id);
    const where = s.turnRunning ? "working" : s.queuePosition !== null ? `waiting for a turn slot (position ${s.queuePosition})` : "starting";
    lines.push(`  ${a.agent_id} (${a.kind}, ${a.model}): ${where} — ${short(a.task)}`);
  }
  for (const a of finished) lines.push(`  ${a.agent_id} (${a.kind}): ${a.status} ${a.finished_at ?? ""} — ${short(a.task)}`);
  return lines;
}

function short(text: string): string {
  const one = text.replace(/\s+/g, " ").trim();
  return one.length > 60 ? `${one.slice(0, 59)}…` : one;
}
