import { existsSync } from "node:fs";
import { COMPACTION_STOPPED, sessionFolderName, sessionStateDir, type LiveState } from "@starling/protocol";
import type { CommandReply } from "../channels/channel.js";
import { HostKeys } from "../state/host-store.js";
import type { ConversationRecord, SandboxMode } from "../state/records.js";
import type { ConversationService } from "./conversation-service.js";
import { conversationRemote, describeRemote, remoteCommand } from "./remote-command.js";
import { bubblewrapUnavailable } from "../security/sandbox-check.js";
import { hostRedactor } from "../security/host-secrets.js";
import { archiveSessionData, conversationDir } from "./workspace.js";
import { cronCommand } from "../cron/cron-command.js";
import { planLines, sessionPlan } from "./chat-actions.js";

import { agentStatusLines, backgroundAgentsNote, cancelSubagents } from "../agents/agent-control.js";
import { mcpCommand, mcpStatusLines } from "./mcp-command.js";
import { reasoningCommand, reasoningStatusLines } from "./reasoning-command.js";
import { compactCommand } from "./compact-command.js";
import { RETRYING_KEPT, StuckWorkerKilled, WORKER_START_FAILED, type CancelResult } from "../sessions/supervisor.js";
import { continueAcceptedText, reasonAfter, stuckCancelText, withdrawnContinueText } from "./turn-control-replies.js";
import { seconds, stuckOrNull } from "../sessions/answer-deadline.js";
import { forgetUserIntent } from "../sessions/user-intent.js";
import { forgetSeedHistory } from "../sessions/seed-history.js";
import { backgroundStatusLines, restartStoppedNote, retireStoppedNote } from "./background-note.js";

/** /status shows this many plan steps (a model may write hundreds; the rest is counted). */
const STATUS_PLAN_STEPS = 30;

export const CONVERSATION_COMMANDS = [
  { command: "status", description: "Conversation, model, session state and usage" },
  { command: "model", description: "Show or pick the model: /model [alias]" },
  { command: "cancel", description: "Stop the running turn" },
  { command: "continue", description: "Resume a failed, cancelled or interrupted turn" },
  { command: "new", description: "Start a fresh session (the old one is archived)" },
  { command: "compact", description: "Summarise the older part of the history now, so later turns send less" },
  { command: "cron", description: "Scheduled tasks of this chat (enable, disable, remove)" },
  { command: "reasoning", description: "Show or set how hard the model thinks: /reasoning [low|medium|high|…|default]" },
  { command: "sandbox", description: "Show or set the sandbox: /sandbox [subprocess|bubblewrap|default]" },
  { command: "remote", description: "Remote workspace: /remote [ssh-alias /path | selectable | off]" },
  { command: "mcp", description: "MCP servers and their tools: /mcp [enable|disable server]" },
  { command: "help", description: "What I can do" },
];

/** Set to true once `/remote` works: until then the command menu and /help leave it out (the command still answers). */
export const REMOTE_AVAILABLE = true;

/** The conversation commands; `hidden` ones answer but are left out of the command menu and /help. */
export function conversationCommands(): { command: string; description: string; hidden?: boolean }[] {
  return CONVERSATION_COMMANDS.map((c) => (c.command === "remote" && !REMOTE_AVAILABLE ? { ...c, hidden: true } : c));
}

export async function runCommand(
  service: ConversationService,
  conversation: ConversationRecord,
  name: string,
  args: string,
): Promise<CommandReply> {
  const sessionId = conversation.foreground.sessionId;
  const supervisor = service.supervisor;
  switch (name) {
    case "help":
      return {
        text: [
          "Send me a message and I will work on it in this conversation's workspace.",
          "",
          ...conversationCommands()
            .filter((c) => !c.hidden)
            .map((c) => `/${c.command} — ${c.description}`),
        ].join("\n"),
      };
    case "cancel": {
      // The turn's subagents stop with it (their shell commands too); background agents go on.
      let result: CancelResult = { accepted: false };
      let stuck: StuckWorkerKilled | null = null;
      const stopped = await cancelSubagents(service, conversation, "stopped by /cancel", async () => {
        try {
          result = await supervisor.cancel(sessionId, "user /cancel");
        } catch (err) {
          if (!(err instanceof StuckWorkerKilled)) throw err;
          stuck = err;
        }
      });
      const agents = stopped.length ? ` Stopped ${stopped.length === 1 ? "its subagent" : `its ${stopped.length} subagents`} (${stopped.join(", ")}).` : "";
      const background = backgroundAgentsNote(service, conversation);
      if (stuck) return { text: `${stuckCancelText(stuck)}${agents}${background}` };
      if (!result.accepted && result.reason === COMPACTION_STOPPED) return { text: `Stopped the compaction /compact started; the history is unchanged.${agents}${background}` };
      if (!result.accepted && agents) return { text: `${agents}${background}`.trim() };
      if (result.withdrew) return { text: withdrawnContinueText(result.withdrew, `${agents}${background}`) };
      if (result.accepted) return { text: `Cancelled the running turn.${agents}${background} Send /continue to resume it.` };
      if (result.starting) {
        return {
          text: `Nothing to cancel yet: the session's worker is still starting. A turn it finds interrupted will not be continued automatically (send /continue to resume it); a message waiting for it still runs once it is ready, and /cancel then stops it.${agents}${background}`,
        };
      }
      // Also what a /cancel re-delivered after a restart hears, when the first delivery's cancel went through.
      const waiting = await unfinishedTurnNote(service, conversation);
      return { text: `Nothing to cancel: ${reasonAfter("nothing to cancel", result.reason) ?? "no turn is running"}.${waiting}${background}` };
    }
    case "continue": {
      const result = await supervisor.continue(sessionId);
      if (result.reason?.startsWith(RETRYING_KEPT)) return { text: `Trying again: ${result.reason.slice(RETRYING_KEPT.length + 2)}.` };
      if (result.accepted) return { text: continueAcceptedText(result) };
      if (result.reason?.startsWith(WORKER_START_FAILED)) return { text: `⚠️ Could not continue: ${result.reason}. Send /continue to try again.` };
      return { text: `Nothing to continue: ${reasonAfter("nothing to continue", result.reason) ?? "the last turn finished"}.` };
    }
    case "model":
      if (!args) {
        const current = conversation.modelAlias ?? "(not chosen yet)";
        if (service.modelAliases.length <= 1) return { text: `Model: ${current}. It is the only chat model configured.` };
        return { text: `Model: ${current}. Pick one:`, buttons: service.modelKeyboard() };
      }
      return service.chooseModel(conversation, args.trim());
    case "status":
      return { text: hostRedactor().redact(await statusText(service, conversation)) };
    case "cron":
      return cronCommand(service, conversation);
    case "reasoning":
      return reasoningCommand(service, conversation, args);
    case "compact":
      return compactCommand(service, conversation);
    case "sandbox":
      return setSandbox(service, conversation, args.trim());
    case "remote":
      return remoteCommand(service, conversation, args.trim());
    case "mcp":
      return mcpCommand(service, conversation, args.trim());
    case "new": {
      // What the old session still had to answer goes into the archive with it: say so, never silently.
      const live = await supervisor.query(sessionId, { view: "live_state", background: true }, { start: false }).catch(() => null);
      const dropped = live?.view === "live_state" ? dropNotice(live.turnId !== null, live.queuedInputs) : "";
      // A running turn's own command is part of the stopped turn, not "left running".
      const leftRunning = live?.view === "live_state" && live.turnId === null ? retireStoppedNote(live.background) : "";
      await supervisor.retire(sessionId);
      // The archived turn's subagents answer nobody now: stop them, so they neither edit the workspace
      // behind the fresh session's back nor hold its workers.max_subagents places. Background agents go on.
      const stopped = await cancelSubagents(service, conversation, "stopped by /new");
      const archived = archiveSessionData(conversationDir(service.settings.workdir, conversation.id), sessionFolderName(sessionId));
      // A /cancel or /continue stored for the archived session's turns must not reach the new one.
      await service.store.commit("conversation", (tx) => {
        tx.put(HostKeys.conversation(conversation.id), {
          ...conversation,
          foreground: { sessionId, generation: conversation.foreground.generation + 1 },
          archivedSessions: archived ? [...conversation.archivedSessions, archived] : conversation.archivedSessions,
        });
        forgetUserIntent(service.store, tx, sessionId);
        forgetSeedHistory(service.store, tx, sessionId);
      });
      const agents = stopped.length ? ` Stopped ${stopped.length === 1 ? "its subagent" : `its ${stopped.length} subagents`} (${stopped.join(", ")}).` : "";
      return { text: `Started a fresh session. The workspace files stay; the old conversation history is archived.${agents}${leftRunning}${backgroundAgentsNote(service, conversation)}${dropped}` };
    }
    default:
      return { text: `Unknown command /${name}. Try /help.` };
  }
}

/** The /new reply's note on a turn stopped and messages left unanswered by the archived session. */
function dropNotice(turnRunning: boolean, queued: number): string {
  const parts: string[] = [];
  if (turnRunning) parts.push("the turn that was running was stopped without an answer");
  if (queued > 0) parts.push(`${queued} message${queued === 1 ? "" : "s"} waiting for it ${queued === 1 ? "was" : "were"} not answered`);
  return parts.length ? ` Note: ${parts.join(", and ")} (send again what you still need).` : "";
}

const UNFINISHED: Record<string, string> = {
  cancelled: "was cancelled",
  failed: "failed",
  crash: "was interrupted",
  step_limit: "stopped at its step limit",
};

/** " The last turn was cancelled. Send /continue to resume it." when the session has a turn waiting for /continue, else "". */
async function unfinishedTurnNote(service: ConversationService, conversation: ConversationRecord): Promise<string> {
  const unfinished = (await liveStateOf(service, conversation))?.unfinishedTurn;
  if (!unfinished) return "";
  return ` The last turn ${UNFINISHED[unfinished.reason] ?? `stopped (${unfinished.reason})`}. Send /continue to resume it.`;
}

/** The foreground session's live state; a session with a database is asked even when its worker is stopped (idle shutdown, restart). */
async function liveStateOf(service: ConversationService, conversation: ConversationRecord): Promise<LiveState | null> {
  const view = await liveView(service, conversation);
  return view instanceof StuckWorkerKilled ? null : view;
}

/** liveStateOf, or the error saying the worker was stuck and has been killed for not answering. */
async function liveView(service: ConversationService, conversation: ConversationRecord, background = false): Promise<LiveState | StuckWorkerKilled | null> {
  const sessionId = conversation.foreground.sessionId;
  const start = existsSync(sessionStateDir(conversationDir(service.settings.workdir, conversation.id), sessionId));
  const view = await service.supervisor.query(sessionId, { view: "live_state", ...(background ? { background } : {}) }, { start }).catch(stuckOrNull);
  return view instanceof StuckWorkerKilled || view?.view === "live_state" ? view : null;
}

/** /status's session line when the worker did not answer: killed as stuck, and what becomes of its turn (as after a crash). */
function stuckStatusLine(stuck: StuckWorkerKilled): string {
  const within = seconds(stuck.noAnswer.ms);
  const after = stuck.turnId === null ? "a new one starts with the next message" : `a new one recovers turn ${stuck.turnId} as after a crash`;
  return `Session: ⚠️ the worker did not answer within ${within} (it was stuck) and was killed; ${after}`;
}

async function statusText(service: ConversationService, conversation: ConversationRecord): Promise<string> {
  const sessionId = conversation.foreground.sessionId;
  const workspace = conversationDir(service.settings.workdir, conversation.id);
  const view = await liveView(service, conversation, true);
  const live = view instanceof StuckWorkerKilled ? null : view;
  // A killed worker has no usage to tell, and asking its successor (or a worker still starting) would wait for its start.
  const usage = live ? await service.supervisor.query(sessionId, { view: "usage" }).catch(() => null) : null;
  const status = service.supervisor.status(sessionId);
  const alias = conversation.modelAlias;
  const model = alias ? service.settings.chatModels[alias] : undefined;
  const lines = [
    `Conversation: ${conversation.id}`,
    `Model: ${alias ? `${alias} (${model?.model_name ?? "?"})` : "not chosen yet — use /model"}`,
    ...reasoningStatusLines(conversation, model),
    `Sandbox: ${conversation.sandboxOverride ?? service.settings.sandbox.mode}${conversation.sandboxOverride ? " (override)" : ""}`,
    `Remote: ${describeRemote(conversationRemote(conversation))}`,
    `Workspace: ${workspace}`,
  ];
  if (view instanceof StuckWorkerKilled) {
    lines.push(stuckStatusLine(view));
  } else if (live) {
    lines.push(`Session: ${live.state}${live.toolName ? ` (tool: ${live.toolName})` : ""}${live.turnId !== null ? `, turn ${live.turnId}, step ${live.step}` : ""}`);
    if (live.unfinishedTurn) lines.push(`Unfinished turn ${live.unfinishedTurn.turnId} (${live.unfinishedTurn.reason}) — /continue resumes it`);
    // During a turn its own command counts too, and the turn, not idleness, keeps the worker up.
    if (live.turnId === null) lines.push(...backgroundStatusLines(live.background));
    lines.push(...mcpStatusLines(live));
  } else {
    lines.push(`Session: ${status.workerRunning ? "starting" : "idle (worker stopped; starts on the next message)"}`);
  }
  const plan = sessionPlan(service.store, sessionId);
  if (plan) lines.push(`Plan${plan.explanation ? ` (${plan.explanation})` : ""}:`, ...planLines(plan, STATUS_PLAN_STEPS).map((l) => `  ${l}`));
  if (status.queuePosition !== null) lines.push(`Queue position: ${status.queuePosition}`);
  lines.push(...agentStatusLines(service, conversation));
  if (status.lastError) lines.push(`Last worker error: ${status.lastError}`);
  const storage = service.store.health?.snapshot();
  if (storage?.failingSince) {
    const since = storage.failingSince.toISOString();
    lines.push(`⚠️ Storage: the host database has been failing writes since ${since} at ${storage.points.join(", ")} (${storage.failures} failed; last: ${storage.lastError}). Starling keeps retrying; check the disk.`);
  }
  if (usage?.view === "usage") {
    lines.push(
      `Tokens: ${usage.total.inputTokens} in / ${usage.total.outputTokens} out over ${usage.turns} turns; context ≈ ${usage.contextTokensEstimate}`,
    );
  }
  return lines.join("\n");
}

async function setSandbox(service: ConversationService, conversation: ConversationRecord, arg: string): Promise<CommandReply> {
  const current = conversation.sandboxOverride ?? service.settings.sandbox.mode;
  if (!arg) return { text: `Sandbox: ${current}. Use /sandbox subprocess, /sandbox bubblewrap or /sandbox default.` };
  if (!["subprocess", "bubblewrap", "default"].includes(arg)) {
    return { text: `Unknown sandbox mode "${arg}". Use subprocess, bubblewrap or default.` };
  }
  if (arg === "bubblewrap") {
    const problem = await bubblewrapUnavailable(service.settings.sandbox.bubblewrapBinary, service.settings.sandbox.network ?? true);
    if (problem) return { text: problem };
  }
  const override = arg === "default" ? null : (arg as SandboxMode);
  await service.store.commit("conversation", (tx) =>
    tx.put(HostKeys.conversation(conversation.id), { ...conversation, sandboxOverride: override }),
  );
  const stopped = await service.supervisor.restart(conversation.foreground.sessionId);
  return { text: `Sandbox set to ${override ?? `${service.settings.sandbox.mode} (default)`}. It applies from now on.${restartStoppedNote(stopped)}` };
}

