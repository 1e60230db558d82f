import type { ToolOutput } from "./define-tool.js";
import type { ToolSchema } from "./types.js";

/** What a tool of a ToolSource gets for one call. */
export interface ToolSourceCall {
  workspace: string;
  callId: string;
  turnId: number;
  signal: AbortSignal;
}

/**
 * Tools whose catalog is only known at run time and may change (MCP servers). The ToolRuntime offers
 * them beside its own tools: `prepare` runs before every model call (start servers, re-list changed
 * tool lists), then `catalog` is read; arguments arrive parsed from JSON, not validated.
 */
export interface ToolSource {
  prepare(signal: AbortSignal): Promise<void>;
  catalog(): ToolSchema[];
  has(name: string): boolean;
  isReadOnly(name: string): boolean;
  /** May throw a ToolError (mapped to an error result like any tool's). */
  run(name: string, args: unknown, call: ToolSourceCall): Promise<ToolOutput>;
  dispose(): Promise<void>;
}
