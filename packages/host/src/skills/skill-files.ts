import { cpSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from "node:fs";
import { basename, join, relative } from "node:path";
import { ActionError } from "../conversations/host-action.js";

const TMP = ".tmp-skill-copy";
const OLD = ".old-skill-copy";

/** A refusal for the model: what is wrong with the staged skill and what to do. */
export class SkillError extends ActionError {}

/**
 * `<workspace>/.skill` when it is a real folder, else null. A workspace is the agent's: a `.skill`
 * link would make the host read or write (or delete) skills wherever it points.
 */
export function workspaceSkillRoot(workspace: string): string | null {
  const root = join(workspace, ".skill");
  return lstatSync(root, { throwIfNoEntry: false })?.isDirectory() ? root : null;
}

/**
 * Replaces `dest` with a copy of `src` (without `src/.git`): copy to a sibling, swap by renames,
 * keep `dest/.git` (the upstream history). `repairSkillCopy` finishes or undoes a swap a crash cut short.
 */
export function replaceSkillDir(src: string, dest: string): void {
  const tmp = prepareSkillCopy(dest);
  cpSync(src, tmp, { recursive: true, filter: (from) => !(from === join(src, ".git")) });
  swapInSkillCopy(dest);
}

/** Repairs what a cut-short copy to `dest` left and returns the path a new copy is written to (absent). */
export function prepareSkillCopy(dest: string): string {
  repairSkillCopy(dest);
  mkdirSync(join(dest, ".."), { recursive: true });
  return dest + TMP;
}

/** Moves the complete copy at `prepareSkillCopy(dest)` into `dest`, keeping `dest/.git`. */
export function swapInSkillCopy(dest: string): void {
  const tmp = dest + TMP;
  const old = dest + OLD;
  if (present(dest)) renameSync(dest, old);
  renameSync(tmp, dest);
  keepGit(old, dest);
  rmSync(old, { recursive: true, force: true });
}

/**
 * Paths here are checked without following links: a workspace's `.skill/<name>` (or a planted
 * `<name>.old-skill-copy`) may be the agent's link to any folder on the host, and following it would
 * move that folder's `.git` into the workspace.
 */
function present(path: string): boolean {
  return lstatSync(path, { throwIfNoEntry: false }) !== undefined;
}
function realDir(path: string): boolean {
  return lstatSync(path, { throwIfNoEntry: false })?.isDirectory() ?? false;
}
/** Moves `old/.git` into `dest` when both are real folders and `dest` has none. */
function keepGit(old: string, dest: string): void {
  if (realDir(old) && realDir(join(old, ".git")) && realDir(dest) && !present(join(dest, ".git"))) renameSync(join(old, ".git"), join(dest, ".git"));
}

/** Leftovers of a replaceSkillDir cut short: a complete copy whose swap began is moved in; the rest is removed. */
export function repairSkillCopy(dest: string): void {
  const tmp = dest + TMP;
  const old = dest + OLD;
  if (!present(dest) && present(old)) renameSync(present(tmp) ? tmp : old, dest);
  if (present(old)) {
    keepGit(old, dest);
    rmSync(old, { recursive: true, force: true });
  }
  rmSync(tmp, { recursive: true, force: true });
}

/**
 * Repairs every interrupted copy in a skills folder (the store or a workspace's `.skill`): a host killed
 * mid-copy leaves `<name>.tmp-skill-copy` (maybe half written) or `<name>.old-skill-copy`, which a
 * worker would list as broken skills until the next action on that skill.
 */
export function repairSkillCopies(root: string): void {
  for (const name of readdirSync(root)) {
    if (name.endsWith(TMP)) repairSkillCopy(join(root, name.slice(0, -TMP.length)));
    else if (name.endsWith(OLD)) repairSkillCopy(join(root, name.slice(0, -OLD.length)));
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
