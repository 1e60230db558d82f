import type { FileItem } from "@starling/protocol";
import type { z } from "zod";
import type { HelperModels } from "../providers/helper-models.js";
import type { AddressPolicy } from "./web/address-policy.js";
import type { OutputStore } from "./output-store.js";
import type { ShellSessions } from "./shell-sessions.js";
import type { RemoteWorkspace } from "./remote/remote-workspace.js";
import type { CoordinateFn } from "./types.js";
import type { WorkspacePaths } from "./workspace-paths.js";

/** What a tool's `execute` gets besides its arguments. Built per call by the ToolRuntime. */
export interface ToolContext {
  /** Real (symlink-resolved) workspace root. */
  workspace: string;
  /** Resolves and confines path arguments; use it for every path a tool touches. */
  paths: WorkspacePaths;
  /** Where full outputs are kept (`<workspace>/.output/`). */
  outputs: OutputStore;
  /** Background shell sessions of this runtime. */
  shells: ShellSessions;
  sessionId: string;
  callId: string;
  turnId: number;
  /** Aborted on cancel or interrupt: stop promptly and kill any child process. */
  signal: AbortSignal;
  coordinate: CoordinateFn;
  /** Set when this call runs on an SSH host (fixed mode, or a `remote` argument in selectable mode); only for `remote` tools. */
  remote: RemoteWorkspace | null;
  /**
   * Fixed mode's remote workspace, for every tool: those that stay local (downloads, media) say their files are not
   * there (remote/local-note.ts).
   */
  fixedRemote: RemoteWorkspace | null;
  /** Which addresses network tools may reach (ARCHITECTURE §6 `tools.web_private_networks`). */
  network: AddressPolicy;
  /** Helper models; undefined when the embedder configured none (search falls back, analysis is unavailable). */
  helpers?: HelperModels;
}

/** What `execute` may return. A bare string is `{ content }`. */
export interface ToolOutput {
  /** Text for the model. The runtime bounds it (head + tail) and keeps the full text under `.output/`. */
  content: string;
  /** Structured data for hosts and UIs; not shown to the model. */
  details?: Record<string, unknown>;
  isError?: boolean;
  /**
   * Files for the model to look at (image_load, pdf_load, generated images). They are stored with the
   * result and shown to the model after the tool results, normalised like user files.
   */
  files?: FileItem[];
}

/** One tool: model-facing description and parameters, plus its implementation. */
export interface ToolDefinition<S extends z.ZodObject = z.ZodObject> {
  name: string;
  /** Written for the model. */
  description: string;
  /**
   * A `z.object` with `.describe()` on every field, built on first use: `lazyArguments(() => z.object(...))`
   * (@starling/protocol) at module level, or a host action's `COORDINATE_ACTIONS.<a>.args`. Its JSON Schema is
   * what the model sees; the runtime caches that keyed by the builder, so make the builder once, not per session.
   */
  parameters: () => S;
  /**
   * May be re-run after a crash (ARCHITECTURE §5.3): no side effects, or (host tools) side effects the
   * host performs once per call id, so a re-run returns the recorded outcome instead of acting twice.
   */
  readOnly: boolean;
  /** Can run on a remote workspace (ARCHITECTURE §9.1): gets `ctx.remote`, and a `remote` argument in selectable mode. */
  remote?: boolean;
  /**
   * Runs the tool with validated arguments. May throw: a `ToolError` becomes an error result with its
   * message; an `fs` error becomes a "not found"/"failed" result naming the path.
   */
  execute(args: z.output<S>, ctx: ToolContext): Promise<string | ToolOutput>;
}

/** Any tool, whatever its parameter schema. */
export type AnyTool = ToolDefinition<z.ZodObject>;

/** Declares a tool; the identity function, there for type inference of `execute`'s arguments. */
export function defineTool<S extends z.ZodObject>(definition: ToolDefinition<S>): ToolDefinition<S> {
  return definition;
}
