import { lazyArguments } from "@starling/protocol";
import { type FileHandle, stat } from "node:fs/promises";
import { z } from "zod";
import { clipLine } from "./bounded-text.js";
import { defineTool, type ToolOutput } from "./define-tool.js";
import { ToolError } from "./errors.js";
import { remoteAnswers } from "./remote/answers.js";
import type { RemoteWorkspace } from "./remote/remote-workspace.js";
import { globMatcher, joinDisplay, MAX_WALK_ENTRIES, SKIPPED_DIRS, type WalkedFile, walkFiles, type WalkStats } from "./walk.js";
import type { WorkspacePaths } from "./workspace-paths.js";

export const MAX_GREP_MATCHES = 200;
export const MAX_GREP_LINE_CHARS = 300;
/** Larger files are skipped (and counted) rather than read. */
export const MAX_GREP_FILE_BYTES = 4 * 1024 * 1024;

export const grepParameters = lazyArguments(() => z.object({
  pattern: z.string().min(1).describe('JavaScript regular expression searched line by line, e.g. "function\\s+load" or "TODO|FIXME". Prefix with (?i) for case-insensitive.'),
  path: z.string().optional().describe("File or folder to search, relative to the workspace (default: the workspace root)."),
  include: z.string().optional().describe('Only search files matching this glob, e.g. "*.ts" or "src/**/*.{js,ts}". A pattern without "/" matches file names at any depth.'),
}));

export const grepTool = defineTool({
  name: "grep",
  description:
    `Search file contents with a regular expression. Returns matching lines as path:line:text (up to ${MAX_GREP_MATCHES} matches, long lines cut). ` +
    `Skips binary and non-UTF-8 files, files over ${MAX_GREP_FILE_BYTES / 1024 / 1024} MB, and the folders ${[...SKIPPED_DIRS].join(", ")}.`,
  parameters: grepParameters,
  readOnly: true,
  remote: true,
  async execute(args, ctx) {
    const regex = compile(args.pattern);
    const include = args.include ? await globMatcher(args.include) : null;
    if (ctx.remote) return remoteGrep(args, include, ctx.remote, ctx.signal);
    const base = await ctx.paths.resolve(args.path ?? ".");
    const info = await stat(base.abs);
    const stats: WalkStats = { visited: 0, cut: false };
    const dir = info.isDirectory() ? await ctx.paths.openDir(base.abs) : null;
    try {
      const files = dir ? walked(walkFiles(dir, ctx.signal, stats, await ctx.paths.hiddenFilter()), ctx.paths) : single(base.abs, ctx.paths);
      return grepResult(args, base.display, { ...(await search(files, regex, include, base.display, dir !== null)), cut: stats.cut, visited: stats.visited });
    } finally {
      dir?.close();
    }
  },
});

/** Matching lines of the walked files (each read through its open folder, or the checked single file). */
async function search(files: AsyncGenerator<SearchedFile>, regex: RegExp, include: ((rel: string) => boolean) | null, baseDisplay: string, isDir: boolean): Promise<Omit<GrepFindings, "cut" | "visited">> {
  const base = { display: baseDisplay };
  const matches: string[] = [];
  const matchedFiles = new Set<string>();
  let skippedLarge = 0;
  let more = false;
  outer: for await (const file of files) {
    if (include && !include(file.rel || (base.display.split("/").pop() ?? ""))) continue;
    const text = await readText(file.open, !isDir);
    if (text === "large") {
      skippedLarge += 1;
      continue;
    }
    if (text === null) continue;
    const display = isDir ? joinDisplay(base.display, file.rel) : base.display;
    const lines = text.split("\n");
    for (let i = 0; i < lines.length; i += 1) {
      const line = (lines[i] ?? "").replace(/\r$/, "");
      if (!regex.test(line)) continue;
      if (matches.length >= MAX_GREP_MATCHES) {
        more = true;
        break outer;
      }
      matches.push(`${display}:${i + 1}:${clipLine(line, MAX_GREP_LINE_CHARS)}`);
      matchedFiles.add(display);
    }
  }
  return { matches, files: matchedFiles.size, more, skippedLarge };
}

interface GrepFindings {
  matches: string[];
  files: number;
  more: boolean;
  skippedLarge: number;
  cut: boolean;
  visited: number;
}

/** Remote grep: the file list comes from the helper's walk (filtered here), the search runs there (Python `re`). */
async function remoteGrep(args: GrepArgs, include: ((rel: string) => boolean) | null, remote: RemoteWorkspace, signal: AbortSignal): Promise<ToolOutput> {
  const walk = await remote.op("walk", { path: args.path ?? ".", max: MAX_WALK_ENTRIES }, remoteAnswers().WalkAnswer, signal);
  const files: Array<[string, string]> = [];
  let skippedLarge = 0;
  for (const [abs, rel, size] of walk.files) {
    if (include && !include(rel || (walk.display.split("/").pop() ?? ""))) continue;
    if (size > MAX_GREP_FILE_BYTES) skippedLarge += 1;
    else files.push([abs, walk.isDir ? joinDisplay(walk.display, rel) : walk.display]);
  }
  const found = await remote.op("grep", { pattern: args.pattern, files, max: MAX_GREP_MATCHES }, remoteAnswers().GrepAnswer, signal);
  const matches = found.matches.map(([display, line, text]) => `${display}:${line}:${clipLine(text, MAX_GREP_LINE_CHARS)}`);
  const fileCount = new Set(found.matches.map(([display]) => display)).size;
  return grepResult(args, walk.display, { matches, files: fileCount, more: found.more, skippedLarge, cut: walk.cut, visited: walk.visited });
}

type GrepArgs = z.output<ReturnType<typeof grepParameters>>;

function grepResult(args: GrepArgs, baseDisplay: string, found: GrepFindings): ToolOutput {
  const { matches, more, skippedLarge } = found;
  const base = { display: baseDisplay };
  const matchedFiles = { size: found.files };
  const stats = { cut: found.cut, visited: found.visited };
  const where = base.display === "." ? "the workspace" : base.display;
  const head =
    matches.length === 0
      ? `No matches for /${args.pattern}/ in ${where}${args.include ? ` (files matching ${args.include})` : ""}.`
      : `${matches.length}${more ? "+" : ""} matches in ${matchedFiles.size} file${matchedFiles.size === 1 ? "" : "s"}${more ? ` (stopped at ${MAX_GREP_MATCHES}; narrow the pattern, path or include)` : ""}:`;
  const notes: string[] = [];
  if (skippedLarge) notes.push(`[${skippedLarge} file(s) over ${MAX_GREP_FILE_BYTES / 1024 / 1024} MB skipped]`);
  if (stats.cut) notes.push(`[search stopped after ${stats.visited - 1} entries; give a narrower path]`);
  return {
    content: [head, ...matches, ...notes].join("\n"),
    details: { pattern: args.pattern, path: base.display, include: args.include, numMatches: matches.length, numFiles: matchedFiles.size, truncated: more || stats.cut },
  };
}

function compile(pattern: string): RegExp {
  const insensitive = pattern.startsWith("(?i)");
  const source = insensitive ? pattern.slice(4) : pattern;
  try {
    return new RegExp(source, insensitive ? "iu" : "u");
  } catch {
    try {
      return new RegExp(source, insensitive ? "i" : "");
    } catch (error) {
      throw new ToolError("invalid_arguments", `Invalid regex pattern ${JSON.stringify(pattern)}: ${(error as Error).message}. Escape special characters such as ( [ { with a backslash.`);
    }
  }
}

interface SearchedFile {
  rel: string;
  open(): Promise<FileHandle>;
}

async function* walked(files: AsyncGenerator<WalkedFile>, paths: WorkspacePaths): AsyncGenerator<SearchedFile> {
  // Opened by name inside its open folder, never through a symlink: a swapped path leads nowhere. A hard link to a hidden file is passed over.
  for await (const file of files) yield { rel: file.rel, open: () => paths.openWalked(file.entry, file.abs) };
}

async function* single(abs: string, paths: WorkspacePaths): AsyncGenerator<SearchedFile> {
  yield { rel: "", open: () => paths.open(abs, "r") };
}

/**
 * The file as text; `null` when it is binary (NUL bytes), not valid UTF-8 or unreadable; "large" past the limit.
 * `named`: the model named this one file, so a refusal (hidden, outside) is its answer, not a file passed over.
 */
async function readText(opener: () => Promise<FileHandle>, named: boolean): Promise<string | null | "large"> {
  const handle = await opener().catch((error: unknown) => {
    if (named && error instanceof ToolError) throw error;
    return null;
  });
  if (handle === null) return null;
  let buf: Buffer | null;
  try {
    if ((await handle.stat()).size > MAX_GREP_FILE_BYTES) return "large";
    buf = await handle.readFile().catch(() => null);
  } finally {
    await handle.close();
  }
  if (buf === null || buf.subarray(0, 8192).includes(0)) return null;
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(buf);
  } catch {
    return null;
  }
}
