import type { FileItem, Redactor, RemoteMode, ToolSandbox, TurnErrorKind } from "@starling/protocol";
import type { KnownSecrets } from "./tool-process.js";
import type { HelperModels } from "../providers/helper-models.js";
import type { AnyTool } from "./define-tool.js";
import type { AddressPolicy } from "./web/address-policy.js";
import type { ToolSource } from "./tool-source.js";

/** What the model is offered for one tool: name, description and JSON Schema of the arguments. */
export interface ToolSchema {
  name: string;
  description: string;
  parameters: Record<string, unknown>;
}

/** A tool call to execute, exactly as the model produced it (`arguments` is raw JSON text). */
export interface ToolCallRequest {
  id: string;
  name: string;
  arguments: string;
}

/** Outcome of one tool call. Never thrown: failures are results with `isError`. */
export interface ToolRunResult {
  /** Text the model sees (already bounded). */
  content: string;
  isError: boolean;
  /** Structured data for hosts/UIs; not shown to the model. */
  details?: Record<string, unknown>;
  /** Files the tool returned for the model to see (stored after the result in the tool message). */
  files?: FileItem[];
}

/**
 * Asks the host to do something a tool needs (user_tell, update_plan, …). Rejects on failure/timeout.
 * `ids` (the calling tool's turn and call id) let the host act once per call id (tools/host/ask-host.ts).
 */
export type CoordinateFn = (
  action: string,
  payload: unknown,
  signal: AbortSignal,
  ids?: { turnId: number | null; callId: string | null },
) => Promise<unknown>;

export interface ToolRuntimeOptions extends ToolRuntimeExtras {
  /** Absolute workspace path; every path argument is confined to it (and `shared/` inside it). */
  workspace: string;
  sessionId: string;
  coordinate: CoordinateFn;
}

export interface ToolRunOptions {
  turnId: number;
  /** Aborted on cancel or interrupt: the tool must stop promptly and kill any child process group. */
  signal: AbortSignal;
}

/** Error classes a tool failure maps onto in results' `details.kind`. */
export type ToolErrorKind = "invalid_arguments" | "unknown_tool" | "path_escape" | "not_found" | "failed" | "aborted";
export type { TurnErrorKind };

/** Optional knobs of a ToolRuntime (added to ToolRuntimeOptions; all have defaults). */
export interface ToolRuntimeExtras {
  /**
   * The tools this runtime offers and runs (its catalog). Default: `builtinTools()` (files, search,
   * shell). Only these can run; any other name is refused.
   */
  tools?: readonly AnyTool[];
  /**
   * Tool names removed from the catalog (config `tools.deny`, `initialize.toolDeny`): never offered,
   * and a call to one gets "unknown tool" like any name outside the catalog.
   */
  deny?: readonly string[];
  /** Where `remote` tools run (ARCHITECTURE §9.1); default off (locally). */
  remote?: RemoteMode;
  /** Longest result text shown to the model before head + tail cutting (default 20 000 characters). */
  maxResultChars?: number;
  /**
   * What `web_fetch` and downloads may connect to (config `tools.web_private_networks`). Default:
   * public addresses only.
   */
  network?: AddressPolicy;
  /** Helper models (search, media analysis, image generation) for the tools that use them. */
  helpers?: HelperModels;
  /** How tool processes start (`initialize.sandbox`); default subprocess with the allowlisted environment. */
  sandbox?: ToolSandbox;
  /** Secret names and values the worker knows: kept out of tool processes' environments. */
  secrets?: KnownSecrets;
  /** Applied to every result before the model (and the history) sees it. */
  redactor?: Redactor;
  /** Tools known only at run time (MCP servers), offered after the built-in ones (tools/tool-source.ts). */
  sources?: readonly ToolSource[];
  /** Work tools leave running between calls (downloads, media jobs): stopped with the shell sessions by `killAll`. */
  background?: readonly BackgroundWork[];
  /** Real paths of hidden paths found mid-life, reported to the host: each tool call and command waits for the answer. */
  hiddenReports?: { settled(): Promise<void> };
}

/** Something tools start that outlives the call (a download, a helper-model job). */
export interface BackgroundWork {
  /** Stops all of it; resolves, once nothing more is fetched or written, with how many were running. */
  stopAll(): Promise<number> | number;
  /** How many are running now. */
  running(): number;
  /** The worker is shutting down: what stopAll stops from now on was interrupted by it (not cancelled by anyone). */
  beforeShutdown?(): void;
}

