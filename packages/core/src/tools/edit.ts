import { lazyArguments } from "@starling/protocol";
import { stat } from "node:fs/promises";
import { z } from "zod";
import { defineTool, type ToolOutput } from "./define-tool.js";
import { ToolError } from "./errors.js";
import { remoteAnswers } from "./remote/answers.js";
import { readForEdit } from "./whole-file.js";

export const editParameters = lazyArguments(() => z.object({
  path: z.string().describe("File to edit: relative to the workspace, or an absolute path inside it."),
  old_text: z.string().describe("Exact text to replace, including whitespace and indentation. Must occur exactly once unless replace_all is true; include surrounding lines to make it unique."),
  new_text: z.string().describe("Text to put in its place (may be empty to delete)."),
  replace_all: z.boolean().optional().describe("Replace every occurrence of old_text instead of requiring exactly one (default false)."),
}));

export const editTool = defineTool({
  name: "edit",
  description:
    "Replace exact text in an existing UTF-8 file. old_text must match the file exactly (copy it from file_read output, without the line-number prefixes) and must be unique unless replace_all is true. For several changes, call edit several times or use apply_patch.",
  parameters: editParameters,
  readOnly: false,
  remote: true,
  async execute(args, ctx) {
    if (args.old_text === "") {
      throw new ToolError("invalid_arguments", "old_text is empty; give the exact text to replace. To create or overwrite a whole file use file_write.");
    }
    if (ctx.remote) {
      const target = await ctx.remote.op("resolve", { path: args.path, write: true }, remoteAnswers().ResolveAnswer, ctx.signal);
      if (!target.info) throw new ToolError("not_found", `${target.display} does not exist on ${ctx.remote.alias}. Check the path (ls or glob can help).`);
      if (target.info.isDir) throw new ToolError("failed", `${target.display} is a directory, not a file.`);
      const original = await ctx.remote.readText(target, ctx.signal);
      const edit = replaceText(original ?? "", args, target.display);
      await ctx.remote.op("write", { writes: [{ abs: target.abs, content: edit.updated }] }, remoteAnswers().EmptyAnswer, ctx.signal);
      return editResult(target.display, edit);
    }
    const target = await ctx.paths.resolve(args.path, { write: true });
    const info = await stat(target.abs);
    if (info.isDirectory()) throw new ToolError("failed", `${target.display} is a directory, not a file.`);
    const edit = replaceText(await readForEdit(ctx.paths, target), args, target.display);
    await ctx.paths.writeFile(target.abs, edit.updated);
    return editResult(target.display, edit);
  },
});

interface EditOutcome {
  updated: string;
  replacements: number;
  firstLine: number;
}

function editResult(display: string, edit: EditOutcome): ToolOutput {
  return {
    content: `Edited ${display}: ${edit.replacements} replacement${edit.replacements === 1 ? "" : "s"} (first at line ${edit.firstLine}).`,
    details: { path: display, replacements: edit.replacements, bytesWritten: Buffer.byteLength(edit.updated, "utf8"), firstLine: edit.firstLine },
  };
}

/** The file text after replacing `old_text`, or a ToolError saying why nothing was changed. */
function replaceText(original: string, args: { old_text: string; new_text: string; replace_all?: boolean | undefined }, display: string): EditOutcome {
  let oldText = args.old_text;
  let newText = args.new_text;
  let positions = occurrences(original, oldText);
  // Files with CRLF line ends: the model usually sends LF; match it the way the file writes it.
  if (positions.length === 0 && original.includes("\r\n") && oldText.includes("\n") && !oldText.includes("\r\n")) {
    oldText = oldText.replace(/\n/g, "\r\n");
    newText = newText.replace(/\r?\n/g, "\r\n");
    positions = occurrences(original, oldText);
  }
  if (positions.length === 0) {
    throw new ToolError(
      "failed",
      `old_text was not found in ${display}. Read the file again (file_read) and copy the exact text, including whitespace and indentation; nothing was changed.`,
    );
  }
  if (positions.length > 1 && !args.replace_all) {
    const lines = positions.slice(0, 10).map((p) => lineOf(original, p));
    throw new ToolError(
      "failed",
      `old_text matched ${positions.length} locations in ${display} (lines ${lines.join(", ")}${positions.length > 10 ? ", …" : ""}); ` +
        "include more surrounding context to make it unique, or set replace_all=true. Nothing was changed.",
    );
  }
  const used = args.replace_all ? positions : positions.slice(0, 1);
  let updated = "";
  let last = 0;
  for (const p of used) {
    updated += original.slice(last, p) + newText;
    last = p + oldText.length;
  }
  updated += original.slice(last);
  return { updated, replacements: used.length, firstLine: lineOf(original, used[0] ?? 0) };
}

/** Start offsets of the non-overlapping occurrences of `needle` in `text`. */
function occurrences(text: string, needle: string): number[] {
  const found: number[] = [];
  for (let at = text.indexOf(needle); at !== -1; at = text.indexOf(needle, at + needle.length)) found.push(at);
  return found;
}

function lineOf(text: string, offset: number): number {
  let line = 1;
  for (let i = text.indexOf("\n"); i !== -1 && i < offset; i = text.indexOf("\n", i + 1)) line += 1;
  return line;
}
