import type { FileHandle } from "node:fs/promises";
import type { BackgroundCounts, TurnError } from "@starling/protocol";
import type { ModelProvider } from "../providers/types.js";
import type { SessionStore } from "../store/session-store.js";
import type { ToolCallRequest, ToolRunOptions, ToolRunResult, ToolSchema } from "../tools/types.js";
import type { CompactionSettings } from "./compaction.js";
import type { ContextWindowMemory } from "./context-window-memory.js";
import type { RefusedUrlMemory } from "./refused-url-memory.js";
import type { TurnJournal } from "./turn-journal.js";

/** The tool side of a session, as the machine needs it (implemented by ToolRuntime). */
export interface SessionTools {
  catalog(): ToolSchema[];
  /** Brings a changing catalog (MCP servers) up to date; awaited before each model call. */
  prepare?(signal: AbortSignal): Promise<void>;
  /** Whether `prepare` has anything to do (tool sources exist); absent: it is called whenever it exists. */
  readonly preparable?: boolean;
  isReadOnly(name: string): boolean;
  run(call: ToolCallRequest, options: ToolRunOptions): Promise<ToolRunResult>;
  /** Kills every running child process group and stops background work (on cancel and shutdown); resolves with how many were still running. */
  killAll(): Promise<number>;
  /** What tools left running past their calls (ToolRuntime.background); absent: nothing is ever left running. */
  background?(): BackgroundCounts;
  /** The worker is shutting down: what is stopped from now on was interrupted (ToolRuntime.beforeShutdown). */
  beforeShutdown?(): void;
  /** Opens a file:// path of the context for reading, confined to the workspace (ToolRuntime.openFile). */
  openFile?(abs: string): Promise<FileHandle>;
}

export interface SessionLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/** Everything the SessionActor's invoked actors use. Passed in, never reached as globals. */
export interface SessionDeps {
  store: SessionStore;
  journal: TurnJournal;
  tools: SessionTools;
  provider: ModelProvider;
  systemPrompt: () => string;
  /** The session's workspace (images a model returns are saved under its `generated/`). */
  workspace: string;
  /** Runs before a turn starts; a text it returns goes into history ahead of the turn's input (skill change notices). */
  turnNotice?: () => Promise<string | null>;
  stepLimit: number;
  compression: CompactionSettings | null;
  /** The model's context window learned from a refusal (kept in the store across worker starts). */
  window: ContextWindowMemory;
  /** Files given by URL the provider refused, sent as notes (kept in the store across worker starts). */
  refusedUrls: RefusedUrlMemory;
  streamDeltas: boolean;
  log: SessionLogger;
}

export interface TurnFailure {
  error: TurnError;
  canContinue: boolean;
}
