import { opendir } from "node:fs/promises";
import { join } from "node:path";
import { loadPicomatch } from "./lazy-deps.js";
import { ToolError } from "./errors.js";

/** Folders glob and grep do not descend into (unless the search starts inside one). */
export const SKIPPED_DIRS: ReadonlySet<string> = new Set([".git", "node_modules", ".starling", ".output"]);
/** Entries one search may visit before it stops and says so. */
export const MAX_WALK_ENTRIES = 100_000;

export interface WalkedFile {
  abs: string;
  /** Relative to the walk's base, with `/`. */
  rel: string;
}

export interface WalkStats {
  visited: number;
  /** The walk stopped at MAX_WALK_ENTRIES. */
  cut: boolean;
}

/**
 * Regular files under `base`, depth first, names sorted. Symlinks are not followed (they could lead
 * out of the workspace), SKIPPED_DIRS are not entered, unreadable folders are passed over.
 */
export async function* walkFiles(base: string, signal: AbortSignal, stats: WalkStats): AsyncGenerator<WalkedFile> {
  const stack: Array<{ abs: string; rel: string }> = [{ abs: base, rel: "" }];
  while (stack.length > 0) {
    const dir = stack.pop();
    if (!dir) break;
    if (signal.aborted) throw new ToolError("aborted", "Search interrupted: the turn was cancelled or interrupted.");
    const entries: Array<{ name: string; isDir: boolean; isFile: boolean }> = [];
    try {
      for await (const entry of await opendir(dir.abs)) {
        entries.push({ name: entry.name, isDir: entry.isDirectory(), isFile: entry.isFile() });
      }
    } catch {
      continue;
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const subdirs: Array<{ abs: string; rel: string }> = [];
    for (const entry of entries) {
      stats.visited += 1;
      if (stats.visited > MAX_WALK_ENTRIES) {
        stats.cut = true;
        return;
      }
      const rel = dir.rel ? `${dir.rel}/${entry.name}` : entry.name;
      if (entry.isDir && !SKIPPED_DIRS.has(entry.name)) subdirs.push({ abs: join(dir.abs, entry.name), rel });
      else if (entry.isFile) yield { abs: join(dir.abs, entry.name), rel };
    }
    for (let i = subdirs.length - 1; i >= 0; i -= 1) {
      const sub = subdirs[i];
      if (sub) stack.push(sub);
    }
  }
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
