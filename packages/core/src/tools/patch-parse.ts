import type { StructuredPatch } from "diff";
import { jsdiff } from "./lazy-deps.js";
import { ToolError } from "./errors.js";

/** One file's part of a patch, with paths already stripped. */
export interface FilePatch {
  kind: "modify" | "create" | "delete" | "rename" | "copy";
  /** Path before the change (`null` for a created file). */
  oldPath: string | null;
  /** Path after the change (`null` for a deleted file). */
  newPath: string | null;
  patch: StructuredPatch;
  added: number;
  removed: number;
}

const DEV_NULL = "/dev/null";

/**
 * Parses a unified diff (`diff -u`, `git diff`, several files, creations, deletions, renames) into
 * per-file patches. Like `git apply --recount`, hunk line counts are recomputed from the hunk bodies,
 * so hand-written hunks with wrong counts (or a bare `@@`) still parse. `strip` removes leading path
 * components like `patch -p`; when omitted it is 1 for git-style `a/` `b/` names and 0 otherwise.
 */
export function parseFilePatches(text: string, strip: number | undefined): FilePatch[] {
  if (/^\*\*\* Begin Patch/m.test(text)) {
    throw new ToolError("invalid_arguments", 'This is the "*** Begin Patch" envelope format; apply_patch takes a unified diff (--- a/file, +++ b/file, @@ hunks), as produced by diff -u or git diff.');
  }
  let parsed: StructuredPatch[];
  try {
    parsed = jsdiff().parsePatch(recount(unfence(text)));
  } catch (error) {
    throw new ToolError("invalid_arguments", `Could not parse the patch: ${(error as Error).message}. Send a unified diff (--- a/file, +++ b/file, @@ -l,n +l,n @@ hunks).`);
  }
  const files = parsed.filter((p) => p.hunks.length > 0 || p.isRename || p.isCopy || p.isCreate || p.isDelete || p.newMode !== undefined);
  if (files.length === 0) {
    throw new ToolError("invalid_arguments", "The patch contains no file changes. Send a unified diff with ---/+++ file headers and @@ hunks.");
  }
  return files.map((p) => toFilePatch(p, strip));
}

function toFilePatch(p: StructuredPatch, strip: number | undefined): FilePatch {
  if (p.isBinary) throw new ToolError("invalid_arguments", `The patch changes a binary file (${p.newFileName ?? p.oldFileName}); apply_patch only handles text. Use file_write or shell instead.`);
  if (p.oldFileName === undefined || p.newFileName === undefined) {
    throw new ToolError("invalid_arguments", "A hunk in the patch has no --- / +++ file header, so the file it changes is unknown. Add the headers.");
  }
  const gitStyle = p.isGit === true || (isPrefixed(p.oldFileName, "a/") && isPrefixed(p.newFileName, "b/"));
  const n = strip ?? (gitStyle ? 1 : 0);
  const oldPath = p.oldFileName === DEV_NULL ? null : stripPath(p.oldFileName, n);
  const newPath = p.newFileName === DEV_NULL ? null : stripPath(p.newFileName, n);
  let kind: FilePatch["kind"] = "modify";
  if (p.isCreate || oldPath === null) kind = "create";
  else if (p.isDelete || newPath === null) kind = "delete";
  else if (p.isRename) kind = "rename";
  else if (p.isCopy) kind = "copy";
  let added = 0;
  let removed = 0;
  for (const hunk of p.hunks) {
    for (const line of hunk.lines) {
      if (line.startsWith("+")) added += 1;
      else if (line.startsWith("-")) removed += 1;
    }
  }
  return { kind, oldPath: kind === "create" ? null : oldPath, newPath: kind === "delete" ? null : newPath, patch: p, added, removed };
}

function isPrefixed(name: string, prefix: string): boolean {
  return name === DEV_NULL || name.startsWith(prefix);
}

function stripPath(name: string, n: number): string {
  if (n === 0) return name;
  const parts = name.split("/");
  if (parts.length <= n) {
    throw new ToolError("invalid_arguments", `Cannot strip ${n} leading component(s) from ${JSON.stringify(name)}; use a smaller strip.`);
  }
  return parts.slice(n).join("/");
}

/** Removes a Markdown code fence around the whole patch. */
function unfence(text: string): string {
  const trimmed = text.trim();
  if (!trimmed.startsWith("```")) return text;
  const lines = trimmed.split("\n").slice(1);
  if (lines[lines.length - 1]?.trim() === "```") lines.pop();
  return `${lines.join("\n")}\n`;
}

const HUNK_HEADER = /^@@ -(\d+)(?:,\d+)? \+(\d+)(?:,\d+)? @@(.*)$/;

/** Rewrites every hunk header with line counts taken from its body (trailing blank lines excluded). */
export function recount(text: string): string {
  const lines = text.split("\n");
  const out: string[] = [];
  let i = 0;
  while (i < lines.length) {
    const line = lines[i] ?? "";
    if (!line.startsWith("@@")) {
      out.push(line);
      i += 1;
      continue;
    }
    let j = i + 1;
    while (j < lines.length && isBodyLine(lines, j)) j += 1;
    let end = j;
    while (end > i + 1 && lines[end - 1] === "") end -= 1;
    const body = lines.slice(i + 1, end).map((l) => (l === "" ? " " : l));
    let oldCount = 0;
    let newCount = 0;
    for (const l of body) {
      if (l.startsWith(" ")) {
        oldCount += 1;
        newCount += 1;
      } else if (l.startsWith("-")) oldCount += 1;
      else if (l.startsWith("+")) newCount += 1;
    }
    const header = HUNK_HEADER.exec(line.replace(/\r$/, ""));
    const oldStart = header ? Number(header[1]) : oldCount === 0 ? 0 : 1;
    const newStart = header ? Number(header[2]) : newCount === 0 ? 0 : 1;
    out.push(`@@ -${oldStart},${oldCount} +${newStart},${newCount} @@${header?.[3] ?? ""}`, ...body, ...lines.slice(end, j));
    i = j;
  }
  return out.join("\n");
}

function isBodyLine(lines: readonly string[], j: number): boolean {
  const line = lines[j] ?? "";
  if (line === "") return true;
  if (line.startsWith("@@") || line.startsWith("diff ") || line.startsWith("Index: ")) return false;
  if (line.startsWith("--- ") && (lines[j + 1] ?? "").startsWith("+++ ")) return false;
  return " +-\\".includes(line[0] ?? "");
}
