import path from "node:path";

/** Name of the file holding the workdir schema version (a decimal integer and a newline). */
export const WORKDIR_VERSION_FILE = "WORKDIR_VERSION";

/** Absolute paths of the fixed parts of a workdir (ARCHITECTURE §7). */
export interface WorkdirPaths {
  root: string;
  versionFile: string;
  state: string;
  hostDb: string;
  /** Files left by migrations for the host to import into its database (e.g. `stellaclaw.json`). */
  imports: string;
  logs: string;
  hostLog: string;
  rundir: string;
  skills: string;
  shared: string;
  conversations: string;
  /** Per-conversation audit logs (`<conversation id>.jsonl`), outside every workspace. */
  audit: string;
}

/** Paths of a workdir; `dir` is resolved against the current directory. */
export function workdirPaths(dir: string): WorkdirPaths {
  const root = path.resolve(dir);
  return {
    root,
    versionFile: path.join(root, WORKDIR_VERSION_FILE),
    state: path.join(root, "state"),
    hostDb: path.join(root, "state", "host"),
    imports: path.join(root, "state", "import"),
    logs: path.join(root, "logs"),
    hostLog: path.join(root, "logs", "host.log"),
    rundir: path.join(root, "rundir"),
    skills: path.join(root, "rundir", ".skill"),
    shared: path.join(root, "rundir", "shared"),
    conversations: path.join(root, "conversations"),
    audit: path.join(root, "audit"),
  };
}

/** `<workdir>/audit/<conversationId>.jsonl`: the conversation's append-only audit log (same id rules as its workspace). */
export function auditLogPath(dir: string, conversationId: string): string {
  if (!isSafeFolderName(conversationId)) {
    throw new Error(`invalid conversation id ${JSON.stringify(conversationId)}: use letters, digits, '_', '.', '-'`);
  }
  return path.join(workdirPaths(dir).audit, `${conversationId}.jsonl`);
}

const SAFE_NAME = /^[A-Za-z0-9_.-]+$/;

/** True when `name` can be used as one path segment: safe characters only, not `.`/`..`-like. */
export function isSafeFolderName(name: string): boolean {
  return SAFE_NAME.test(name) && !/^\.+$/.test(name) && name.length <= 200;
}

/**
 * The workspace folder of a conversation: `<workdir>/conversations/<conversationId>`.
 * Throws when the id could escape the folder (`..`, `/`, …) — conversation ids are
 * `<channel id>-<6-digit index>` and never need such characters.
 */
export function conversationWorkspace(dir: string, conversationId: string): string {
  if (!isSafeFolderName(conversationId)) {
    throw new Error(
      `invalid conversation id ${JSON.stringify(conversationId)}: use letters, digits, '_', '.', '-' (e.g. "telegram-000001")`,
    );
  }
  return path.join(workdirPaths(dir).conversations, conversationId);
}
