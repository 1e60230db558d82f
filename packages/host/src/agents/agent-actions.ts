import type { ChatMessage } from "@starling/protocol";
import { ActionError, type ActionContext, type ActionHandlers } from "../conversations/host-action.js";
import { CronKeys, nextBackgroundSessionId } from "../cron/cron-store.js";
import { HostKeys, type HostTransaction } from "../state/host-store.js";
import type { InboundItem } from "../state/records.js";
import { killAgent } from "./agent-control.js";
import {
  agentInfo,
  agentKey,
  agentOfSession,
  backgroundAgentId,
  conversationAgents,
  findAgent,
  nextSubagentIds,
  type AgentRecord,
} from "./agent-store.js";

/** subagent_join waits at most this long per call: well inside the worker's 60 s coordinate timeout. */
export const JOIN_MAX_WAIT_SECONDS = 45;
const JOIN_POLL_MS = 200;
/** subagent_join's answer when the subagent waits for the turn slot its caller holds (max_concurrent_turns all taken). */
const SLOT_NOTE =
  "It has not started: every turn slot (max_concurrent_turns) is taken, one by your own turn. Call subagent_join with timeout_seconds (e.g. 30): while you wait, your slot is lent to it.";
export const DEFAULT_MAX_SUBAGENTS = 3;
/** Marks a background turn whose answer is not sent (terminate): `suppress:<session>` = its turn id. */
export const suppressKey = (sessionId: string) => `suppress:${sessionId}`;

function modelOf(ctx: ActionContext, requested: string | undefined): string {
  const { chatModels } = ctx.service.settings;
  if (requested !== undefined) {
    if (!chatModels[requested]) throw new ActionError(`model: "${requested}" is not a chat model of this host (available: ${ctx.service.modelAliases.join(", ")}).`);
    return requested;
  }
  const alias = ctx.conversation.modelAlias ?? ctx.service.modelAliases[0];
  if (!alias) throw new ActionError("this conversation has no chat model yet; the user picks one with /model.");
  return alias;
}

/** Creates the agent's record and admits its task as the first message of its session (one batch). */
function startAgent(tx: HostTransaction, ctx: ActionContext, agent: AgentRecord, text: string): void {
  tx.put(agentKey(agent.session_id), agent);
  const message: ChatMessage = { role: "user", time: agent.started_at, content: [{ type: "text", text }] };
  const item: InboundItem & { kind: "actor" } = {
    seq: tx.next("inbound"),
    conversationId: agent.conversationId,
    sessionId: agent.session_id,
    messageId: `agent:${agent.agent_id}`,
    kind: "actor",
    message,
    admittedAt: agent.started_at,
  };
  tx.put(HostKeys.inbound(item.seq), item);
}

function record(ctx: ActionContext, ids: { sessionId: string; agentId: string }, kind: AgentRecord["kind"], task: string, model: string): AgentRecord {
  return {
    agent_id: ids.agentId,
    session_id: ids.sessionId,
    kind,
    status: "running",
    task,
    model,
    started_at: new Date().toISOString(),
    finished_at: null,
    conversationId: ctx.conversation.id,
    parentSessionId: ctx.sessionId,
  };
}

function ownAgent(ctx: ActionContext, agentId: string): AgentRecord {
  const agent = findAgent(ctx.service.store, ctx.conversation.id, agentId);
  if (!agent) throw new ActionError(`agent_id: no agent ${agentId} in this conversation (background_agents_list shows them).`);
  return agent;
}

/** Waits `ms`, or less when `stop` aborts. */
function pause(ms: number, stop: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      stop.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    stop.addEventListener("abort", done, { once: true });
  });
}

/** Subagents and background agents (reference §3.11; ARCHITECTURE §9), scoped to the calling conversation. */
export const agentHandlers: ActionHandlers = {
  subagent_start: {
    apply(payload, tx, ctx) {
      if (ctx.service.sessionTypeOf(ctx.sessionId) === "subagent") throw new ActionError("a subagent cannot start subagents (they nest one level deep): do this part yourself.");
      const max = ctx.service.settings.maxSubagents ?? DEFAULT_MAX_SUBAGENTS;
      const running = conversationAgents(ctx.service.store, ctx.conversation.id).filter((a) => a.kind === "subagent" && a.status === "running");
      if (max === 0) throw new ActionError("subagents are turned off on this host (workers.max_subagents is 0): do the work yourself.");
      if (running.length >= max) {
        throw new ActionError(
          `${running.length === 1 ? "1 subagent is" : `${running.length} subagents are`} already running ` +
            `(${running.map((a) => a.agent_id).join(", ")}; at most ${max} at once, workers.max_subagents): ` +
            "subagent_join or subagent_kill one first.",
        );
      }
      const agent = record(ctx, nextSubagentIds(tx, ctx.conversation.id), "subagent", payload.description, modelOf(ctx, undefined));
      const header = `[Subagent task (${agent.agent_id}) from the main agent of this conversation. Work in the shared workspace; your final answer is returned to it.]`;
      startAgent(tx, ctx, agent, `${header}\n\n${payload.description}`);
      return { agent_id: agent.agent_id, session_id: agent.session_id, status: "started", task: agent.task };
    },
  },
  start_background_agent: {
    apply(payload, tx, ctx) {
      if (ctx.service.sessionTypeOf(ctx.sessionId) !== "foreground") throw new ActionError("start_background_agent is only available in the main conversation.");
      const model = modelOf(ctx, payload.model);
      const sessionId = nextBackgroundSessionId(tx, ctx.conversation.id);
      const agent = record(ctx, { sessionId, agentId: backgroundAgentId(sessionId) }, "background", payload.task, model);
      tx.put(CronKeys.sessionLabel(sessionId), `🤖 ${agent.agent_id}`);
      const header =
        `[Background task (${agent.agent_id}). Work in the conversation's workspace; your final answer is sent to the user. ` +
        "If there is nothing worth telling, call terminate instead.]";
      startAgent(tx, ctx, agent, `${header}\n\n${payload.task}`);
      return { agent_id: agent.agent_id, session_id: agent.session_id, status: "started", task: agent.task };
    },
  },
  subagent_join: {
    readOnly: true,
    async perform(payload, ctx) {
      const agent = ownAgent(ctx, payload.agent_id);
      const waitMs = Math.min(payload.timeout_seconds ?? 0, JOIN_MAX_WAIT_SECONDS) * 1000;
      const started = Date.now();
      let current = agent;
      const gone = ctx.callerGone;
      // The caller's turn only waits now: its turn slot goes to the sessions waiting for one (its subagent
      // among them), so max_concurrent_turns never keeps the subagent out until the join gives up. A caller
      // that goes away (/cancel, its worker exited) ends the wait and the loan at once; it still gets the
      // status, which tells a cancelled turn that /cancel stopped its subagent (the kill is recorded first).
      const takeBack = current.status === "running" && waitMs > 0 && !gone.aborted ? ctx.service.supervisor.lendSlotWhileWaiting(ctx.sessionId) : () => undefined;
      // Tells why a turn is idle (and gives tests the point where the caller waits in the join).
      if (current.status === "running" && waitMs > 0 && !gone.aborted) ctx.service.log.debug({ sessionId: ctx.sessionId, agent: agent.agent_id, waitMs }, "waiting in subagent_join");
      // While the caller's /cancel is on its way (its kills recorded), any join waits for it to cut the call off,
      // one without a timeout too: answering now would let the turn go on past the /cancel.
      const limitMs = () => (ctx.service.cancelsInFlight.has(ctx.sessionId) ? JOIN_MAX_WAIT_SECONDS * 1000 : current.status === "running" ? waitMs : 0);
      try {
        for (let left = limitMs(); left > 0 && !gone.aborted; left = limitMs() - (Date.now() - started)) {
          await pause(Math.min(JOIN_POLL_MS, left), gone);
          current = agentOfSession(ctx.service.store, agent.session_id) ?? current;
        }
      } finally {
        takeBack();
      }
      // Only a waiting join lends the caller's slot: a subagent queued behind it never runs while the turn just checks.
      const keptOut = current.status === "running" && ctx.service.supervisor.keepsOutOfSlot(ctx.sessionId, current.session_id);
      return {
        agent_id: current.agent_id,
        status: current.status,
        ...(current.message !== undefined ? { message: current.message } : {}),
        ...(current.error !== undefined ? { error: current.error } : {}),
        waited_seconds: Math.round((Date.now() - started) / 100) / 10,
        ...(keptOut ? { note: SLOT_NOTE } : {}),
      };
    },
  },
  subagent_kill: {
    async perform(payload, ctx) {
      const agent = ownAgent(ctx, payload.agent_id);
      const killed = await killAgent(ctx.service, agent, `killed by ${ctx.service.sessionTypeOf(ctx.sessionId)} agent (subagent_kill)`);
      const now = agentOfSession(ctx.service.store, agent.session_id) ?? agent;
      return { killed, agent_id: agent.agent_id, status: now.status };
    },
  },
  terminate: {
    apply(_payload, tx, ctx) {
      if (ctx.service.sessionTypeOf(ctx.sessionId) !== "background") throw new ActionError("terminate only works in a background session (a background agent or a scheduled task).");
      if (ctx.turnId !== null) tx.put(suppressKey(ctx.sessionId), ctx.turnId);
      const agent = agentOfSession(ctx.service.store, ctx.sessionId);
      if (agent?.status === "running") tx.put(agentKey(agent.session_id), { ...agent, status: "killed", finished_at: new Date().toISOString(), error: "terminated by itself" });
      return { terminated: true };
    },
  },
  background_agents_list: {
    readOnly: true,
    apply: (_payload, _tx, ctx) => ({ agents: conversationAgents(ctx.service.store, ctx.conversation.id).map(agentInfo) }),
  },
  get_agent_stats: {
    readOnly: true,
    async perform(payload, ctx) {
      const agent = ownAgent(ctx, payload.agent_id);
      const status = ctx.service.supervisor.status(agent.session_id);
      const end = agent.finished_at ? Date.parse(agent.finished_at) : Date.now();
      return {
        agent: {
          ...agentInfo(agent),
          worker_running: status.workerRunning,
          turn_running: status.turnRunning,
          queue_position: status.queuePosition,
          elapsed_seconds: Math.max(0, Math.round((end - Date.parse(agent.started_at)) / 1000)),
          ...(agent.usage ? { usage: agent.usage } : {}),
        },
      };
    },
  },
};
