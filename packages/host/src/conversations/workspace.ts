import { existsSync, mkdirSync, renameSync, symlinkSync, lstatSync } from "node:fs";
import { mkdir, symlink } from "node:fs/promises";
import { join } from "node:path";
import { ConfinedDir, MakeDirsError } from "@starling/protocol";
import { present, repairSkillCopies, replaceSkillDir, withSkillsDir, withWorkspaceSkills } from "../skills/skill-files.js";
import { SkillStore } from "../skills/skill-store.js";

export function conversationDir(workdir: string, conversationId: string): string {
  return join(workdir, "conversations", conversationId);
}

/**
 * Creates or refreshes a conversation workspace (ARCHITECTURE §7): attachments/incoming, a `shared`
 * link to the runtime store, and the skills of `rundir/.skill` it does not have yet. Safe to run every start.
 */
export function seedWorkspace(workdir: string, conversationId: string): string {
  const dir = conversationDir(workdir, conversationId);
  mkdirSync(dir, { recursive: true });
  makeIncoming(dir);
  const shared = join(workdir, "rundir", "shared");
  mkdirSync(shared, { recursive: true });
  const link = join(dir, "shared");
  if (!existsSync(link) && !isDanglingLink(link)) symlinkSync(shared, link, "dir");
  if (!lstatSync(join(dir, ".skill"), { throwIfNoEntry: false })) mkdirSync(join(dir, ".skill"));
  seedSkills(workdir, dir);
  return dir;
}

/**
 * `seedWorkspace` with its folders made off the event loop (libuv's thread pool): a flood of new chats
 * creates a workspace per conversation, and synchronous mkdir/symlink calls held up every admission.
 */
export async function seedWorkspaceAsync(workdir: string, conversationId: string): Promise<string> {
  const dir = conversationDir(workdir, conversationId);
  const shared = join(workdir, "rundir", "shared");
  await Promise.all([mkdir(dir, { recursive: true }), mkdir(shared, { recursive: true })]);
  makeIncoming(dir);
  await symlink(shared, join(dir, "shared"), "dir").catch(ignoreCode("EEXIST"));
  await mkdir(join(dir, ".skill")).catch(ignoreCode("EEXIST"));
  seedSkills(workdir, dir);
  return dir;
}

/**
 * `attachments/incoming`, made through descriptors (ConfinedDir): the workspace is the agent's, and a link it
 * put at `attachments` is not followed (nothing is made where it leads; Telegram downloads then say so).
 */
function makeIncoming(dir: string): void {
  try {
    ConfinedDir.open(dir, dir).makeDirs(["attachments", "incoming"]).close();
  } catch (error) {
    if (!(error instanceof MakeDirsError)) throw error;
  }
}

const ignoreCode = (code: string) => (err: unknown) => {
  if ((err as NodeJS.ErrnoException).code !== code) throw err;
};

/** Only skills the workspace lacks: a copy the agent is editing (staged for skill_update) is kept. */
function seedSkills(workdir: string, dir: string): void {
  // skill_create/skill_update/skill_delete sync every workspace themselves (skills/skill-store.ts).
  const store = join(workdir, "rundir", ".skill");
  withWorkspaceSkills(dir, (root) => {
    if (existsSync(store)) withSkillsDir(store, repairSkillCopies);
    repairSkillCopies(root);
    for (const name of new SkillStore(workdir).names()) {
      if (!present(root, name)) replaceSkillDir(join(store, name), root, name);
    }
  });
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
