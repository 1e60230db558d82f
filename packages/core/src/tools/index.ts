// Tools: the curated surface of packages/core/src/tools (re-export from the package index as needed).

// Runtime
export { ToolRuntime, DEFAULT_MAX_RESULT_CHARS, ABORT_GRACE_MS, clearToolSchemaCache } from "./tool-runtime.js";
export type {
  ToolSchema,
  ToolCallRequest,
  ToolRunResult,
  CoordinateFn,
  ToolRuntimeOptions,
  ToolRuntimeExtras,
  ToolRunOptions,
  ToolErrorKind,
} from "./types.js";

// Defining tools
export { defineTool, type ToolDefinition, type AnyTool, type ToolContext, type ToolOutput } from "./define-tool.js";
export { ToolError } from "./errors.js";
export { builtinTools } from "./builtin-tools.js";
export { WorkspacePaths, SHARED_DIR, type ResolvedPath, type ResolveOptions } from "./workspace-paths.js";
export { OutputStore, OUTPUT_DIR } from "./output-store.js";
export { headTail, omissionMarker, type BoundedText } from "./bounded-text.js";

// Built-in tools (each exports its parameters at module scope for contract tests)
export { fileReadTool, fileReadParameters } from "./file-read.js";
export { fileWriteTool, fileWriteParameters } from "./file-write.js";
export { editTool, editParameters } from "./edit.js";
export { applyPatchTool, applyPatchParameters } from "./apply-patch.js";
export { globTool, globParameters } from "./glob.js";
export { grepTool, grepParameters } from "./grep.js";
export { lsTool, lsParameters } from "./ls.js";
export { shellTool, shellParameters } from "./shell.js";
export { shellCloseTool, shellCloseParameters } from "./shell-close.js";
export { ShellSessions, KILL_GRACE_MS, type ShellSession, type ShellExit } from "./shell-sessions.js";
