import { loadPicomatch } from "./lazy-deps.js";
import type { ConfinedDir } from "@starling/protocol";
import { ToolError } from "./errors.js";

/** Folders glob and grep do not descend into (unless the search starts inside one). */
export const SKIPPED_DIRS: ReadonlySet<string> = new Set([".git", "node_modules", ".starling", ".output"]);
/** Entries one search may visit before it stops and says so. */
export const MAX_WALK_ENTRIES = 100_000;

export interface WalkedFile {
  /** Real path when its folder was opened (for messages). */
  abs: string;
  /** Relative to the walk's base, with `/`. */
  rel: string;
  /** A path that reaches the file through its open folder; valid only until the walk goes on. */
  entry: string;
}

export interface WalkStats {
  visited: number;
  /** The walk stopped at MAX_WALK_ENTRIES. */
  cut: boolean;
}

/**
 * Regular files under `base` (a checked open folder, closed by the caller), depth first, names sorted.
 * Each sub-folder is opened through its parent without following a symlink, so a folder swapped for
 * a link during the walk is passed over, not followed out of the workspace. Symlinks are not followed,
 * SKIPPED_DIRS are not entered, unreadable folders are passed over, and so are the files and folders
 * `hidden` names (by real path: `sandbox.hidden_paths`, WorkspacePaths.hiddenFilter).
 */
export async function* walkFiles(base: ConfinedDir, signal: AbortSignal, stats: WalkStats, hidden: (abs: string) => boolean): AsyncGenerator<WalkedFile> {
  yield* walkDir(base, "", signal, stats, hidden);
}

async function* walkDir(dir: ConfinedDir, rel: string, signal: AbortSignal, stats: WalkStats, hidden: (abs: string) => boolean): AsyncGenerator<WalkedFile, boolean> {
  if (signal.aborted) throw new ToolError("aborted", "Search interrupted: the turn was cancelled or interrupted.");
  const entries = await dir.list().catch(() => []);
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const subdirs: string[] = [];
  for (const entry of entries) {
    stats.visited += 1;
    if (stats.visited > MAX_WALK_ENTRIES) {
      stats.cut = true;
      return false;
    }
    if (hidden(`${dir.abs}/${entry.name}`)) continue;
    if (entry.isDirectory() && !SKIPPED_DIRS.has(entry.name)) subdirs.push(entry.name);
    else if (entry.isFile()) yield { abs: `${dir.abs}/${entry.name}`, rel: rel ? `${rel}/${entry.name}` : entry.name, entry: dir.entry(entry.name) };
  }
  for (const name of subdirs) {
    const sub = dir.tryOpenDir(name);
    if (sub === null) continue;
    try {
      if (!(yield* walkDir(sub, rel ? `${rel}/${name}` : name, signal, stats, hidden))) return false;
    } finally {
      sub.close();
    }
  }
  return true;
}

/**
 * A matcher for a glob on base-relative paths. Patterns without `/` match the file name at any
 * depth (`*.ts` finds `src/a.ts`); `**` crosses folders; dot files match.
 */
export async function globMatcher(pattern: string): Promise<(rel: string) => boolean> {
  const picomatch = await loadPicomatch();
  const cleaned = pattern.replace(/^\.\//, "");
  try {
    return picomatch(cleaned, { dot: true, basename: !cleaned.includes("/") });
  } catch (error) {
    throw new ToolError("invalid_arguments", `Invalid glob pattern ${JSON.stringify(pattern)}: ${(error as Error).message}`);
  }
}

/** Joins a display folder and a relative path (`.` + `a/b` → `a/b`). */
export function joinDisplay(dir: string, rel: string): string {
  if (dir === "." || dir === "") return rel;
  return rel ? `${dir}/${rel}` : dir;
}
