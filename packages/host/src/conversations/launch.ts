import { join } from "node:path";
import { PROTOCOL_VERSION, sessionStateDir } from "@starling/protocol";
import { modelSecrets, toolSandbox, withheldSecretDigests, workerEnvironment } from "../security/worker-security.js";
import { LaunchRefused, type SessionLaunch } from "../sessions/supervisor.js";
import type { CodexAuthority } from "../models/codex-auth.js";
import type { ConversationRecord } from "../state/records.js";
import type { HostSettings } from "./settings.js";
import type { SessionType } from "./session-index.js";
import { conversationRemote } from "./remote-command.js";
import { conversationDir } from "./workspace.js";
import { conversationMcpServers, mcpSecrets } from "./mcp-servers.js";
import { HOST_ACTIONS } from "./coordinate.js";
import { withReasoningEffort } from "./reasoning-command.js";

/**
 * How a conversation's worker is started: model, compaction, the model keys it needs and how its
 * tool processes start. The worker itself always runs unwrapped; in bubblewrap mode it wraps each
 * tool process (docs/SECURITY.md says why).
 */
export function buildLaunch(
  settings: HostSettings,
  conversation: ConversationRecord,
  sessionId: string,
  sessionType: SessionType,
  modelAlias?: string,
): SessionLaunch {
  // A background agent may run on another model than the conversation (start_background_agent {model}).
  const alias = modelAlias ?? conversation.modelAlias ?? Object.keys(settings.chatModels)[0];
  const model = alias ? settings.chatModels[alias] : undefined;
  if (!model) {
    // A background agent's own model may have left the config since it started: name that alias, not the conversation's.
    const whose = modelAlias !== undefined ? `session ${sessionId}` : `conversation ${conversation.id}`;
    throw new LaunchRefused(`${whose} has no usable chat model (alias ${alias ?? "none"}${alias ? " is not a chat model in the config" : ""})`);
  }
  const workspace = conversationDir(settings.workdir, conversation.id);
  const mode = conversation.sandboxOverride ?? settings.sandbox.mode;
  const mcpServers = conversationMcpServers(settings, conversation);
  const models = [model, ...Object.values(settings.helperModels)];
  // A codex session gets the current access token and account id; the refresh token stays here (models/codex-auth.ts).
  const codex = settings.codexAuth && models.some((m) => m.provider_type === "codex_subscription") ? codexSecrets(settings.codexAuth) : {};
  const secrets = { ...modelSecrets(settings, models), ...mcpSecrets(settings, mcpServers), ...codex };
  return {
    init: {
      protocolVersion: PROTOCOL_VERSION,
      sessionId,
      sessionType,
      hostActions: HOST_ACTIONS,
      workspace,
      // The host names the session's database folder (one sanitising rule, shared with /new's archive and the migrations).
      dataDir: join(sessionStateDir(workspace, sessionId), "db"),
      model: withReasoningEffort(model, conversation.reasoningEffort),
      compression: settings.compression ?? undefined,
      helperModels: Object.keys(settings.helperModels).length ? settings.helperModels : undefined,
      secrets: Object.keys(secrets).length ? secrets : undefined,
      secretDigests: withheldSecretDigests(settings, secrets),
      sandbox: toolSandbox(settings, mode),
      remote: conversationRemote(conversation),
      toolDeny: settings.toolDeny?.length ? settings.toolDeny : undefined,
      webPrivateNetworks: settings.webPrivateNetworks || undefined,
      mcpServers,
    },
    command: [...settings.workerCommand],
    cwd: workspace,
    env: workerEnvironment(settings),
  };
}

/** How a warm spare worker starts: as every launch above (same command and environment), in the workdir until `initialize`. */
export function spareLaunch(settings: HostSettings): Omit<SessionLaunch, "init"> {
  return { command: [...settings.workerCommand], cwd: settings.workdir, env: workerEnvironment(settings) };
}

/** The ChatGPT sign-in for a codex session; none found is for the operator to fix (`codex login`), not a retry. */
function codexSecrets(auth: CodexAuthority): Record<string, string> {
  try {
    return auth.secrets();
  } catch (err) {
    throw new LaunchRefused(err instanceof Error ? err.message : String(err));
  }
}
