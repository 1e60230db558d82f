import type { AgentInfo } from "@starling/protocol";
import type { HostStore, HostTransaction } from "../state/host-store.js";
import { sessionLabel } from "../cron/cron-store.js";

/**
 * A subagent or background agent (ARCHITECTURE §9): host state keyed by its session id. The agent id
 * and the session id name each other: `subagent_0003` ↔ `<conversation>.subagent.0003`, and
 * `background_0007` ↔ `<conversation>.background.0007` (the background counter is shared with cron).
 */
export interface AgentRecord extends AgentInfo {
  conversationId: string;
  /** The session that started it (its subagent_join / subagent_kill may name it). */
  parentSessionId: string;
  /** Token usage of its finished turn (turn_completed), for get_agent_stats. */
  usage?: { input_tokens: number; output_tokens: number };
}

export const agentKey = (sessionId: string) => `agent:${sessionId}`;

export function agentOfSession(store: HostStore, sessionId: string): AgentRecord | undefined {
  return store.get<AgentRecord>(agentKey(sessionId));
}

export function conversationAgents(store: HostStore, conversationId: string): AgentRecord[] {
  return store.list<AgentRecord>(`agent:${conversationId}.`).filter((a) => a.conversationId === conversationId);
}

const AGENT_ID = /^(subagent|background)_(\d{4,})$/;

/** The agent of this conversation named `agentId`, if any. */
export function findAgent(store: HostStore, conversationId: string, agentId: string): AgentRecord | undefined {
  const match = AGENT_ID.exec(agentId.trim());
  if (!match) return undefined;
  return agentOfSession(store, `${conversationId}.${match[1]}.${match[2]}`);
}

/** The next `<conversation>.subagent.NNNN` session and its agent id. */
export function nextSubagentIds(tx: HostTransaction, conversationId: string): { sessionId: string; agentId: string } {
  const n = String(tx.next(`subagent:${conversationId}`)).padStart(4, "0");
  return { sessionId: `${conversationId}.subagent.${n}`, agentId: `subagent_${n}` };
}

/** `background_0007` for `<conversation>.background.0007`. */
export function backgroundAgentId(sessionId: string): string {
  return `background_${/\.background\.(\d+)$/.exec(sessionId)![1]}`;
}

/** Marks an agent finished (status, time, answer or error) inside `tx`; a finished agent stays as it is. */
export function finishAgent(
  tx: HostTransaction,
  agent: AgentRecord,
  status: "completed" | "failed" | "killed",
  detail: { message?: string; error?: string; usage?: AgentRecord["usage"] } = {},
): AgentRecord {
  if (agent.status !== "running") return agent;
  const done: AgentRecord = { ...agent, status, finished_at: new Date().toISOString(), ...detail };
  tx.put(agentKey(agent.session_id), done);
  return done;
}

/** The public view (tools) of a record. */
export function agentInfo(agent: AgentRecord): AgentInfo {
  const { conversationId: _c, parentSessionId: _p, usage: _u, ...info } = agent;
  return info;
}

/**
 * Who speaks when a session other than the foreground writes to the chat (user_tell): its stored label
 * (`⏰ <cron task>`, `🤖 background_NNNN`) or `🤖 subagent_NNNN`; undefined for the foreground.
 */
export function chatLabel(store: HostStore, sessionId: string): string | undefined {
  const agent = agentOfSession(store, sessionId);
  return sessionLabel(store, sessionId) ?? (agent ? `🤖 ${agent.agent_id}` : undefined);
}
