import { lazyArguments } from "@starling/protocol";
import { stat } from "node:fs/promises";
import { createInterface } from "node:readline";
import { z } from "zod";
import { clipLine } from "./bounded-text.js";
import { defineTool, type ToolContext, type ToolOutput } from "./define-tool.js";
import { ToolError } from "./errors.js";
import { remoteAnswers } from "./remote/answers.js";
import { WHOLE_FILE_BYTES } from "./whole-file.js";

export const DEFAULT_READ_LINES = 200;
export const MAX_READ_LINES = 2_000;
export const MAX_LINE_CHARS = 2_000;

export const fileReadParameters = lazyArguments(() => z.object({
  file_path: z.string().describe("File to read: relative to the workspace, or an absolute path inside it."),
  offset: z
    .number()
    .int()
    .min(0)
    .max(1_000_000_000)
    .optional()
    .describe("First line to show, 1-based (default 1)."),
  limit: z
    .number()
    .int()
    .min(1)
    .max(MAX_READ_LINES)
    .optional()
    .describe(`How many lines to show (default ${DEFAULT_READ_LINES}, at most ${MAX_READ_LINES}).`),
}));

export const fileReadTool = defineTool({
  name: "file_read",
  description:
    `Read a UTF-8 text file. Returns a window of lines, each prefixed with its line number ("12: text"), and says how to read on when the file has more. ` +
    `Lines longer than ${MAX_LINE_CHARS} characters are cut. For binary files (images, PDFs) use the media tools instead.`,
  parameters: fileReadParameters,
  readOnly: true,
  remote: true,
  async execute(args, ctx) {
    if (ctx.remote) {
      const start = Math.max(1, args.offset ?? 1);
      const window = await ctx.remote.op("read", { path: args.file_path, start, limit: args.limit ?? DEFAULT_READ_LINES, clip: MAX_LINE_CHARS, whole: WHOLE_FILE_BYTES }, remoteAnswers().ReadAnswer, ctx.signal);
      return readResult(window.display, start, window);
    }
    const target = await ctx.paths.resolve(args.file_path);
    const info = await stat(target.abs);
    if (info.isDirectory()) throw new ToolError("failed", `${target.display} is a directory, not a file; use ls or glob to list it.`);
    const start = Math.max(1, args.offset ?? 1);
    const limit = args.limit ?? DEFAULT_READ_LINES;
    const window = info.size <= WHOLE_FILE_BYTES ? await readWhole(ctx, target.abs, target.display, start, limit) : await readStreamed(ctx, target.abs, start, limit, ctx.signal);
    return readResult(target.display, start, window);
  },
});

/** The result text of file_read for a window of lines (shared by local and remote reads). */
function readResult(display: string, start: number, window: LineWindow): ToolOutput {
  const end = start + window.lines.length - 1;
  const numbered = window.lines
    .map((line, i) => `${start + i}: ${window.cut?.[i] ? `${line}… [${window.cut[i]} more characters]` : clipLine(line, MAX_LINE_CHARS)}`)
    .join("\n");
  let header: string;
  if (window.total === 0) header = `${display} is empty.`;
  else if (window.lines.length === 0) header = `${display} has ${window.total} lines; offset ${start} is past the end.`;
  else header = `${display} (lines ${start}-${end} of ${window.total})`;
  const more = end < window.total ? `\n[${window.total - end} more lines: call file_read with offset=${end + 1} to continue]` : "";
  return {
    content: numbered ? `${header}\n${numbered}${more}` : `${header}${more}`,
    details: { filePath: display, startLine: start, endLine: end, totalLines: window.total, truncated: end < window.total },
  };
}

interface LineWindow {
  lines: string[];
  total: number;
  /** Characters already cut from each line (remote reads: the helper sends at most MAX_LINE_CHARS of a line). */
  cut?: number[];
}

async function readWhole(ctx: ToolContext, abs: string, display: string, start: number, limit: number): Promise<LineWindow> {
  const buf = await ctx.paths.readFile(abs);
  if (buf.subarray(0, 8192).includes(0)) {
    throw new ToolError("failed", `${display} looks like a binary file (it contains NUL bytes); file_read only reads text. Use image_load/pdf_load for media, or shell (e.g. xxd | head) to inspect bytes.`);
  }
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(buf);
  } catch {
    throw new ToolError("failed", `${display} is not valid UTF-8 text; file_read only reads UTF-8. Use shell (e.g. iconv or xxd) to inspect it.`);
  }
  if (text === "") return { lines: [], total: 0 };
  const all = text.split("\n");
  if (all[all.length - 1] === "") all.pop();
  const lines = all.slice(start - 1, start - 1 + limit).map((line) => line.replace(/\r$/, ""));
  return { lines, total: all.length };
}

async function readStreamed(ctx: ToolContext, abs: string, start: number, limit: number, signal: AbortSignal): Promise<LineWindow> {
  const handle = await ctx.paths.open(abs, "r");
  const stream = handle.createReadStream({ encoding: "utf8", signal });
  const reader = createInterface({ input: stream, crlfDelay: Infinity });
  const lines: string[] = [];
  let total = 0;
  try {
    for await (const line of reader) {
      total += 1;
      if (total >= start && lines.length < limit) lines.push(line);
    }
  } finally {
    reader.close();
    stream.destroy();
    await handle.close().catch(() => undefined);
  }
  return { lines, total };
}
