import { lazyArguments } from "@starling/protocol";
import { lstat, stat } from "node:fs/promises";
import { z } from "zod";
import { defineTool } from "./define-tool.js";
import { ToolError } from "./errors.js";
import { remoteAnswers } from "./remote/answers.js";
import { globMatcher, joinDisplay, MAX_WALK_ENTRIES, SKIPPED_DIRS, walkFiles, type WalkStats } from "./walk.js";

export const MAX_GLOB_RESULTS = 100;

export const globParameters = lazyArguments(() => z.object({
  pattern: z.string().min(1).describe('Glob pattern, e.g. "**/*.ts" or "src/**/test_*.py". A pattern without "/" matches file names at any depth.'),
  path: z.string().optional().describe("Folder to search in, relative to the workspace (default: the workspace root). Omit it rather than sending an empty value."),
}));

export const globTool = defineTool({
  name: "glob",
  description:
    `Find files by name pattern. Returns up to ${MAX_GLOB_RESULTS} matching file paths (relative to the workspace), most recently modified first. ` +
    `Does not enter ${[...SKIPPED_DIRS].join(", ")} unless path points inside them, and does not follow symlinks.`,
  parameters: globParameters,
  readOnly: true,
  remote: true,
  async execute(args, ctx) {
    const matches = await globMatcher(args.pattern);
    let stats: WalkStats = { visited: 0, cut: false };
    const found: Array<{ path: string; mtime: number }> = [];
    let base: { display: string };
    if (ctx.remote) {
      const walk = await ctx.remote.op("walk", { path: args.path ?? ".", max: MAX_WALK_ENTRIES }, remoteAnswers().WalkAnswer, ctx.signal);
      if (!walk.isDir) throw new ToolError("failed", `${walk.display} is not a directory; give a folder as path.`);
      for (const [, rel, , mtime] of walk.files) if (matches(rel)) found.push({ path: joinDisplay(walk.display, rel), mtime });
      stats = { visited: walk.visited, cut: walk.cut };
      base = walk;
    } else {
      const local = await ctx.paths.resolve(args.path ?? ".");
      const info = await stat(local.abs);
      if (!info.isDirectory()) throw new ToolError("failed", `${local.display} is not a directory; give a folder as path.`);
      const dir = await ctx.paths.openDir(local.abs);
      try {
        for await (const file of walkFiles(dir, ctx.signal, stats, await ctx.paths.hiddenFilter())) {
          if (!matches(file.rel)) continue;
          const fileStat = await lstat(file.entry).catch(() => null);
          found.push({ path: joinDisplay(local.display, file.rel), mtime: fileStat?.mtimeMs ?? 0 });
        }
      } finally {
        dir.close();
      }
      base = local;
    }
    found.sort((a, b) => b.mtime - a.mtime || (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    const shown = found.slice(0, MAX_GLOB_RESULTS).map((f) => f.path);
    const where = base.display === "." ? "the workspace" : base.display;
    const lines = [found.length === 0 ? `No files match ${args.pattern} in ${where}.` : `${found.length} file${found.length === 1 ? "" : "s"} match ${args.pattern} in ${where}${found.length > shown.length ? ` (showing the ${shown.length} most recent; narrow the pattern or path to see others)` : ""}:`];
    lines.push(...shown);
    if (stats.cut) lines.push(`[search stopped after ${stats.visited - 1} entries; give a narrower path]`);
    return {
      content: lines.join("\n"),
      details: { pattern: args.pattern, path: base.display, numFiles: found.length, truncated: found.length > shown.length || stats.cut, filenames: shown },
    };
  },
});
