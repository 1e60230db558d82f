import { COORDINATE_ACTIONS, type AgentInfo, type CoordinatePayload } from "@starling/protocol";
import { defineTool, type AnyTool } from "../define-tool.js";
import { askHost } from "./ask-host.js";

function line(agent: AgentInfo): string {
  const ended = agent.finished_at ? `, finished ${agent.finished_at}` : "";
  return `${agent.agent_id} (${agent.kind}, ${agent.status}, model ${agent.model}, started ${agent.started_at}${ended}): ${agent.task.slice(0, 120)}`;
}

/**
 * Subagents and background agents (reference §3.11): each runs as its own session and worker on
 * this conversation's workspace. The host carries them out; these tools only ask it.
 */
/** A tool whose result is the host's answer as JSON (ids and statuses the model passes on). */
function jsonTool<A extends "subagent_start" | "subagent_join" | "subagent_kill" | "start_background_agent">(name: A, description: string): AnyTool {
  return defineTool({
    name,
    description,
    parameters: COORDINATE_ACTIONS[name].args as () => (typeof COORDINATE_ACTIONS)[A]["payload"],
    readOnly: true,
    async execute(args, ctx) {
      const answer = await askHost(ctx, name, args as CoordinatePayload<A>);
      return { content: JSON.stringify(answer), details: answer };
    },
  });
}

/**
 * Subagents and background agents (reference §3.11): each runs as its own session and worker on
 * this conversation's workspace. The host carries them out; these tools only ask it.
 */
export function agentTools(): Record<string, AnyTool> {
  const start = jsonTool(
    "subagent_start",
    "Start a subagent: a helper agent with the same tools (but no cron, background or further subagents) working in this workspace, " +
      "on the task you describe. It sees only the description, so include everything it needs. Returns its agent_id at once; " +
      "collect its final answer with subagent_join. Use several for independent parts of a job (research, checks) in parallel. " +
      "Commands it leaves running in the background stop when it finishes: start a server or watcher that must stay up yourself.",
  );
  const join = jsonTool(
    "subagent_join",
    "Wait for a subagent to finish and get its final answer. Waits up to timeout_seconds (at most 45; omit or 0 to just check). " +
      "status is completed (message = its answer), failed (error), killed, or running (not done yet: call again).",
  );
  const kill = jsonTool("subagent_kill", "Stop a subagent (its running commands too). Its answer is then never produced.");
  const background = jsonTool(
    "start_background_agent",
    "Start a background agent for a longer job that should go on after your turn ends: it works in this workspace on the task you give " +
      "(it sees only that text) and its final answer (or failure) is sent to the user by itself. Returns its agent_id at once. " +
      "Commands it leaves running in the background stop when it finishes: start a server or watcher that must stay up yourself.",
  );
  const terminate = defineTool({
    name: "terminate",
    description: "End this background run now without sending an answer to the user (e.g. a scheduled check found nothing worth reporting).",
    parameters: COORDINATE_ACTIONS.terminate.args,
    readOnly: true,
    async execute(args, ctx) {
      const result = await askHost(ctx, "terminate", args);
      return { content: "Terminated: no answer will be sent. End your turn now.", details: result };
    },
  });
  const list = defineTool({
    name: "background_agents_list",
    description: "List this conversation's background agents and subagents with their status.",
    parameters: COORDINATE_ACTIONS.background_agents_list.args,
    readOnly: true,
    async execute(args, ctx) {
      const { agents } = await askHost(ctx, "background_agents_list", args);
      return { content: agents.length ? agents.map(line).join("\n") : "No background agents or subagents in this conversation.", details: { count: agents.length } };
    },
  });
  const stats = defineTool({
    name: "get_agent_stats",
    description: "Details of one background agent or subagent: status, timing, whether it is running or waiting for a turn slot, token usage, answer or error.",
    parameters: COORDINATE_ACTIONS.get_agent_stats.args,
    readOnly: true,
    async execute(args, ctx) {
      const { agent } = await askHost(ctx, "get_agent_stats", args);
      return { content: JSON.stringify(agent, null, 2), details: { agent_id: agent.agent_id, status: agent.status } };
    },
  });
  return {
    subagent_start: start,
    subagent_join: join,
    subagent_kill: kill,
    start_background_agent: background,
    terminate,
    background_agents_list: list,
    get_agent_stats: stats,
  };
}
