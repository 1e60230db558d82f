import { createHash } from "node:crypto";
import { type FileHandle, lstat, open, readdir, realpath } from "node:fs/promises";
import { join, relative, sep } from "node:path";
import { type ConfinedDir, describeSkillMd, SKILL_LIMITS, skillNameProblem } from "@starling/protocol";

/** The workspace folder holding skills (ARCHITECTURE §7). */
export const SKILL_DIR = ".skill";

export interface SkillInfo {
  name: string;
  description: string;
  /** SKILL.md as read. */
  content: string;
  /** Short hash of `content`: what "the skill changed" compares. */
  version: string;
}

export interface SkillProblem {
  name: string;
  problem: string;
}

export interface SkillScan {
  skills: SkillInfo[];
  /** Skills that could not be read or parsed: reported in the system prompt, never fatal. */
  problems: SkillProblem[];
  /** Skill folders after the read ones, not read (SCAN_SKILLS_MAX): skill_load reads any of them by name. */
  unread: number;
  /** The folders the scan looked at, in order (what its result depends on besides the listing). */
  folders: string[];
}

export const EMPTY_SCAN: SkillScan = { skills: [], problems: [], unread: 0, folders: [] };

/**
 * Opens a SKILL.md (its real path) for reading. The session's is the file tools' checked open
 * (ToolRuntime.openFile): the worker reads SKILL.md outside any sandbox, so a SKILL.md that is a link (or a
 * hard link) to a file of `sandbox.hidden_paths` is refused like a file_read of it.
 */
export type SkillFileOpener = (abs: string) => Promise<FileHandle>;

const plainOpen: SkillFileOpener = (abs) => open(abs, "r");

/**
 * A scan reads SKILL.md files (each up to 256 KB) in name order until it has this many skills, what the
 * system prompt lists (the first 50), and never more than SCAN_FOLDERS_MAX folders (broken ones are
 * read too): a store of thousands would otherwise be read at every change. The rest are counted.
 */
export const SCAN_SKILLS_MAX = 50;
export const SCAN_FOLDERS_MAX = 200;

export function skillVersion(content: string): string {
  return createHash("sha256").update(content).digest("hex").slice(0, 12);
}

/**
 * The first skills in `<workspace>/.skill/` (SCAN_SKILLS_MAX): each sub-folder (by name) that has a
 * SKILL.md. A SKILL.md that is too large, unreadable, malformed or a link out of the workspace becomes
 * a problem entry. Folders after the bound are only counted (`unread`).
 */
export async function scanSkills(workspace: string, resolvedRoot?: string, openSkill: SkillFileOpener = plainOpen): Promise<SkillScan> {
  const root = resolvedRoot ?? (await workspaceRoot(workspace));
  const names = await skillFolderNames(root);
  const scan: SkillScan = { skills: [], problems: [], unread: 0, folders: [] };
  let read = 0;
  for (const [index, name] of names.entries()) {
    if (scan.skills.length >= SCAN_SKILLS_MAX || read >= SCAN_FOLDERS_MAX) {
      scan.unread = names.length - index;
      break;
    }
    scan.folders.push(name);
    const found = await readSkillNamed(root, name, openSkill);
    if (!found) continue;
    read += 1;
    if ("problem" in found) scan.problems.push(found);
    else scan.skills.push(found);
  }
  return scan;
}

/** The names of `.skill`'s folders (and links), sorted; nothing is read. */
export async function skillFolderNames(root: string): Promise<string[]> {
  const entries = await readdir(join(root, SKILL_DIR), { withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isDirectory() || e.isSymbolicLink()).map((e) => e.name).sort();
}

/** The skill `.skill/<name>` of the workspace at `root` (resolved), a problem, or null when it has no SKILL.md. */
export async function readSkillNamed(root: string, name: string, openSkill: SkillFileOpener = plainOpen): Promise<SkillInfo | SkillProblem | null> {
  const file = join(root, SKILL_DIR, name, "SKILL.md");
  if (!(await lstat(file).catch(() => null))) return null;
  const read = await readSkill(root, name, file, openSkill);
  return "problem" in read ? { name, problem: read.problem } : read;
}

/** The workspace with links resolved (SKILL.md links may not point outside it). */
export function workspaceRoot(workspace: string): Promise<string> {
  return realpath(workspace).catch(() => workspace);
}

async function readSkill(root: string, name: string, file: string, openSkill: SkillFileOpener): Promise<SkillInfo | { problem: string }> {
  const nameProblem = skillNameProblem(name);
  if (nameProblem) return { problem: `folder name: ${nameProblem}` };
  try {
    const real = await realpath(file);
    const rel = relative(root, real);
    if (rel.startsWith(`..${sep}`) || rel === ".." || rel.startsWith(sep)) return { problem: "SKILL.md is a link to outside the workspace" };
    if (!(await lstat(real)).isFile()) return { problem: "SKILL.md is not a regular file" };
    const handle = await openSkill(real);
    let content: string;
    try {
      const stat = await handle.stat();
      if (!stat.isFile()) return { problem: "SKILL.md is not a regular file" };
      if (stat.size > SKILL_LIMITS.skillMdBytes) return { problem: `SKILL.md is ${stat.size} bytes; the limit is ${SKILL_LIMITS.skillMdBytes}` };
      content = await handle.readFile("utf8");
    } finally {
      await handle.close();
    }
    const described = describeSkillMd(content);
    if ("error" in described) return { problem: described.error };
    return { name, description: described.description || "(no description)", content, version: skillVersion(content) };
  } catch (err) {
    return { problem: `SKILL.md cannot be read: ${err instanceof Error ? err.message : String(err)}` };
  }
}

/**
 * The other files of a skill folder (relative paths, at most `limit`), for skill_load: `dir` is the skill's folder,
 * opened and checked (WorkspacePaths.openDir). Sub-folders are opened through it without following a link, so a
 * folder swapped for a link to outside meanwhile is passed over (a link is listed by name, never followed); entries
 * `hidden` names (sandbox.hidden_paths, by real path) are left out.
 */
export async function skillFiles(dir: ConfinedDir, hidden: (abs: string) => boolean, limit = 100): Promise<{ files: string[]; more: boolean }> {
  const files: string[] = [];
  let more = false;
  const walk = async (folder: ConfinedDir, rel: string): Promise<void> => {
    const entries = await folder.list().catch(() => []);
    for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
      if (e.name === ".git" || hidden(`${folder.abs}/${e.name}`)) continue;
      const path = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) {
        const sub = folder.tryOpenDir(e.name);
        if (sub === null) continue;
        try {
          await walk(sub, path);
        } finally {
          sub.close();
        }
      } else if (path !== "SKILL.md") {
        if (files.length >= limit) more = true;
        else files.push(path);
      }
    }
  };
  await walk(dir, "");
  return { files, more };
}
