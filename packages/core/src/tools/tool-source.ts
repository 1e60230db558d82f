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
 * Most tools one model request offers, built-in and from sources together: some model APIs refuse a
 * request with more than 128 tools.
 */
export const MAX_OFFERED_TOOLS = 128;

/**
 * Tools whose catalog is only known at run time and may change (MCP servers). The ToolRuntime offers
 * them beside its own tools: `prepare` runs before every model call (start servers, re-list changed
 * tool lists), then `catalog` is read; arguments arrive parsed from JSON, not validated.
 */
export interface ToolSource {
  prepare(signal: AbortSignal): Promise<void>;
  /**
   * The room the runtime leaves: at most `room` tools outside `denied` (which the runtime drops
   * anyway) in `catalog`; the source reports what it leaves out. Called once, before `prepare`.
   */
  offerAtMost(room: number, builtin: number, denied: ReadonlySet<string>): void;
  catalog(): ToolSchema[];
  has(name: string): boolean;
  isReadOnly(name: string): boolean;
  /** May throw a ToolError (mapped to an error result like any tool's). */
  run(name: string, args: unknown, call: ToolSourceCall): Promise<ToolOutput>;
  dispose(): Promise<void>;
}
