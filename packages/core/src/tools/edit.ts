import { readFile, stat, writeFile } from "node:fs/promises";
import { z } from "zod";
import { defineTool } from "./define-tool.js";
import { ToolError } from "./errors.js";

export const editParameters = z.object({
  path: z.string().describe("File to edit: relative to the workspace, or an absolute path inside it."),
  old_text: z.string().describe("Exact text to replace, including whitespace and indentation. Must occur exactly once unless replace_all is true; include surrounding lines to make it unique."),
  new_text: z.string().describe("Text to put in its place (may be empty to delete)."),
  replace_all: z.boolean().optional().describe("Replace every occurrence of old_text instead of requiring exactly one (default false)."),
});

export const editTool = defineTool({
  name: "edit",
  description:
    "Replace exact text in an existing UTF-8 file. old_text must match the file exactly (copy it from file_read output, without the line-number prefixes) and must be unique unless replace_all is true. For several changes, call edit several times or use apply_patch.",
  parameters: editParameters,
  readOnly: false,
  async execute(args, ctx) {
    const target = await ctx.paths.resolve(args.path, { write: true });
    if (args.old_text === "") {
      throw new ToolError("invalid_arguments", "old_text is empty; give the exact text to replace. To create or overwrite a whole file use file_write.");
    }
    const info = await stat(target.abs);
    if (info.isDirectory()) throw new ToolError("failed", `${target.display} is a directory, not a file.`);
    const original = await readFile(target.abs, "utf8");
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
        `old_text was not found in ${target.display}. Read the file again (file_read) and copy the exact text, including whitespace and indentation; nothing was changed.`,
      );
    }
    if (positions.length > 1 && !args.replace_all) {
      const lines = positions.slice(0, 10).map((p) => lineOf(original, p));
      throw new ToolError(
        "failed",
        `old_text matched ${positions.length} locations in ${target.display} (lines ${lines.join(", ")}${positions.length > 10 ? ", …" : ""}); ` +
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
    await writeFile(target.abs, updated, "utf8");
    const firstLine = lineOf(original, used[0] ?? 0);
    return {
      content: `Edited ${target.display}: ${used.length} replacement${used.length === 1 ? "" : "s"} (first at line ${firstLine}).`,
      details: { path: target.display, replacements: used.length, bytesWritten: Buffer.byteLength(updated, "utf8"), firstLine },
    };
  },
});

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
