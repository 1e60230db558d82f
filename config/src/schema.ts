import { isAbsolute } from "node:path";
import { z } from "zod";
import { hiddenPathProblem, ModelConfig as ProtocolModelConfig } from "@starling/protocol";
import { CONFIG_VERSION } from "./version.js";
import { McpServersConfig } from "./mcp-schema.js";

/** Accepts `null` like Stellaclaw (`"software_dir": null`) and turns it into "not set". */
function nullish<T extends z.ZodType>(schema: T) {
  return schema.nullish().transform((value): z.output<T> | undefined => value ?? undefined);
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const TELEGRAM_ID = z.union([z.number().int(), z.string().regex(/^-?\d+$/, { error: "must be a numeric Telegram id" })]);

/** The protocol's ModelConfig, named so the editor schema lists it once under `$defs`. */
const ModelConfig = ProtocolModelConfig.meta({
  id: "ModelConfig",
  description: "One model: provider wire format, endpoint, API key variable, capabilities, limits",
});

/**
 * A helper model for one tool: a model alias (`"search_brave"`), `"<alias>:self"` for the session's
 * own main model, or an inline ModelConfig. Aliases are checked against `models` at load time.
 */
export const ToolModelTarget = z
  .union([z.string().trim().min(1), ModelConfig], { error: "expected a model alias or an inline model object" })
  .describe('Model alias, "<alias>:self" (the session\'s own model), or an inline model');
export type ToolModelTarget = z.output<typeof ToolModelTarget>;

export const TOOL_MODEL_FIELDS = [
  "image_tool_model",
  "pdf_tool_model",
  "audio_tool_model",
  "image_generation_tool_model",
  "search_tool_model",
] as const;
export type ToolModelField = (typeof TOOL_MODEL_FIELDS)[number];

export const SessionDefaults = z
  .object({
    compression_threshold_tokens: nullish(z.number().int().positive()).describe(
      "Compact the history when it passes this many tokens (unset: no compaction)",
    ),
    compression_retain_recent_tokens: nullish(z.number().int().nonnegative()).describe(
      "Tokens of recent history kept verbatim when compacting",
    ),
    image_tool_model: nullish(ToolModelTarget),
    pdf_tool_model: nullish(ToolModelTarget),
    audio_tool_model: nullish(ToolModelTarget),
    image_generation_tool_model: nullish(ToolModelTarget),
    search_tool_model: nullish(ToolModelTarget),
  })
  .prefault({});
export type SessionDefaults = z.output<typeof SessionDefaults>;

export const SandboxConfig = z
  .object({
    mode: z.enum(["subprocess", "bubblewrap"]).default("subprocess").describe("How workers are isolated"),
    bubblewrap_binary: z.string().trim().min(1, { error: "must not be blank" }).default("bwrap"),
    software_dir: nullish(z.string().trim().min(1, { error: "must not be blank when set" })).describe(
      "Host directory of shared tools exposed read-only to sandboxed sessions",
    ),
    software_mount_path: z
      .string()
      .default("/opt")
      .refine((p) => isAbsolute(p), { error: "must be an absolute path" })
      .describe("Where software_dir is mounted inside bubblewrap"),
    env: z
      .record(z.string().regex(ENV_NAME, { error: "must be an environment variable name" }), z.string())
      .default({})
      .describe("Extra environment variables for tool processes (never secrets: the agent can read them)"),
    network: z.boolean().default(true).describe("false: tool processes get no network in bubblewrap mode"),
    hidden_paths: z
      .array(
        z.string().superRefine((path, ctx) => {
          const problem = hiddenPathProblem(path);
          if (problem) ctx.addIssue({ code: "custom", message: problem });
        }),
      )
      .default([])
      .describe(
        "Absolute paths of your own secret files or folders (under /etc, /usr, software_dir, or in a workspace or the shared folder) that no tool may read. Bubblewrap mode masks each from tool processes (a folder shows empty) whenever it exists, also one created after start; in both modes the file tools (read, write, edit, patch, search, media) refuse them, a symlink or hard link to one too. Well-known ones (/etc/shadow, sshd host keys, /etc/ssl/private, /etc/letsencrypt…) are hidden without being listed",
      ),
    pid_namespace: z
      .boolean()
      .default(true)
      .describe(
        "Subprocess mode: shell commands run in a PID namespace, so /cancel stops everything they start; false lets them see and signal the machine's other processes and (not root) use sudo, but a command that leaves its process group escapes /cancel",
      ),
    memory_limit_mb: z
      .number()
      .int({ error: "must be a whole number of MB" })
      .min(16, { error: "must be at least 16 (MB)" })
      .nullable()
      .default(4096)
      .describe("Most memory (data segment, MB) one tool process may allocate; null: no limit"),
    cpu_limit_seconds: z
      .number()
      .int({ error: "must be a whole number of seconds" })
      .positive()
      .nullable()
      .default(null)
      .describe("Most CPU time (seconds) one tool process may use before it is killed; null: no limit"),
    file_size_limit_mb: z
      .number()
      .int({ error: "must be a whole number of MB" })
      .positive()
      .nullable()
      .default(null)
      .describe("Largest file (MB) one tool process may write; null: no limit"),
  })
  .prefault({});
export type SandboxConfig = z.output<typeof SandboxConfig>;

export const TelegramChannelConfig = z.object({
  kind: z.literal("telegram"),
  id: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, { error: "use letters, digits, '.', '_' or '-' (it names folders and conversation ids)" })
    .describe("Channel id; prefix of conversation ids"),
  bot_token_env: z
    .string()
    .regex(ENV_NAME, { error: "must be an environment variable name (letters, digits, _)" })
    .default("TELEGRAM_BOT_TOKEN")
    .describe("Environment variable that holds the bot token"),
  api_base_url: z
    .url({ protocol: /^https?$/, error: "must be an http(s) URL" })
    .default("https://api.telegram.org")
    .transform((url) => url.replace(/\/+$/, "")),
  poll_timeout_seconds: z.number().int().nonnegative().default(30).describe("getUpdates long-poll timeout"),
  poll_interval_ms: z.number().int().nonnegative().default(250).describe("Pause after each batch of updates"),
  pace_sends: z
    .boolean()
    .default(true)
    .describe("Keep to Telegram's send limits (3 messages per 3 s per chat, 20 per minute per group, 30 per second per bot); turn off only for a Bot API server without them, e.g. a local test fake"),
  progress_panel_delay_ms: z
    .number()
    .int()
    .nonnegative()
    .default(1000)
    .describe("A turn still running after this long gets a progress panel (a message edited in place); a faster answer gets none. 0: every turn gets one (and typing) at once"),
  admin_user_ids: z.array(TELEGRAM_ID).default([]).describe("Telegram user ids that are admins from the start"),
  allowed_chat_ids: z.array(TELEGRAM_ID).default([]).describe("Chats approved without asking an admin"),
  group_trigger: z
    .enum(["mention", "all"])
    .default("mention")
    .describe("In groups: `mention` answers messages that mention the bot, reply to it or are commands (the others are kept as context); `all` answers every message"),
});
export type TelegramChannelConfig = z.output<typeof TelegramChannelConfig>;

export const WebChannelConfig = z.object({
  kind: z.literal("web"),
  id: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, { error: "use letters, digits, '.', '_' or '-' (it names folders and conversation ids)" })
    .describe("Channel id; prefix of conversation ids"),
  bind_addr: z
    .string()
    .regex(/^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/, { error: "must be host:port, e.g. 127.0.0.1:8787" })
    .default("127.0.0.1:8787")
    .describe("Address the HTTP API and chat page listen on (loopback by default)"),
  token_env: z
    .string()
    .regex(ENV_NAME, { error: "must be an environment variable name (letters, digits, _)" })
    .default("STARLING_WEB_TOKEN")
    .describe("Environment variable that holds the bearer token every API request must carry"),
});
export type WebChannelConfig = z.output<typeof WebChannelConfig>;

export const ChannelConfig = z.discriminatedUnion("kind", [TelegramChannelConfig, WebChannelConfig]);
export type ChannelConfig = z.output<typeof ChannelConfig>;

export const WorkersConfig = z
  .object({
    idle_shutdown_seconds: z.number().int().positive().default(600).describe("Stop a worker idle this long (one whose tools left work running in the background, such as a server or a download, stays until that ends)"),
    max_concurrent_turns: z.number().int().positive().default(4).describe("Turns running at once, all sessions"),
    warm_spares: z
      .number()
      .int()
      .min(0)
      .max(8)
      .default(1)
      .describe("Workers kept started ahead of need, so a conversation's worker is ready at once (0 turns this off)"),
    max_subagents: z
      .number()
      .int()
      .nonnegative()
      .default(3)
      .describe("Subagents one conversation may have running at once (subagent_start beyond it is refused; 0 turns subagents off)"),
  })
  .prefault({});

export const RecoveryConfig = z
  .object({
    max_auto_continues: z
      .number()
      .int()
      .nonnegative()
      .default(2)
      .describe("Automatic continues of a turn interrupted by a crash before asking the user"),
  })
  .prefault({});

export const AuditConfig = z
  .object({
    max_file_mb: z
      .number()
      .positive()
      .max(1024)
      .default(16)
      .describe("Size (MB) at which a conversation's audit file is rotated"),
    keep_files: z
      .number()
      .int()
      .nonnegative()
      .max(1000)
      .default(4)
      .describe("Rotated audit files kept per conversation (older ones are deleted); 0 keeps only the live file"),
  })
  .prefault({})
  .describe("Audit log rotation (audit/<conversation>.jsonl, docs/SECURITY.md \"Audit log\")");
export type AuditConfig = z.output<typeof AuditConfig>;

export const LogConfig = z
  .object({
    level: z.enum(["trace", "debug", "info", "warn", "error", "fatal", "silent"]).default("info"),
    file: nullish(z.string().min(1)).describe("Log file (default: <workdir>/logs/host.log); relative to the config file"),
    audit: AuditConfig,
  })
  .prefault({});

export const ToolsConfig = z
  .object({
    deny: z.array(z.string().min(1)).default([]).describe("Tool names never offered to the model"),
    web_private_networks: z
      .boolean()
      .default(false)
      .describe("Allow web_fetch and downloads to reach loopback and private addresses"),
  })
  .prefault({});
export type ToolsConfig = z.output<typeof ToolsConfig>;

export const LimitsConfig = z
  .object({
    per_chat_messages_per_minute: z
      .number()
      .int()
      .positive()
      .default(20)
      .describe("Messages one chat may send per minute before further ones are refused with a notice"),
    max_queued_turns: z
      .number()
      .int()
      .positive()
      .default(200)
      .describe("Messages waiting for a turn across all chats before new ones are refused with a notice"),
  })
  .prefault({});
export type LimitsConfig = z.output<typeof LimitsConfig>;

/** The Starling user config, latest version (Stellaclaw 0.4 shape plus Starling's optional sections). */
export const StarlingConfig = z.object({
  $schema: z.string().optional().describe("JSON Schema for editors; ignored by Starling"),
  version: z.literal(CONFIG_VERSION),
  agent_server: z
    .object({
      path: nullish(z.string().min(1)).describe(
        "Worker executable (relative to the config file); unset or missing: the bundled starling-worker",
      ),
    })
    .optional(),
  default_profile: z
    .object({
      main_model: z
        .string({ error: "must be the alias of a chat model in models (an inline model: define it under models and name its alias here)" })
        .trim()
        .min(1, { error: "must not be blank; leave default_profile out to be asked when there are several chat models" })
        .optional()
        .describe("Chat model alias new conversations start on (default: the only chat model; with several, the chat is asked)"),
    })
    .optional(),
  models: z.record(z.string().min(1), ModelConfig).describe("Model catalogue: alias → model"),
  session_defaults: SessionDefaults,
  sandbox: SandboxConfig,
  channels: z.array(ChannelConfig).min(1, { error: "at least one channel is required" }),
  workers: WorkersConfig,
  recovery: RecoveryConfig,
  log: LogConfig,
  tools: ToolsConfig,
  limits: LimitsConfig,
  mcp_servers: McpServersConfig,
});
export type StarlingConfig = z.output<typeof StarlingConfig>;
/** The config as written in the file (defaults not yet applied). */
export type StarlingConfigInput = z.input<typeof StarlingConfig>;
