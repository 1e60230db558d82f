import { randomBytes } from "node:crypto";
import { promises as fs, type Stats } from "node:fs";
import path from "node:path";

/** lstat that answers `undefined` for a missing path instead of throwing. */
export async function lstatOrUndefined(p: string): Promise<Stats | undefined> {
  try {
    return await fs.lstat(p);
  } catch (error) {
    if (isErrno(error, "ENOENT") || isErrno(error, "ENOTDIR")) return undefined;
    throw error;
  }
}

export async function pathExists(p: string): Promise<boolean> {
  return (await lstatOrUndefined(p)) !== undefined;
}

/** True for a real directory (not a symlink to one). */
export async function isRealDirectory(p: string): Promise<boolean> {
  const stat = await lstatOrUndefined(p);
  return stat?.isDirectory() === true;
}

export async function ensureDir(p: string): Promise<void> {
  await fs.mkdir(p, { recursive: true });
}

/** Directory entries, sorted by name; `[]` when the directory is missing. */
export async function listDir(p: string): Promise<string[]> {
  try {
    return (await fs.readdir(p)).sort();
  } catch (error) {
    if (isErrno(error, "ENOENT") || isErrno(error, "ENOTDIR")) return [];
    throw error;
  }
}

/** Writes through a temporary file and a rename, so readers see the old or the new content, never half. */
export async function writeFileAtomic(file: string, content: string): Promise<void> {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${randomBytes(4).toString("hex")}.tmp`);
  const handle = await fs.open(tmp, "w");
  try {
    await handle.writeFile(content, "utf8");
    await handle.sync();
  } finally {
    await handle.close();
  }
  await fs.rename(tmp, file);
}

/** Writes `content` unless the file already holds exactly that (keeps reruns from touching files). */
export async function writeFileIfChanged(file: string, content: string): Promise<boolean> {
  try {
    if ((await fs.readFile(file, "utf8")) === content) return false;
  } catch (error) {
    if (!isErrno(error, "ENOENT")) throw error;
  }
  await ensureDir(path.dirname(file));
  await writeFileAtomic(file, content);
  return true;
}

/** Parsed JSON of a file, `undefined` if it is missing; a file that does not parse throws with its path. */
export async function readJsonFile(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await fs.readFile(file, "utf8");
  } catch (error) {
    if (isErrno(error, "ENOENT")) return undefined;
    throw error;
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new Error(`${file}: not valid JSON (${(error as Error).message})`, { cause: error });
  }
}

export type SymlinkOutcome = "kept" | "created" | "replaced" | "kept-directory" | "kept-file";

/**
 * Makes `link` a symlink to `target` (absolute). A correct link is kept; a symlink
 * pointing elsewhere (or dangling) is replaced; a real directory or file is kept as it
 * is, since it may hold user data.
 */
export async function ensureSymlink(link: string, target: string): Promise<SymlinkOutcome> {
  const stat = await lstatOrUndefined(link);
  if (stat === undefined) {
    await fs.symlink(target, link, "dir");
    return "created";
  }
  if (stat.isSymbolicLink()) {
    if ((await fs.readlink(link)) === target) return "kept";
    await fs.unlink(link);
    await fs.symlink(target, link, "dir");
    return "replaced";
  }
  return stat.isDirectory() ? "kept-directory" : "kept-file";
}

export interface MergeResult {
  moved: string[];
  conflicts: string[];
}

/**
 * Moves every entry of `from` into `into` that `into` does not have yet (by rename, so
 * symlinks and permissions are preserved). Entries present in both stay where they are
 * and are reported as conflicts; `from` is removed once it is empty.
 */
export async function mergeMoveEntries(from: string, into: string): Promise<MergeResult> {
  const result: MergeResult = { moved: [], conflicts: [] };
  if (!(await isRealDirectory(from))) return result;
  await ensureDir(into);
  for (const name of await listDir(from)) {
    const destination = path.join(into, name);
    if (await pathExists(destination)) {
      result.conflicts.push(name);
      continue;
    }
    await fs.rename(path.join(from, name), destination);
    result.moved.push(name);
  }
  if ((await listDir(from)).length === 0) await fs.rmdir(from);
  return result;
}

export function isErrno(error: unknown, code: string): boolean {
  return error instanceof Error && (error as NodeJS.ErrnoException).code === code;
}
