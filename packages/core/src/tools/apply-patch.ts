import { lazyArguments } from "@starling/protocol";
import { stat } from "node:fs/promises";
import type { StructuredPatch } from "diff";
import { z } from "zod";
import { defineTool, type ToolContext } from "./define-tool.js";
import { hasCode, ToolError } from "./errors.js";
import { jsdiff, loadJsdiff } from "./lazy-deps.js";
import { type FilePatch, parseFilePatches } from "./patch-parse.js";
import { remoteAnswers, type RemoteWrite } from "./remote/answers.js";
import { readForEdit } from "./whole-file.js";
import type { ResolvedPath } from "./workspace-paths.js";

export const applyPatchParameters = lazyArguments(() => z.object({
  patch: z.string().min(1).describe("A unified diff as produced by diff -u or git diff: one or more files, each with --- / +++ headers and @@ hunks; /dev/null creates or deletes a file."),
  strip: z
    .number()
    .int()
    .min(0)
    .max(16)
    .optional()
    .describe("Leading path components to remove from file names, like patch -p. Default: 1 for git-style a/ b/ names, otherwise 0."),
}));

export const applyPatchTool = defineTool({
  name: "apply_patch",
  description:
    "Apply a unified diff (diff -u / git diff format) to files in the workspace. Handles several files, new files (--- /dev/null), deletions (+++ /dev/null) and git renames. " +
    "Hunk line counts are recomputed and hunks may sit at other line numbers than stated, but context and removed lines must match the file (trailing whitespace is forgiven). " +
    "All or nothing: if any hunk does not apply, no file is changed and the result says which hunk failed.",
  parameters: applyPatchParameters,
  readOnly: false,
  remote: true,
  async execute(args, ctx) {
    await loadJsdiff();
    const patches = parseFilePatches(args.patch, args.strip);
    const plan = new Plan(ctx);
    const summary: string[] = [];
    for (const file of patches) summary.push(await stage(file, plan));
    if (ctx.signal.aborted) throw new ToolError("aborted", "apply_patch interrupted before writing; no file was changed.");
    await plan.commit();
    return {
      content: `Applied patch to ${patches.length} file${patches.length === 1 ? "" : "s"}:\n${summary.join("\n")}`,
      details: { applied: true, files: patches.map((p) => ({ kind: p.kind, oldPath: p.oldPath, newPath: p.newPath, added: p.added, removed: p.removed })) },
    };
  },
});

async function stage(file: FilePatch, plan: Plan): Promise<string> {
  const counts = `(+${file.added} -${file.removed})`;
  if (file.kind === "create") {
    const target = await plan.resolve(file.newPath);
    const current = await plan.read(target);
    if (current !== null && current !== "") {
      throw new ToolError("failed", `${target.display} already exists, but the patch creates it (--- /dev/null). Make a patch that modifies it, or delete it first. No file was changed.`);
    }
    plan.set(target, applyOrExplain("", file.patch, target.display), file.patch.newMode);
    return `A ${target.display} ${counts}`;
  }
  if (file.kind === "delete") {
    const target = await plan.resolve(file.oldPath);
    const current = await plan.mustRead(target);
    if (file.patch.hunks.length > 0) applyOrExplain(current, file.patch, target.display);
    plan.set(target, null);
    return `D ${target.display}`;
  }
  if (file.kind === "rename" || file.kind === "copy") {
    const source = await plan.resolve(file.oldPath);
    const target = await plan.resolve(file.newPath);
    const current = await plan.mustRead(source);
    const result = file.patch.hunks.length > 0 ? applyOrExplain(current, file.patch, source.display) : current;
    if (file.kind === "rename") plan.set(source, null);
    plan.set(target, result, file.patch.newMode);
    return `${file.kind === "rename" ? "R" : "C"} ${source.display} -> ${target.display} ${counts}`;
  }
  // modify: the new name if it exists, else the old one (diff -u old new with different names)
  const candidates = [file.newPath, file.oldPath].filter((p, i, all): p is string => p !== null && all.indexOf(p) === i);
  let target: ResolvedPath | null = null;
  for (const path of candidates) {
    const resolved = await plan.resolve(path);
    target ??= resolved;
    if ((await plan.read(resolved)) !== null) {
      target = resolved;
      break;
    }
  }
  if (target === null) throw new ToolError("invalid_arguments", "A file patch has no file name.");
  if (candidates.length > 1 && (await plan.read(target)) === null) {
    throw new ToolError("not_found", `Neither ${candidates.join(" nor ")} exists, so the patch cannot change it (check the file names and strip). No file was changed.`);
  }
  const current = await plan.mustRead(target);
  plan.set(target, applyOrExplain(current, file.patch, target.display), file.patch.newMode);
  const mode = file.patch.newMode && file.patch.newMode !== file.patch.oldMode ? ` mode ${file.patch.newMode}` : "";
  return `M ${target.display} ${counts}${mode}`;
}

const looseCompare = (_n: number, line: string, _op: string, patchLine: string): boolean => line.trimEnd() === patchLine.trimEnd();

/** The patched text, or a `ToolError` naming the first hunk that does not match. */
function applyOrExplain(content: string, patch: StructuredPatch, display: string): string {
  const { applyPatch } = jsdiff();
  const exact = applyPatch(content, patch);
  if (exact !== false) return exact;
  const loose = applyPatch(content, patch, { compareLine: looseCompare });
  if (loose !== false) return loose;
  const index = patch.hunks.findIndex((hunk) => applyPatch(content, { ...patch, hunks: [hunk] }, { compareLine: looseCompare }) === false);
  const hunk = patch.hunks[index === -1 ? 0 : index];
  const expected = (hunk?.lines ?? []).filter((l) => l.startsWith(" ") || l.startsWith("-")).slice(0, 8).map((l) => `  ${l.slice(1)}`);
  const where = hunk ? `hunk #${(index === -1 ? 0 : index) + 1} (@@ -${hunk.oldStart},${hunk.oldLines} +${hunk.newStart},${hunk.newLines} @@)` : "a hunk";
  const why = index === -1 ? " together with the hunks before it (they overlap or are out of order)" : "";
  throw new ToolError(
    "failed",
    `The patch does not apply to ${display}: ${where} did not match${why}. It expects these lines, which were not found:\n${expected.join("\n")}\n` +
      "Read the file again (file_read) and rebuild the patch from its current content. No file was changed.",
  );
}

/** Changes staged in memory, written only once every file patch has applied. */
class Plan {
  private readonly files = new Map<string, { target: ResolvedPath; content: string | null; mode?: string | undefined; changed: boolean }>();

  constructor(private readonly ctx: ToolContext) {}

  async resolve(path: string | null): Promise<ResolvedPath> {
    if (path === null) throw new ToolError("invalid_arguments", "A file patch is missing its file name.");
    if (this.ctx.remote) {
      const { abs, display } = await this.ctx.remote.op("resolve", { path, write: true }, remoteAnswers().ResolveAnswer, this.ctx.signal);
      return { abs, display };
    }
    return this.ctx.paths.resolve(path, { write: true });
  }

  async read(target: ResolvedPath): Promise<string | null> {
    const staged = this.files.get(target.abs);
    if (staged) return staged.content;
    let content: string | null;
    if (this.ctx.remote) {
      content = await this.ctx.remote.readText(target, this.ctx.signal);
      this.files.set(target.abs, { target, content, changed: false });
      return content;
    }
    try {
      if ((await stat(target.abs)).isDirectory()) throw new ToolError("failed", `${target.display} is a directory, not a file.`);
      content = await readForEdit(this.ctx.paths, target);
    } catch (error) {
      if (!hasCode(error, "ENOENT", "ENOTDIR")) throw error;
      content = null;
    }
    this.files.set(target.abs, { target, content, changed: false });
    return content;
  }

  async mustRead(target: ResolvedPath): Promise<string> {
    const content = await this.read(target);
    if (content === null) throw new ToolError("not_found", `${target.display} does not exist, so the patch cannot change it (check the file name and strip). No file was changed.`);
    return content;
  }

  set(target: ResolvedPath, content: string | null, mode?: string): void {
    this.files.set(target.abs, { target, content, mode, changed: true });
  }

  async commit(): Promise<void> {
    if (this.ctx.remote) {
      const writes: RemoteWrite[] = [...this.files.values()].filter((f) => f.changed).map(({ target, content, mode }) => ({ abs: target.abs, content, ...(mode?.endsWith("755") ? { mode: "755" } : mode?.endsWith("644") ? { mode: "644" } : {}) }));
      await this.ctx.remote.op("write", { writes }, remoteAnswers().EmptyAnswer, this.ctx.signal);
      return;
    }
    for (const { target, content, mode, changed } of this.files.values()) {
      if (!changed) continue;
      // Through the checked parent folder: a folder swapped for a symlink meanwhile is not followed.
      if (content === null) await this.ctx.paths.unlink(target.abs);
      else await this.ctx.paths.writeFile(target.abs, content, { mode: mode?.endsWith("755") ? 0o755 : mode?.endsWith("644") ? 0o644 : undefined });
    }
  }
}
