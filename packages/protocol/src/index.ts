// The wire contract between the Starling host (or any embedder) and `starling-worker`.

// Shared values
export {
  TextItem,
  FileItem,
  ContentItem,
  ToolCallItem,
  ToolResultItem,
  ReasoningItem,
  TranscriptItem,
  ChatMessage,
  TranscriptMessage,
  Usage,
  TurnErrorKind,
  TurnError,
  SessionType,
} from "./values.js";
export { ClaudeEffort, ModelConfig, ProviderType, ModelCapability, RetryMode, MIN_CHAT_CONTEXT_TOKENS, CLAUDE_DEFAULT_MAX_TOKENS, CLAUDE_MIN_THINKING_BUDGET, TOOL_RESULT_MAX_CHARS, TOOL_RESULT_TOKENS, type ModelConfigInput } from "./model-config.js";

// Model sign-in material the host owns (codex_subscription)
export { FoundReal, type HiddenPathsParams, type HiddenPathsResult } from "./hidden-report.js";
export { type CredentialsParams, type CredentialsResult, CODEX_SECRET_NAMES, jwtClaims, jwtExpiresAtMs, chatgptAccountId, chatgptFedramp, tokenSha256 } from "./model-credentials.js";

// MCP servers (initialize.mcpServers, live_state.mcp)
export { mcpServerSpec, type McpServerSpec, mcpServers, type McpServers, mcpServerStatus, type McpServerStatus, MCP_SERVER_NAME, mcpSecretNames, type McpServerSpecInput } from "./mcp.js";

// History a session starts with (initialize.seedHistory)
export { seedMessage, type SeedMessage, seedHistory, seedMessageChars, SEED_HISTORY_MAX_MESSAGES, SEED_HISTORY_MAX_CHARS } from "./seed-history.js";

// Events
export {
  SessionEvent,
  SessionEventParams,
  DURABLE_EVENT_TYPES,
  isDurableEvent,
  TOOL_EVENT_ARGUMENT_CHARS,
  TOOL_EVENT_RESULT_CHARS,
  type SessionEventType,
  type SessionEventOf,
} from "./events.js";

// Methods
export {
  PROTOCOL_VERSION,
  Methods,
  type MethodDescriptor,
  CompressionSettings,
  UnfinishedTurn,
  InitializeParams,
  SecretDigest,
  type InitializeResult,
  ToolSandbox,
  RemoteMode,
  SessionStateName,
  EnqueueParams,
  type EnqueueResult,
  controlParams,
  type ControlParams,
  cancelParams,
  type CancelParams,
  type ControlResult,
  COMPACTION_STOPPED,
  queryParams,
  type QueryParams,
  type QueryResult,
  type LiveState,
  type TranscriptPage,
  type UsageView,
  AckEventsParams,
  type CoordinateParams,
  type CoordinateResult,
} from "./methods.js";
export { type BackgroundCounts, describeBackground, hasBackground } from "./background-work.js";

// host/coordinate actions (ARCHITECTURE §9 host tools)
export {
  COORDINATE_ACTIONS,
  COORDINATE_ACTION_NAMES,
  CRON_LIMITS,
  CRON_SCHEDULE_FIELDS,
  CoordinateRequest,
  type CreateCronTask,
  type UpdateCronTask,
  type CronTask,
  type CronTaskSummary,
  type PlanStep,
  actionsForSessionType,
  isCoordinateAction,
  type CoordinateAction,
  type CoordinatePayload,
  type CoordinateActionResult,
  type CoordinateRequestOf,
  type UpstreamPush,
  type AgentInfo,
  type AgentStatus,
  type AgentStats,
} from "./coordinate.js";

// Skills: SKILL.md format and naming rules (ARCHITECTURE §9 "Skills")
export {
  SKILL_LIMITS,
  SKILL_NAME_PATTERN,
  skillNameProblem,
  branchProblem,
  repoUrlProblem,
  validateSkillMd,
  describeSkillMd,
  type SkillMd,
} from "./skill-md.js";

// Schemas built on first use (kept out of the worker's start-up snapshot)
export { beginSchemaWarmUp, lazyArguments, lazyOptional, lazySchema, releaseWarmUpSchemas } from "./lazy-schema.js";

// Tool names (ARCHITECTURE §9)
export { TOOL_NAMES, MCP_TOOL_PREFIX, unknownToolNames, type ToolName } from "./tool-names.js";

// Errors
export { ErrorCodes, type ErrorCode, ErrorData, formatIssues, describeIssues } from "./errors.js";

// Secret redaction
export { createRedactor, secretDigest, NO_REDACTION, MIN_REDACTED_LENGTH, MIN_DIGEST_LENGTH, type Redactor } from "./redact.js";

// Where a session keeps its state in a workspace (ARCHITECTURE §7)
export { sessionFolderName, sessionStateDir, defaultSessionDataDir } from "./session-folder.js";

// Child-process environment and the bubblewrap probe
export { allowlistedEnv, ALLOWED_ENV_NAMES, ALLOWED_ENV_PREFIXES, type AllowlistOptions } from "./env-allowlist.js";
export { probeBubblewrap, INSTALL_BUBBLEWRAP_HINT, type BubblewrapProbe } from "./bubblewrap-probe.js";
// How a tool process is spawned in each sandbox mode (the worker's launcher, and `starling doctor` for stdio MCP servers)
export { toolCommand, toolEnvironment, withLimits, type KnownSecrets, type ToolCommand } from "./tool-command.js";
export { bubblewrapArgs, SandboxSetupError } from "./bubblewrap-args.js";
export { type HiddenEntry, hiddenEntries, HiddenPathMemory, isSameOrUnder, processHiddenMemory, type LinkedFile, linkedFilesUnder, MAX_HIDDEN_FOLDER_ENTRIES, MAX_REMEMBERED_PER_PATH } from "./hidden-entries.js";
export { SANDBOX_SYSTEM_DIRS, SANDBOX_RESOLVER_DIR, WELL_KNOWN_SECRET_PATHS, wellKnownSecretPaths, hiddenPathProblem, withoutTrailingSlash } from "./sandbox-paths.js";
export { pidNamespaceUnshareArgs, probePidNamespace, type PidNamespaceProbe } from "./pid-namespace-args.js";
export { sshAliasProblem, sshEnv, sshConfigArgs, SSH_CONFIG_ENV } from "./ssh.js";
export { scrubOwnEnviron } from "./environ-scrub.js";

// Process helpers
export { deadline, type Deadline } from "./deadline.js";
export { IdleCollector, type IdleCollectorOptions } from "./idle-gc.js";
export { FrameWriter } from "./frame-writer.js";
export { FrameReader, StalledFrameError, WORKER_MAX_FRAME_BYTES, type PartialFrame } from "./frame-reader.js";
export { crashPoint, failAfterWritePoint, failPoint, stallPoint, InjectedIoError, InjectedLevelIoError, WORKER_CRASH_POINTS, TOOL_CRASH_POINTS, type WorkerCrashPoint, type ToolCrashPoint } from "./crash-point.js";
export {
  WorkerClient,
  spawnWorker,
  WorkerRequestError,
  WorkerGoneError,
  type CoordinateHandler,
  type SpawnWorkerOptions,
  type WorkerExit,
} from "./worker-client.js";
export { EXTRA_CA_ENV, extraCaList } from "./extra-ca.js";
export { keepAliveClient, postOverKeepAlive, type PostClient, type PostOptions, type PostExchange } from "./http-post.js";

// Files reached through an open folder's descriptor (the worker's file tools, the web channel's uploads)
export { ConfinedDir, MakeDirsError } from "./confined-dir.js";

// LevelDB batches straight to classic-level's native write (the host's store and the worker's journal)
export { nativeJsonBatch, type JsonBatchOp, type JsonLevel } from "./native-batch.js";
