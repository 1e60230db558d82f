import type { ConversationService } from "../conversations/conversation-service.js";
import { clearResumeMark } from "../sessions/recovery.js";
import { HostKeys, type HostStore, type HostTransaction } from "../state/host-store.js";
import type { ConversationRecord } from "../state/records.js";
import { agentOfSession, conversationAgents, finishAgent, type AgentRecord } from "./agent-store.js";

/**
 * Stages an agent's end in `tx` (killed, or failed when its worker cannot start): its record gets the
 * status and reason, its messages not yet handed to its worker and its resume mark are dropped (so a
 * host restart never brings its turn back). False when it had already finished. The caller's batch is
 * the durable point; `stopAgentWorker` follows it.
 */
export function stageAgentEnd(store: HostStore, tx: HostTransaction, agent: AgentRecord, why: string, status: "killed" | "failed" = "killed"): boolean {
  const current = agentOfSession(store, agent.session_id);
  if (!current || current.status !== "running") return false;
  finishAgent(tx, current, status, { error: why });
  for (const item of store.inbound()) if (item.sessionId === agent.session_id) tx.del(HostKeys.inbound(item.seq));
  clearResumeMark(tx, agent.session_id);
  return true;
}

/** After a staged kill is durable: cancels the agent's turn and shuts its worker down, which ends its shell commands too. */
export async function stopAgentWorker(service: ConversationService, agent: AgentRecord, why: string): Promise<void> {
  try {
    await service.supervisor.cancel(agent.session_id, why);
  } catch (err) {
    service.log.warn({ agent: agent.agent_id, err: err instanceof Error ? err.message : String(err) }, "cancelling a killed agent's turn failed; its worker is stopped anyway");
  }
  await service.supervisor.retire(agent.session_id);
  service.log.info({ agent: agent.agent_id, session: agent.session_id, why }, "agent killed");
}

/**
 * Inside the batch that ends background agent `parent`: stops the subagents it started that still run
 * (their answers would reach nobody, and they would go on editing the workspace and holding
 * max_subagents places); their workers stop once the batch is durable. Returns them.
 */
export function stageOrphanStop(service: ConversationService, tx: HostTransaction, parent: AgentRecord, why: string): AgentRecord[] {
  if (parent.kind !== "background") return [];
  return stageSubagentsStop(service, tx, parent.conversationId, parent.session_id, why);
}

/**
 * Inside `tx`: stops the running subagents that session `parentSessionId` of the conversation started
 * (their kills are recorded in `tx`, as stageAgentEnd does; their turns and workers stop once it is
 * durable). A background agent's end and a cron task's removal or disabling use it. Returns them.
 */
export function stageSubagentsStop(service: ConversationService, tx: HostTransaction, conversationId: string, parentSessionId: string, why: string): AgentRecord[] {
  const running = conversationAgents(service.store, conversationId).filter(
    (a) => a.kind === "subagent" && a.status === "running" && a.parentSessionId === parentSessionId,
  );
  for (const sub of running) stageAgentEnd(service.store, tx, sub, why);
  if (running.length) tx.afterCommit(() => void Promise.all(running.map((sub) => stopAgentWorker(service, sub, why))).catch(() => undefined));
  return running;
}

/**
 * Stops an agent (commit point `agent_kill`, see stageAgentEnd), then its turn and worker; a background
 * agent's running subagents stop with it. False when it had already finished.
 */
export async function killAgent(service: ConversationService, agent: AgentRecord, why: string): Promise<boolean> {
  if (!(await recordKill(service, agent, why))) return false;
  await stopAgentWorker(service, agent, why);
  return true;
}

/** killAgent's commit (point `agent_kill`): false when the agent had already finished. */
function recordKill(service: ConversationService, agent: AgentRecord, why: string): Promise<boolean> {
  const { store } = service;
  return store.commit("agent_kill", (tx) => {
    if (!stageAgentEnd(store, tx, agent, why)) return false;
    stageOrphanStop(service, tx, agent, `stopped with ${agent.agent_id}, which started it`);
    return true;
  });
}

/**
 * /cancel and /new: stops the running subagents the conversation's foreground session started. Their
 * kills are recorded first, then `meanwhile` runs (/cancel stops the foreground turn there: a
 * subagent_join it cuts off then answers "killed: stopped by /cancel", so the continued turn knows),
 * then their turns and workers are stopped. Until `meanwhile` is done, a join of the foreground session
 * answers nothing (CancelsInFlight): reading the kill at once, the turn would go on past the /cancel.
 * Returns the ids of those stopped.
 */
export async function cancelSubagents(
  service: ConversationService,
  conversation: ConversationRecord,
  why = "stopped by /cancel",
  meanwhile: () => Promise<void> = async () => undefined,
): Promise<string[]> {
  const running = conversationAgents(service.store, conversation.id).filter(
    (a) => a.kind === "subagent" && a.status === "running" && a.parentSessionId === conversation.foreground.sessionId,
  );
  const killed: AgentRecord[] = [];
  // Marked before the kills become visible: a join polls the store's memory, which a commit updates.
  const cancelArrived = service.cancelsInFlight.begin(conversation.foreground.sessionId);
  try {
    for (const agent of running) if (await recordKill(service, agent, why)) killed.push(agent);
    await meanwhile();
  } finally {
    cancelArrived();
  }
  for (const agent of killed) await stopAgentWorker(service, agent, why);
  return killed.map((a) => a.agent_id);
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
