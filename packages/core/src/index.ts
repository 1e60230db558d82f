// @starling/core — the session runtime behind starling-worker.

// Sessions
export { Session, defaultDataDir, DEFAULT_STEP_LIMIT, type SessionOptions } from "./session/session.js";
export { createSessionActor, sessionMachine, type SessionMachine, type SessionMachineEvent } from "./session/session-machine.js";
export type { SessionDeps, SessionTools, SessionLogger } from "./session/session-deps.js";
export { TurnJournal } from "./session/turn-journal.js";
export { TurnControl, INTERRUPT_GRACE_MS } from "./session/turn-control.js";
export { estimateTokens, currentContext, compactionSplit, CHARS_PER_TOKEN } from "./session/context-window.js";
export { tokenEstimatorFor, heuristicEstimator, openAIEncoding, type TokenEstimator } from "./tokens/estimator.js";
export { buildSystemPrompt } from "./prompt/system-prompt.js";

// Store
export { SessionStore, WORKER_CRASH_POINTS, DEFAULT_WRITE_RETRY, type SessionDb, type CommitPoint, type WriteError, type WriteRetryPolicy } from "./store/session-store.js";
export { FolderError, StoreLockedError } from "./store/errors.js";
export type { OutboxEntry, TurnRecord, QueuedInput } from "./store/records.js";

// Providers
export { createProvider, NodeResponse, releaseBodyBuffer, type HttpProviderOptions, type PostJson } from "./providers/index.js";
export { ProviderError, type ModelProvider, type ModelRequest, type ModelResponse } from "./providers/types.js";
export type { SearchProvider, SearchRequest, SearchResult } from "./providers/search-types.js";
export type { ImageProvider, ImageInput, ImageResult, GeneratedImage } from "./providers/image-types.js";
export { HELPER_ROLES, helperModelKey, type HelperRole, type HelperModels } from "./providers/helper-models.js";

// Tools
export { ToolRuntime } from "./tools/tool-runtime.js";
export { builtinTools } from "./tools/builtin-tools.js";
export type { ToolSchema, ToolCallRequest, ToolRunResult, CoordinateFn } from "./tools/types.js";
