import { lstatSync, readdirSync, realpathSync, statSync } from "node:fs";
import { join } from "node:path";
import { hiddenPathProblem, withoutTrailingSlash } from "./sandbox-paths.js";

/** A hidden path (`sandbox.hidden_paths`, the config and env file, a well-known secret) as it is on disk now. */
export interface HiddenEntry {
  /** The path as listed. */
  listed: string;
  /** The real path: what a bind or an open descriptor shows, whichever link leads there. */
  real: string;
  kind: "dir" | "file";
  /** Device and inode: a hard link elsewhere (another path) opens the same file. */
  dev: number;
  ino: number;
  /** Links to it (`st_nlink`): more than one for a file means another path reaches it. */
  nlink: number;
}

/**
 * The hidden paths that exist now, each by its real path (one listed twice, or through two links, once). A
 * trailing slash is not part of what is hidden (`/srv/app/secret.env/` hides the file); an entry that goes
 * through a file (ENOTDIR) or a folder this user cannot search (EACCES) names nothing to hide. Nor does one whose
 * real path is, or holds, a folder every sandboxed command needs (`hiddenPathProblem`): a link on its way that a
 * tool can repoint (to `/usr`, say) would otherwise have every later command of the conversation run without it,
 * at each worker start again when the path is one the host remembered.
 */
export function hiddenEntries(paths: readonly string[]): HiddenEntry[] {
  const found = new Map<string, HiddenEntry>();
  for (const listed of paths) {
    const path = withoutTrailingSlash(listed);
    try {
      // Most listed paths are absent on a given machine: a stat that does not throw is much cheaper than a failing realpath.
      if (!lstatSync(path, { throwIfNoEntry: false })) continue;
      const real = realpathSync.native(path);
      if (hiddenPathProblem(real) !== null) continue;
      const info = statSync(real);
      if (!found.has(real)) found.set(real, { listed, real, kind: info.isDirectory() ? "dir" : "file", dev: info.dev, ino: info.ino, nlink: info.nlink });
    } catch {
      /* a dangling link, a path through a file, or unreachable to this user: nothing to hide */
    }
  }
  return [...found.values()];
}

/**
 * Every real path the hidden paths resolved to in this process's life (a worker's), so one listed through a
 * symlink a tool can rewrite (`<workspace>/link/secret.env`, `link` in the workspace or in shared/) stays hidden
 * where it led before the link was repointed: bubblewrap keeps masking that file (and binding the folders above
 * it, so it cannot be moved) and the file tools keep refusing it. A remembered path is looked at again like a
 * listed one: hidden while something is there. It is never forgotten (a false mask at worst, never a leak).
 * Beyond this process's life, the host remembers where the paths led at each worker start (its HiddenPathLedger)
 * and lists those real paths in `initialize.sandbox.hiddenPaths`; a real path first found later is reported to it
 * (`onRemembered`, `sandbox/hiddenPaths`).
 */
export class HiddenPathMemory {
  /** Real path -> the path it was listed as. */
  private readonly reals = new Map<string, string>();
  private readonly listeners = new Set<(found: { listed: string; real: string }) => void>();

  /**
   * `listener` is told each real path remembered from now on that is not the listed path itself (a worker reports
   * them to the host, which keeps them for later workers). Returns the unsubscribe.
   */
  onRemembered(listener: (found: { listed: string; real: string }) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * hiddenEntries of `paths` and of every real path an earlier lookup found; what this one finds is remembered,
   * at most MAX_REMEMBERED_PER_PATH real paths per listed path (the earliest: repointing a link over and over
   * neither pushes the real target out nor makes every later lookup longer).
   */
  entries(paths: readonly string[]): HiddenEntry[] {
    const found = hiddenEntries([...paths, ...this.reals.keys()]).map((e) => ({ ...e, listed: this.reals.get(e.listed) ?? e.listed }));
    for (const e of found) {
      if (this.reals.has(e.real) || this.rememberedFor(e.listed) >= MAX_REMEMBERED_PER_PATH) continue;
      this.reals.set(e.real, e.listed);
      if (e.real !== withoutTrailingSlash(e.listed)) for (const listener of this.listeners) listener({ listed: e.listed, real: e.real });
    }
    return found;
  }

  private rememberedFor(listed: string): number {
    let count = 0;
    for (const listedAs of this.reals.values()) if (listedAs === listed) count++;
    return count;
  }
}

/** Real paths remembered per hidden path, by a worker (HiddenPathMemory) and by the host (its HiddenPathLedger). */
export const MAX_REMEMBERED_PER_PATH = 16;

/** The worker's memory: bubblewrap's masks and the file tools' checks share it. */
export const processHiddenMemory = new HiddenPathMemory();

/** Entries looked at inside hidden folders, all folders together (a big folder someone hid is not walked to its end). */
export const MAX_HIDDEN_FOLDER_ENTRIES = 5000;

/** A file inside a hidden folder that other hard links reach. */
export interface LinkedFile {
  path: string;
  dev: number;
  ino: number;
  nlink: number;
}

/**
 * The regular files with more than one link under the hidden folder `dir` (symlinks not followed),
 * looking at `budget.left` entries at most (shared by the caller's folders, counted down).
 */
export function linkedFilesUnder(dir: string, budget: { left: number }, out: LinkedFile[] = []): LinkedFile[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return out;
  }
  for (const name of names) {
    if (--budget.left < 0) return out;
    const path = join(dir, name);
    const info = lstatSync(path, { throwIfNoEntry: false });
    if (!info) continue;
    if (info.isDirectory()) linkedFilesUnder(path, budget, out);
    else if (info.isFile() && info.nlink > 1) out.push({ path, dev: info.dev, ino: info.ino, nlink: info.nlink });
  }
  return out;
}

/** `path` is `dir` or inside it. */
export function isSameOrUnder(path: string, dir: string): boolean {
  return path === dir || path.startsWith(dir.endsWith("/") ? dir : `${dir}/`);
}
