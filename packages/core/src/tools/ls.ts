import { type ConfinedDir, lazyArguments } from "@starling/protocol";
import { stat } from "node:fs/promises";
import { z } from "zod";
import { defineTool, type ToolOutput } from "./define-tool.js";
import { ToolError } from "./errors.js";
import { remoteAnswers } from "./remote/answers.js";

export const MAX_LS_ENTRIES = 1_000;
/** Folders listed but not expanded. */
export const UNEXPANDED_DIRS: ReadonlySet<string> = new Set(["node_modules", "__pycache__", "target", "dist", "build", "coverage", "venv"]);

export const lsParameters = lazyArguments(() => z.object({
  path: z.string().optional().describe("Folder to list, relative to the workspace (default: the workspace root)."),
}));

export const lsTool = defineTool({
  name: "ls",
  description:
    `List a folder as an indented tree (folders end with "/", symlinks with "@"). Hidden entries (starting with ".") are left out; ` +
    `${[...UNEXPANDED_DIRS].join(", ")} are shown but not expanded. Stops at ${MAX_LS_ENTRIES} entries; use glob or a narrower path for big trees.`,
  parameters: lsParameters,
  readOnly: true,
  remote: true,
  async execute(args, ctx) {
    if (ctx.remote) {
      const tree = await ctx.remote.op("ls", { path: args.path ?? ".", max: MAX_LS_ENTRIES }, remoteAnswers().LsAnswer, ctx.signal);
      return lsResult(tree.display, tree.lines, tree.truncated);
    }
    const base = await ctx.paths.resolve(args.path ?? ".");
    const info = await stat(base.abs);
    if (!info.isDirectory()) throw new ToolError("failed", `${base.display} is not a directory; use file_read to read a file.`);
    const lines: string[] = [];
    const dir = await ctx.paths.openDir(base.abs);
    try {
      return lsResult(base.display, lines, await list(dir, 1, lines, ctx.signal, await ctx.paths.hiddenFilter()));
    } finally {
      dir.close();
    }
  },
});

function lsResult(display: string, lines: string[], truncated: boolean): ToolOutput {
  const base = { display };
  const header = truncated
    ? `num_entries: >${MAX_LS_ENTRIES}\ntruncated: true (list a narrower path, or use glob/grep)`
    : `num_entries: ${lines.length}`;
  return {
    content: `${header}\n\n- ${base.display === "." ? "./" : `${base.display}/`}\n${lines.join("\n")}`.trimEnd(),
    details: { path: base.display, numEntries: lines.length, truncated },
  };
}

/**
 * Appends the tree under `dir` to `lines`; returns `true` when it stopped at the entry cap. Sub-folders
 * are opened through their parent without following a symlink (one swapped in meanwhile is not listed).
 */
async function list(dir: ConfinedDir, depth: number, lines: string[], signal: AbortSignal, hidden: (abs: string) => boolean): Promise<boolean> {
  if (signal.aborted) throw new ToolError("aborted", "Listing interrupted: the turn was cancelled or interrupted.");
  const entries = await dir.list().catch(() => []);
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const indent = "  ".repeat(depth);
  for (const entry of entries) {
    if (entry.name.startsWith(".")) continue;
    if (lines.length >= MAX_LS_ENTRIES) return true;
    if (entry.isSymbolicLink()) {
      // Not followed: whether its target is a folder would tell about a path outside the workspace.
      lines.push(`${indent}- ${entry.name}@`);
    } else if (entry.isDirectory()) {
      // A hidden folder is listed as bubblewrap shows it to a command: there, and empty.
      const masked = hidden(`${dir.abs}/${entry.name}`);
      const skipped = masked || UNEXPANDED_DIRS.has(entry.name);
      lines.push(`${indent}- ${entry.name}/${masked ? " (hidden by sandbox.hidden_paths)" : skipped ? " (not expanded)" : ""}`);
      if (skipped) continue;
      const sub = dir.tryOpenDir(entry.name);
      if (sub === null) continue;
      try {
        if (await list(sub, depth + 1, lines, signal, hidden)) return true;
      } finally {
        sub.close();
      }
    } else {
      lines.push(`${indent}- ${entry.name}`);
    }
  }
  return false;
}
