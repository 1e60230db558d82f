import { PROTOCOL_VERSION } from "@starling/protocol";
import type { SessionLaunch } from "../sessions/supervisor.js";
import type { ConversationRecord } from "../state/records.js";
import type { HostSettings } from "./settings.js";
import { conversationRemote } from "./remote-command.js";
import { conversationDir } from "./workspace.js";

/** How a conversation's worker is started: model, compaction and, in bubblewrap mode, the sandbox argv. */
export function buildLaunch(settings: HostSettings, conversation: ConversationRecord, sessionId: string): SessionLaunch {
  const alias = conversation.modelAlias ?? Object.keys(settings.chatModels)[0];
  const model = alias ? settings.chatModels[alias] : undefined;
  if (!model) throw new Error(`conversation ${conversation.id} has no usable chat model (alias ${alias ?? "none"})`);
  const workspace = conversationDir(settings.workdir, conversation.id);
  const mode = conversation.sandboxOverride ?? settings.sandbox.mode;
  const command: [string, ...string[]] =
    mode === "bubblewrap" ? bubblewrapArgv(settings, workspace) : [...settings.workerCommand];
  return {
    init: {
      protocolVersion: PROTOCOL_VERSION,
      sessionId,
      sessionType: "foreground",
      workspace,
      model,
      compression: settings.compression ?? undefined,
      helperModels: Object.keys(settings.helperModels).length ? settings.helperModels : undefined,
      remote: conversationRemote(conversation),
      toolDeny: settings.toolDeny?.length ? settings.toolDeny : undefined,
    },
    command,
    cwd: workspace,
    env: { ...process.env, ...settings.workerEnv },
  };
}

/**
 * The worker inside bubblewrap: the system read-only, the workspace (and the shared store it links to)
 * writable, private /tmp, its own PID namespace, dies with the host.
 */
function bubblewrapArgv(settings: HostSettings, workspace: string): [string, ...string[]] {
  const shared = `${settings.workdir}/rundir/shared`;
  return [
    settings.sandbox.bubblewrapBinary,
    "--die-with-parent",
    "--new-session",
    "--unshare-pid",
    "--ro-bind", "/", "/",
    "--dev", "/dev",
    "--proc", "/proc",
    "--tmpfs", "/tmp",
    "--bind", workspace, workspace,
    "--bind", shared, shared,
    "--chdir", workspace,
    ...settings.workerCommand,
  ];
}
