import { cpSync, existsSync, mkdirSync, readdirSync, renameSync, symlinkSync, lstatSync } from "node:fs";
import { join } from "node:path";

export function conversationDir(workdir: string, conversationId: string): string {
  return join(workdir, "conversations", conversationId);
}

/**
 * Creates or refreshes a conversation workspace (ARCHITECTURE §7): attachments/incoming, a `shared`
 * link to the runtime store, and the skills of `rundir/.skill` copied in. Safe to run every start.
 */
export function seedWorkspace(workdir: string, conversationId: string): string {
  const dir = conversationDir(workdir, conversationId);
  mkdirSync(join(dir, "attachments", "incoming"), { recursive: true });
  const shared = join(workdir, "rundir", "shared");
  mkdirSync(shared, { recursive: true });
  const link = join(dir, "shared");
  if (!existsSync(link) && !isDanglingLink(link)) symlinkSync(shared, link, "dir");
  const skills = join(workdir, "rundir", ".skill");
  if (existsSync(skills)) {
    for (const name of readdirSync(skills)) {
      cpSync(join(skills, name), join(dir, ".skill", name), { recursive: true, force: true });
    }
  }
  return dir;
}

function isDanglingLink(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
}

/** Moves a session's database aside (for `/new`); the worker must already be stopped. */
export function archiveSessionData(workspace: string, sanitisedSessionId: string): string | null {
  const from = join(workspace, ".starling", "sessions", sanitisedSessionId);
  if (!existsSync(from)) return null;
  const archive = join(workspace, ".starling", "archive");
  mkdirSync(archive, { recursive: true });
  const to = join(archive, `${sanitisedSessionId}-${new Date().toISOString().replace(/[:.]/g, "-")}`);
  renameSync(from, to);
  return to;
}
