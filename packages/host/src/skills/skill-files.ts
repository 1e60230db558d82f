import { constants, copyFileSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, renameSync, rmdirSync, symlinkSync, unlinkSync } from "node:fs";
import { basename, join, relative } from "node:path";
import { ConfinedDir } from "@starling/protocol";
import { ActionError } from "../conversations/host-action.js";

const TMP = ".tmp-skill-copy";
const OLD = ".old-skill-copy";

/** A refusal for the model: what is wrong with the staged skill and what to do. */
export class SkillError extends ActionError {}

/**
 * Skills folders are held open and every name in them is reached through the folder's descriptor
 * (ConfinedDir): a workspace's `.skill` is the agent's, and its background commands may swap `.skill`,
 * a skill's folder or a copy being filled for a link at any moment. Checking a path and then writing
 * through it would let such a swap make the host (unsandboxed) write, move or remove files wherever the
 * link points; through descriptors, with `O_NOFOLLOW` on every name, nothing reached leaves the folder.
 */

/** Runs `fn` on the skills folder at `path` (the store's `rundir/.skill`, made if missing) held open. */
export function withSkillsDir<T>(path: string, fn: (root: ConfinedDir) => T): T {
  mkdirSync(path, { recursive: true });
  return holding(ConfinedDir.open(path, path), fn);
}

/** Runs `fn` on `<workspace>/.skill` held open; null (and `fn` not run) when it is not a real folder (a link). */
export function withWorkspaceSkills<T>(workspace: string, fn: (root: ConfinedDir) => T): T | null {
  let ws: ConfinedDir;
  try {
    ws = ConfinedDir.open(workspace, workspace);
  } catch {
    return null;
  }
  let root: ConfinedDir | null;
  try {
    root = ws.tryOpenDir(".skill");
  } finally {
    ws.close();
  }
  return root ? holding(root, fn) : null;
}

function holding<T>(dir: ConfinedDir, fn: (dir: ConfinedDir) => T): T {
  try {
    return fn(dir);
  } finally {
    dir.close();
  }
}

/**
 * Replaces `root/name` with a copy of `src` (without `src/.git`): copy to a sibling, swap by renames,
 * keep `name/.git` (the upstream history). `repairSkillCopy` finishes or undoes a swap a crash cut short.
 */
export function replaceSkillDir(src: string, root: ConfinedDir, name: string): void {
  prepareSkillCopy(root, name);
  copyTree(src, root, name + TMP, true);
  swapInSkillCopy(root, name);
}

/** Repairs what a cut-short copy to `root/name` left and returns the path a new copy is written to (absent; valid while `root` is open). */
export function prepareSkillCopy(root: ConfinedDir, name: string): string {
  repairSkillCopy(root, name);
  return root.entry(name + TMP);
}

/** Moves the complete copy at `prepareSkillCopy(root, name)` into `root/name`, keeping its `.git`. */
export function swapInSkillCopy(root: ConfinedDir, name: string): void {
  if (present(root, name)) renameSync(root.entry(name), root.entry(name + OLD));
  renameSync(root.entry(name + TMP), root.entry(name));
  keepGit(root, name + OLD, name);
  removeEntry(root, name + OLD);
}

/** Leftovers of a replaceSkillDir cut short: a complete copy whose swap began is moved in; the rest is removed. */
export function repairSkillCopy(root: ConfinedDir, name: string): void {
  if (!present(root, name) && present(root, name + OLD)) renameSync(root.entry(present(root, name + TMP) ? name + TMP : name + OLD), root.entry(name));
  if (present(root, name + OLD)) {
    keepGit(root, name + OLD, name);
    removeEntry(root, name + OLD);
  }
  removeEntry(root, name + TMP);
}

/**
 * Repairs every interrupted copy in a skills folder (the store or a workspace's `.skill`): a host killed
 * mid-copy leaves `<name>.tmp-skill-copy` (maybe half written) or `<name>.old-skill-copy`, which a
 * worker would list as broken skills until the next action on that skill.
 */
export function repairSkillCopies(root: ConfinedDir): void {
  for (const name of readdirSync(listable(root))) {
    if (name.endsWith(TMP)) repairSkillCopy(root, name.slice(0, -TMP.length));
    else if (name.endsWith(OLD)) repairSkillCopy(root, name.slice(0, -OLD.length));
  }
}

/** Whether `root/name` exists (a link counts; nothing is followed). */
export function present(root: ConfinedDir, name: string): boolean {
  return lstatSync(root.entry(name), { throwIfNoEntry: false }) !== undefined;
}

function listable(dir: ConfinedDir): string {
  return dir.procPath ?? dir.abs;
}

/** Moves `old/.git` into `dest` when both are real folders and `dest` has none (a link is never followed). */
function keepGit(root: ConfinedDir, old: string, dest: string): void {
  const from = root.tryOpenDir(old);
  const to = from && root.tryOpenDir(dest);
  try {
    if (from && to && lstatSync(from.entry(".git"), { throwIfNoEntry: false })?.isDirectory() && !present(to, ".git")) renameSync(from.entry(".git"), to.entry(".git"));
  } finally {
    from?.close();
    to?.close();
  }
}

/**
 * Copies the host's `src` (a store skill) to the new `into/name`: every folder is made and then opened
 * through its parent without following a link, every file created with O_EXCL (never through a link).
 * A link in the store (put there by hand) is copied as a link.
 */
function copyTree(src: string, into: ConfinedDir, name: string, skipGit: boolean): void {
  const stat = lstatSync(src);
  if (stat.isSymbolicLink()) symlinkSync(readlinkSync(src), into.entry(name));
  else if (stat.isFile()) copyFileSync(src, into.entry(name), constants.COPYFILE_EXCL);
  else if (stat.isDirectory()) {
    mkdirSync(into.entry(name), stat.mode & 0o777);
    holding(into.openDir(name), (dir) => {
      for (const entry of readdirSync(src)) if (!(skipGit && entry === ".git")) copyTree(join(src, entry), dir, entry, false);
    });
  }
}

const MAX_DEPTH = 256;
/** Codes of a name swapped while it is removed (a folder for a link or file, new entries): look again. */
const SWAPPED = new Set(["ENOENT", "ELOOP", "ENOTDIR", "EISDIR", "EPERM", "ENOTEMPTY"]);

/**
 * Removes `dir/name` (a file, a link or a whole folder) without following a link anywhere: each folder is
 * emptied through its own descriptor. A name swapped meanwhile is looked at again, a few times.
 */
export function removeEntry(dir: ConfinedDir, name: string, depth = 0): void {
  if (depth > MAX_DEPTH) throw new Error(`cannot remove ${join(dir.abs, name)}: folders nested deeper than ${MAX_DEPTH}`);
  for (let attempt = 1; ; attempt += 1) {
    const path = dir.entry(name);
    const stat = lstatSync(path, { throwIfNoEntry: false });
    if (!stat) return;
    try {
      if (!stat.isDirectory()) return unlinkSync(path);
      holding(dir.openDir(name), (sub) => {
        for (const entry of readdirSync(listable(sub))) removeEntry(sub, entry, depth + 1);
      });
      return rmdirSync(path);
    } catch (error) {
      if (attempt >= 3 || !SWAPPED.has((error as NodeJS.ErrnoException).code ?? "")) throw error;
    }
  }
}

/** Whether two skill folders hold the same files with the same bytes (`.git` aside). */
export function sameSkillFiles(a: string, b: string): boolean {
  const list = (root: string): string[] => {
    const out: string[] = [];
    const walk = (at: string) => {
      for (const e of readdirSync(at, { withFileTypes: true })) {
        if (at === root && e.name === ".git") continue;
        if (e.isDirectory()) walk(join(at, e.name));
        else out.push(relative(root, join(at, e.name)));
      }
    };
    walk(root);
    return out.sort();
  };
  if (!existsSync(a) || !existsSync(b)) return false;
  const files = list(a);
  const other = list(b);
  return files.length === other.length && files.every((f, i) => f === other[i] && readFileSync(join(a, f)).equals(readFileSync(join(b, f))));
}

/** Is `name` a leftover of an interrupted copy (not a skill)? */
export function isCopyLeftover(name: string): boolean {
  const base = basename(name);
  return base.endsWith(TMP) || base.endsWith(OLD);
}
