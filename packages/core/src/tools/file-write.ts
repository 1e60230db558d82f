import { lazyArguments } from "@starling/protocol";
import { stat } from "node:fs/promises";
import { z } from "zod";
import { defineTool, type ToolOutput } from "./define-tool.js";
import { ToolError } from "./errors.js";
import { remoteAnswers, type RemoteWrite } from "./remote/answers.js";

export const fileWriteParameters = lazyArguments(() => z.object({
  file_path: z.string().describe("File to write: relative to the workspace, or an absolute path inside it. Missing parent folders are created."),
  content: z.string().describe("The text to write (UTF-8)."),
  mode: z
    .enum(["overwrite", "append"])
    .optional()
    .describe('"overwrite" (default) replaces the file; "append" adds content at its end.'),
}));

export const fileWriteTool = defineTool({
  name: "file_write",
  description:
    "Write a UTF-8 text file, creating it and any missing parent folders. mode overwrite (default) replaces the whole file; append adds to its end. To change part of an existing file, prefer edit or apply_patch.",
  parameters: fileWriteParameters,
  readOnly: false,
  remote: true,
  async execute(args, ctx) {
    const mode = args.mode ?? "overwrite";
    if (ctx.remote) {
      const target = await ctx.remote.op("resolve", { path: args.file_path, write: true }, remoteAnswers().ResolveAnswer, ctx.signal);
      if (target.info?.isDir) throw new ToolError("failed", `${target.display} is a directory; give a file path.`);
      const write: RemoteWrite = { abs: target.abs, content: args.content, append: mode === "append" };
      await ctx.remote.op("write", { writes: [write] }, remoteAnswers().EmptyAnswer, ctx.signal);
      return writeResult(target.display, mode, args.content, target.info !== null);
    }
    const target = await ctx.paths.resolve(args.file_path, { write: true });
    const existing = await stat(target.abs).catch(() => null);
    if (existing?.isDirectory()) throw new ToolError("failed", `${target.display} is a directory; give a file path.`);
    await ctx.paths.writeFile(target.abs, args.content, { append: mode === "append" });
    return writeResult(target.display, mode, args.content, existing !== null);
  },
});

function writeResult(display: string, mode: "overwrite" | "append", content: string, existed: boolean): ToolOutput {
  const bytes = Buffer.byteLength(content, "utf8");
  const verb = mode === "append" ? "Appended" : existed ? "Overwrote" : "Created";
  return {
    content: `${verb} ${display} (${bytes} bytes ${mode === "append" ? "added" : "written"}).`,
    details: { filePath: display, mode, bytesWritten: bytes, created: !existed },
  };
}
