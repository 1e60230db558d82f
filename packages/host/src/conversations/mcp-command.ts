import type { LiveState, McpServerStatus } from "@starling/protocol";
import type { CommandReply } from "../channels/channel.js";
import { hostRedactor } from "../security/host-secrets.js";
import { HostKeys } from "../state/host-store.js";
import type { ConversationRecord } from "../state/records.js";
import type { ConversationService } from "./conversation-service.js";
import { mcpServerEnabled } from "./mcp-servers.js";
import { StuckWorkerKilled, stuckOrNull } from "../sessions/answer-deadline.js";
import { stuckWorkerText } from "./turn-control-replies.js";
import { restartStoppedNote } from "./background-note.js";

const USAGE = "Use /mcp to list the MCP servers and their tools, /mcp enable <server> or /mcp disable <server> for this conversation.";

/**
 * `/mcp`: the configured MCP servers with their state and tools in this conversation's session, and
 * `enable`/`disable <server>` for this conversation (stored with the conversation; the worker restarts
 * with the new set on the next message).
 */
export async function mcpCommand(service: ConversationService, conversation: ConversationRecord, args: string): Promise<CommandReply> {
  const servers = service.settings.mcpServers ?? {};
  const names = Object.keys(servers);
  const [action, name, ...rest] = args.split(/\s+/).filter(Boolean);
  if (!action) {
    if (!names.length) return { text: "No MCP servers are configured (config mcp_servers)." };
    const found = await liveMcp(service, conversation);
    const live = found instanceof StuckWorkerKilled ? null : found;
    const lines = ["MCP servers:"];
    for (const server of names) {
      const on = mcpServerEnabled(service.settings, conversation, server);
      const status = live?.find((s) => s.name === server);
      lines.push(`• ${server} (${servers[server]!.url ? "http" : "stdio"}): ${on ? (status ? describeMcp(status) : "enabled, not started yet") : "disabled"}`);
      if (on && status?.tools.length) lines.push(`  tools: ${status.tools.join(", ")}`);
    }
    if (found instanceof StuckWorkerKilled) {
      lines.push(`${stuckWorkerText(found.noAnswer.ms)} and was killed; the servers start again with its next worker.`);
    }
    lines.push("", USAGE);
    return { text: hostRedactor().redact(lines.join("\n")) };
  }
  if ((action !== "enable" && action !== "disable") || !name || rest.length) return { text: `Unknown /mcp arguments "${args}". ${USAGE}` };
  if (!servers[name]) return { text: `No MCP server named "${name}". Configured: ${names.join(", ") || "none"}.` };
  const enable = action === "enable";
  await service.store.commit("conversation", (tx) =>
    tx.put(HostKeys.conversation(conversation.id), { ...conversation, mcpOverrides: { ...conversation.mcpOverrides, [name]: enable } }),
  );
  const stopped = await service.supervisor.restart(conversation.foreground.sessionId);
  return { text: `MCP server ${name} ${enable ? "enabled" : "disabled"} for this conversation. It applies from now on.${restartStoppedNote(stopped)}` };
}

/** One line per MCP server for `/status`. */
export function mcpStatusLines(live: LiveState | null): string[] {
  return (live?.mcp ?? []).map((s) => `MCP ${s.name}: ${describeMcp(s)}`);
}

function describeMcp(s: McpServerStatus): string {
  const parts = [s.state, `${s.tools.length} tools`];
  if (s.skipped.length) parts.push(`${s.skipped.length} skipped (${describeSkipped(s.skipped)})`);
  if (s.restarts) parts.push(`${s.restarts} restarts`);
  if (s.lastError) parts.push(`last error: ${s.lastError}`);
  return parts.join(", ");
}

/** Most tool names shown for one reason (a server past the tool limit may leave out hundreds). */
const MAX_SKIPPED_NAMES = 30;

/** Skipped tools grouped by reason: `a, b, c: reason; d: other reason`. */
function describeSkipped(skipped: McpServerStatus["skipped"]): string {
  const byReason = new Map<string, string[]>();
  for (const { tool, reason } of skipped) {
    const tools = byReason.get(reason);
    if (tools) tools.push(tool);
    else byReason.set(reason, [tool]);
  }
  return [...byReason]
    .map(([reason, tools]) => {
      const more = tools.length > MAX_SKIPPED_NAMES ? ` and ${tools.length - MAX_SKIPPED_NAMES} more` : "";
      return `${tools.slice(0, MAX_SKIPPED_NAMES).join(", ")}${more}: ${reason}`;
    })
    .join("; ");
}

/** The servers' state in the running worker; null without one; the error when it was stuck and has been killed. */
async function liveMcp(service: ConversationService, conversation: ConversationRecord): Promise<McpServerStatus[] | StuckWorkerKilled | null> {
  const live = await service.supervisor.query(conversation.foreground.sessionId, { view: "live_state" }).catch(stuckOrNull);
  if (live instanceof StuckWorkerKilled) return live;
  return live?.view === "live_state" ? (live.mcp ?? null) : null;
}
