import { applyPatchTool } from "./apply-patch.js";
import type { AnyTool } from "./define-tool.js";
import { editTool } from "./edit.js";
import { fileReadTool } from "./file-read.js";
import { fileWriteTool } from "./file-write.js";
import { globTool } from "./glob.js";
import { grepTool } from "./grep.js";
import { lsTool } from "./ls.js";
import { shellCloseTool } from "./shell-close.js";
import { shellTool } from "./shell.js";

/** The workspace tools every session has: files, search and shell. */
export function builtinTools(): AnyTool[] {
  return [fileReadTool, fileWriteTool, editTool, applyPatchTool, globTool, grepTool, lsTool, shellTool, shellCloseTool];
}
