import { z } from "zod";
import { ModelConfig } from "./model-config.js";
import { ChatMessage, SessionType, TranscriptMessage, Usage } from "./values.js";
import { sessionEventParams } from "./events.js";
import { mcpServers, mcpServerStatus } from "./mcp.js";
import { lazyArguments, lazyOptional, lazySchema } from "./lazy-schema.js";
import { credentialsParams, credentialsResult } from "./model-credentials.js";
import { hiddenPathsParams, hiddenPathsResult } from "./hidden-report.js";
import { seedHistory } from "./seed-history.js";

export const PROTOCOL_VERSION = 1;

/**
 * One JSON-RPC method: its name, direction and the zod schemas of its params and result. Results are
 * parsed only by the host (worker-client.ts): each is built on first use (`lazySchema`), so the worker's
 * start-up snapshot does not hold them; `result` reads it. So are the params of the requests a worker
 * sends (`host/coordinate`, `model/credentials`: the host parses them).
 */
export interface MethodDescriptor<P extends z.ZodType, R extends z.ZodType> {
  method: string;
  direction: "hostToWorker" | "workerToHost";
  kind: "request" | "notification";
  params: P;
  result: R;
}
function request<P extends z.ZodType, R extends z.ZodType>(
  method: string,
  direction: MethodDescriptor<P, R>["direction"],
  params: P | (() => P),
  result: () => R,
): MethodDescriptor<P, R> {
  return {
    method,
    direction,
    kind: "request",
    get params() {
      return typeof params === "function" ? params() : params;
    },
    get result() {
      return result();
    },
  };
}

export const CompressionSettings = z.object({
  /** Compact when the estimated context passes this many tokens (0 disables compaction). */
  thresholdTokens: z.number().int().nonnegative(),
  /** Keep about this many tokens of the newest messages verbatim. */
  retainRecentTokens: z.number().int().nonnegative(),
});
export type CompressionSettings = z.infer<typeof CompressionSettings>;

export const UnfinishedTurn = z.object({
  turnId: z.number().int().nonnegative(),
  /** `crash` (worker died mid-turn), `failed` (recoverable error), `cancelled`, `step_limit`. */
  reason: z.string(),
});
export type UnfinishedTurn = z.infer<typeof UnfinishedTurn>;

/** How tool processes are started (ARCHITECTURE §2 "Secrets and what a tool can see"). */
export const ToolSandbox = z.object({
  /** `subprocess`: plain child processes (trusted use); `bubblewrap`: each tool process in its own bwrap. */
  mode: z.enum(["subprocess", "bubblewrap"]),
  bubblewrapBinary: z.string().min(1).default("bwrap"),
  /** The shared folder across conversations (bound read-write in bubblewrap mode). */
  sharedDir: z.string().refine((p) => p.startsWith("/"), "must be an absolute path").optional(),
  /** Host folder exposed read-only at `softwareMountPath` (and as STARLING_SOFTWARE_DIR). */
  softwareDir: z.string().refine((p) => p.startsWith("/"), "must be an absolute path").optional(),
  softwareMountPath: z.string().refine((p) => p.startsWith("/"), "must be an absolute path").default("/opt"),
  /** false: tool processes get no network (bubblewrap mode). */
  network: z.boolean().default(true),
  /**
   * Subprocess mode: shell commands run in a PID namespace of the worker's, so /cancel and the worker's
   * death stop what left its process group (config `sandbox.pid_namespace`). Bubblewrap mode always has one.
   */
  pidNamespace: z.boolean().default(true),
  /** Extra variables for tool processes (config `sandbox.env`), on top of the allowlisted ones. */
  env: z.record(z.string(), z.string()).default({}),
  /**
   * Per-process resource limits of every tool process (config `sandbox.memory_limit_mb`,
   * `cpu_limit_seconds`, `file_size_limit_mb`): RLIMIT_DATA, RLIMIT_CPU, RLIMIT_FSIZE, hard and soft.
   */
  limits: z
    .object({
      memoryMb: z.number().int().positive().optional(),
      cpuSeconds: z.number().int().positive().optional(),
      fileSizeMb: z.number().int().positive().optional(),
    })
    .default({}),
  /**
   * Files and folders no tool may read (the host's config and env file, with their real paths, config
   * `sandbox.hidden_paths`, and every real path one of these led to at an earlier worker start or that a worker
   * reported mid-life (`sandbox/hiddenPaths`), which the host remembers in its own database: a link the agent
   * repointed since does not unmask the old target). In bubblewrap mode each one that exists and that a bound folder
   * would show (a config under /etc, say) is masked by its real path with an empty file, a folder
   * with an empty tmpfs; the worker adds `WELL_KNOWN_SECRET_PATHS` itself. In both modes the file tools
   * refuse them (and a hard link to a hidden file): core's `HiddenFiles`.
   */
  hiddenPaths: z.array(z.string().refine((p) => p.startsWith("/"), "must be an absolute path")).default([]),
});
export type ToolSandbox = z.infer<typeof ToolSandbox>;

/** ARCHITECTURE §9.1. `fixed`: tools run in `path` on SSH alias `host`; `selectable`: tools take an optional `remote` alias. */
export const RemoteMode = z.discriminatedUnion("mode", [
  z.object({ mode: z.literal("off") }),
  z.object({ mode: z.literal("fixed"), host: z.string().min(1), path: z.string().min(1) }),
  z.object({ mode: z.literal("selectable") }),
]);
export type RemoteMode = z.infer<typeof RemoteMode>;

export const SecretDigest = z.object({
  name: z.string().min(1),
  length: z.number().int().min(12).max(512),
  sha256: z.string().regex(/^[0-9a-f]{64}$/, "must be 64 lower-case hex digits"),
});
export type SecretDigest = z.infer<typeof SecretDigest>;

export const InitializeParams = z.object({
  protocolVersion: z.literal(PROTOCOL_VERSION),
  sessionId: z.string().min(1),
  sessionType: SessionType,
  /** Absolute path of the workspace; tools are confined to it. */
  workspace: z.string().min(1).refine((p) => p.startsWith("/"), "must be an absolute path"),
  model: ModelConfig,
  compression: CompressionSettings.optional(),
  /** Named helper models (search, image, …) by alias. */
  helperModels: z.record(z.string(), ModelConfig).optional(),
  /**
   * Values of the environment variables the models name (`api_key_env` → value). Providers read
   * keys from here first, then from the worker's own environment (embedders may still use that).
   * The host passes keys this way so no worker's `/proc/<pid>/environ` holds one. Never logged.
   */
  secrets: z.record(z.string(), z.string()).optional(),
  /**
   * Secrets the worker must not know but should still redact (the host's bot tokens, keys of models
   * this session does not use): name, length and SHA-256 (hex) of the value. Tool results and logs
   * are searched for runs of token characters whose hash matches (`createRedactor`'s `digests`).
   */
  secretDigests: z.array(SecretDigest).optional(),
  /** How tool processes (shell, background shells, ssh) are started; default: subprocess, no extra env. */
  sandbox: ToolSandbox.optional(),
  /** Where file tools and `shell` run: locally (default), on one SSH host, or on an alias the model picks. */
  remote: RemoteMode.optional(),
  /** Tool names never offered to this session (config `tools.deny`). */
  toolDeny: z.array(z.string()).optional(),
  /** `web_fetch` and downloads may reach loopback, private and link-local addresses (config `tools.web_private_networks`; default false). */
  webPrivateNetworks: z.boolean().optional(),
  /** Maximum model calls per turn before the turn fails recoverably (default 200). */
  stepLimit: z.number().int().positive().optional(),
  /** Session database directory; default `sessionStateDir(workspace, sessionId)/db` (session-folder.ts: the host's rule). */
  dataDir: z.string().optional(),
  /** Emit `assistant_delta` events while the model streams (default false). */
  streamDeltas: z.boolean().optional(),
  /** Extra text appended to the system prompt (persona, channel hints). */
  systemPromptExtra: z.string().optional(),
  /** Milliseconds a `host/coordinate` call may take (default 60000). */
  coordinateTimeoutMs: z.number().int().positive().optional(),
  /**
   * `host/coordinate` actions the host serves (coordinate.ts). The worker offers a host tool only when
   * its action is listed here and the session type has it (reference §3.2); absent: no host tools.
   */
  hostActions: z.array(z.string()).optional(),
  /**
   * MCP servers whose tools join the catalog as `mcp__<server>__<tool>` (config `mcp_servers`, minus the
   * ones disabled for the conversation). Absent or empty: the MCP client is never loaded.
   */
  mcpServers: lazyOptional(mcpServers),
  /**
   * History the session starts with (an imported conversation's, seed-history.ts). Applied only to a session
   * whose journal has never held a message, in one durable batch (commit point `seed_history`) before
   * `initialize` is answered; a session that already has history ignores it, so the host may send it again
   * until it has seen an answer.
   */
  seedHistory: lazyOptional(seedHistory),
});
export type InitializeParams = z.infer<typeof InitializeParams>;

export const SessionStateName = z.enum([
  "initializing",
  "idle",
  "callingModel",
  "runningTools",
  "compacting",
  "interrupting",
  "awaitingContinue",
  "crashed",
  "stopping",
]);
export type SessionStateName = z.infer<typeof SessionStateName>;

const initializeResult = lazySchema(() =>
  z.object({
    protocolVersion: z.literal(PROTOCOL_VERSION),
    sessionId: z.string(),
    historyLength: z.number().int().nonnegative(),
    nextTurnId: z.number().int().nonnegative(),
    /** Highest event seq the worker has emitted. */
    lastEventSeq: z.number().int().nonnegative(),
    /** Highest seq the host acknowledged; events above it are re-sent after this response. */
    lastAckedSeq: z.number().int().nonnegative(),
    unfinishedTurn: UnfinishedTurn.nullable(),
    queuedInputs: z.number().int().nonnegative(),
  }),
);
export type InitializeResult = z.infer<ReturnType<typeof initializeResult>>;

export const EnqueueParams = z.object({
  messageId: z.string().min(1),
  kind: z.enum(["user", "actor"]),
  message: ChatMessage,
  /**
   * Optional: the host has durably processed the events up to this seq (as `session/ackEvents` `upTo`).
   * The worker acknowledges them in the same batch that stores the message (or with `ack_events` for a
   * duplicate), so a busy session needs no separate acknowledgement. A worker that does not know the
   * field ignores it and answers without `lastAckedSeq`; the host then acknowledges them apart.
   */
  ackUpTo: z.number().int().nonnegative().optional(),
});
export type EnqueueParams = z.infer<typeof EnqueueParams>;
const enqueueResult = lazySchema(() =>
  z.object({
    accepted: z.literal(true),
    duplicate: z.boolean(),
    /** Only when the request carried `ackUpTo`: the highest seq acknowledged once it was applied. */
    lastAckedSeq: z.number().int().nonnegative().optional(),
  }),
);
export type EnqueueResult = z.infer<ReturnType<typeof enqueueResult>>;

// The params of the requests below are built on first use (lazyArguments: the snapshot's warm-up parses
// them, but does not keep them): a session may never be cancelled, continued or queried.
export const controlParams = lazyArguments(() => z.object({ reason: z.string().optional() }));
export type ControlParams = z.infer<ReturnType<typeof controlParams>>;
/**
 * `endUnfinished`: instead of stopping a running turn, end this unfinished turn (one waiting for
 * `session/continue`) for good: it is closed as cancelled, cannot be continued, and `turn_cancelled` is
 * sent. Refused when that turn is not the one waiting (running again, superseded, finished). The host
 * uses it for a session nobody can /continue (a cron task's) once its automatic continues are used up.
 */
export const cancelParams = lazyArguments(() => controlParams().extend({ endUnfinished: z.number().int().positive().optional() }));
export type CancelParams = z.infer<ReturnType<typeof cancelParams>>;
const controlResult = lazySchema(() => z.object({ accepted: z.boolean(), reason: z.string().optional() }));
export type ControlResult = z.infer<ReturnType<typeof controlResult>>;
/** `session/cancel`'s reason (not accepted) when it stopped a compaction `session/compact` started: nothing else is stopped. */
export const COMPACTION_STOPPED = "stopped the compaction /compact started (no turn is running)";

export const queryParams = lazyArguments(() =>
  z.discriminatedUnion("view", [
    z.object({
      view: z.literal("live_state"),
      /** Also count what tools left running past their turns (`background`); it scans /proc, so not for every turn. */
      background: z.boolean().optional(),
    }),
    z.object({
      view: z.literal("transcript_page"),
      /** `all`: the full uncompacted log; `current`: what the model sees now (summary + recent). */
      source: z.enum(["all", "current"]).default("all"),
      offset: z.number().int().nonnegative().default(0),
      limit: z.number().int().positive().max(500).default(50),
    }),
    z.object({ view: z.literal("message_detail"), index: z.number().int().nonnegative() }),
    z.object({ view: z.literal("usage") }),
  ]),
);
export type QueryParams = z.input<ReturnType<typeof queryParams>>;

const liveState = () =>
  z.object({
    view: z.literal("live_state"),
    state: SessionStateName,
    turnId: z.number().int().nullable(),
    step: z.number().int().nonnegative(),
    toolName: z.string().nullable(),
    queuedInputs: z.number().int().nonnegative(),
    turnStartedAt: z.string().nullable(),
    unfinishedTurn: UnfinishedTurn.nullable(),
    /** Each MCP server's state (absent when the session has none). */
    mcp: z.array(mcpServerStatus()).optional(),
    /**
     * Asked with `background: true`: what tools left running past their turns, which the worker's exit would stop
     * (shell commands still running or that left a process alive; downloads and media jobs). The host's idle
     * shutdown waits while there is any.
     */
    background: z.object({ commands: z.number().int().nonnegative(), jobs: z.number().int().nonnegative() }).optional(),
  });
const transcriptPage = () =>
  z.object({
    view: z.literal("transcript_page"),
    source: z.enum(["all", "current"]),
    total: z.number().int().nonnegative(),
    offset: z.number().int().nonnegative(),
    messages: z.array(TranscriptMessage),
  });
const messageDetail = () => z.object({ view: z.literal("message_detail"), message: TranscriptMessage });
const usageView = () =>
  z.object({
    view: z.literal("usage"),
    total: Usage,
    turns: z.number().int().nonnegative(),
    lastTurn: Usage.nullable(),
    contextTokensEstimate: z.number().int().nonnegative(),
  });
const queryResult = lazySchema(() => z.discriminatedUnion("view", [liveState(), transcriptPage(), messageDetail(), usageView()]));
export type QueryResult = z.infer<ReturnType<typeof queryResult>>;
export type LiveState = Extract<QueryResult, { view: "live_state" }>;
export type TranscriptPage = Extract<QueryResult, { view: "transcript_page" }>;
export type UsageView = Extract<QueryResult, { view: "usage" }>;

export const AckEventsParams = z.object({ upTo: z.number().int().nonnegative() });
export type AckEventsParams = z.infer<typeof AckEventsParams>;

/**
 * The `host/coordinate` envelope. The host validates the payload per action with CoordinateRequest
 * (coordinate.ts), so an unknown action gets "unsupported host action" rather than a schema error.
 */
const coordinateParams = lazySchema(() =>
  z.object({
    /** `user_tell`, `update_plan`, `create_cron_task`, … (coordinate.ts COORDINATE_ACTIONS) */
    action: z.string(),
    turnId: z.number().int().nullable(),
    /** The tool call id: the host records the outcome under it and answers a repeat with that outcome. */
    callId: z.string().nullable(),
    payload: z.unknown(),
  }),
);
export type CoordinateParams = z.infer<ReturnType<typeof coordinateParams>>;
const coordinateResult = lazySchema(() =>
  z.object({
    ok: z.boolean(),
    result: z.unknown().optional(),
    error: z.string().optional(),
  }),
);
export type CoordinateResult = z.infer<ReturnType<typeof coordinateResult>>;

export const Methods = {
  initialize: request("initialize", "hostToWorker", InitializeParams, initializeResult),
  enqueue: request("session/enqueue", "hostToWorker", EnqueueParams, enqueueResult),
  cancel: request("session/cancel", "hostToWorker", cancelParams, controlResult),
  continue: request("session/continue", "hostToWorker", controlParams, controlResult),
  /**
   * Compact the history now (the chat's /compact): accepted only while the session rests (no turn running or
   * unfinished); the outcome comes as a durable `manual_compaction` event. `session/cancel` stops it (no event).
   */
  compact: request("session/compact", "hostToWorker", controlParams, controlResult),
  query: request("session/query", "hostToWorker", queryParams, queryResult),
  ackEvents: request("session/ackEvents", "hostToWorker", AckEventsParams, lazySchema(() => z.object({ lastAckedSeq: z.number().int() }))),
  shutdown: request("shutdown", "hostToWorker", z.object({}).optional(), lazySchema(() => z.object({}))),
  coordinate: request("host/coordinate", "workerToHost", coordinateParams, coordinateResult),
  /** Optional (model-credentials.ts): a fresh access token for a model whose refresh token only the host holds. */
  credentials: request("model/credentials", "workerToHost", credentialsParams, credentialsResult),
  /** Optional (hidden-report.ts): real paths of hidden paths a worker found mid-life, kept by the host for later workers. */
  hiddenPaths: request("sandbox/hiddenPaths", "workerToHost", hiddenPathsParams, hiddenPathsResult),
  event: {
    method: "session/event",
    direction: "workerToHost",
    kind: "notification",
    // A getter: the worker only sends events (events.ts builds their schemas on first use).
    get params() {
      return sessionEventParams();
    },
    result: z.void(),
  } satisfies MethodDescriptor<ReturnType<typeof sessionEventParams>, z.ZodVoid>,
} as const;
