import type { McpServerConfig } from "@starling/config";
import type { ModelConfig, ToolSandbox } from "@starling/protocol";
import type { SandboxMode } from "../state/records.js";
import type { LimitSettings } from "./inbound-limits.js";
import type { CodexAuthority } from "../models/codex-auth.js";

/**
 * The model a new (or imported, model-less) conversation starts on: `default_profile.main_model`, else the only
 * chat model; null when there are several and none is the default (the chat is asked).
 */
export function startingModel(settings: Pick<HostSettings, "chatModels" | "defaultModel">): string | null {
  if (settings.defaultModel !== undefined && settings.chatModels[settings.defaultModel]) return settings.defaultModel;
  const aliases = Object.keys(settings.chatModels);
  return aliases.length === 1 ? aliases[0]! : null;
}

/** What the conversation layer needs from the config, already resolved (mapped in host.ts). */
export interface HostSettings {
  workdir: string;
  /** Models that can chat, by alias, in config order. */
  chatModels: Record<string, ModelConfig>;
  /** Config `default_profile.main_model` (a chat alias, checked at load): the model new conversations start on. */
  defaultModel?: string;
  /** `session_defaults.*_tool_model` resolved, keyed by field name (`search_tool_model`, …), for `initialize.helperModels`. */
  helperModels: Record<string, ModelConfig>;
  compression: { thresholdTokens: number; retainRecentTokens: number } | null;
  sandbox: {
    mode: SandboxMode;
    bubblewrapBinary: string;
    softwareDir?: string;
    softwareMountPath?: string;
    network?: boolean;
    /** Config `sandbox.pid_namespace` (subprocess mode). */
    pidNamespace?: boolean;
    /** Config `sandbox.env`: extra variables for tool processes. */
    env?: Record<string, string>;
    /** Config `sandbox.memory_limit_mb`, `cpu_limit_seconds`, `file_size_limit_mb` (per tool process). */
    limits?: ToolSandbox["limits"];
    /** The config file and env file (and their real paths) and config `sandbox.hidden_paths`: masked inside the bubblewrap sandbox. */
    hiddenPaths?: string[];
  };
  /** The ChatGPT sign-in of the codex_subscription models (absent when the config has none). */
  codexAuth?: CodexAuthority;
  /** Values of every secret the config names (`*_env`), read once at start; the worker gets only its model keys. */
  secrets?: Record<string, string>;
  /** argv prefix that starts a worker, e.g. [process.execPath, ".../packages/worker/dist/main.js"]. */
  workerCommand: [string, ...string[]];
  /** Tool names no session is offered (config `tools.deny`). */
  toolDeny?: string[];
  /** Config `tools.web_private_networks`. */
  webPrivateNetworks?: boolean;
  /** Inbound limits (config `limits`); defaults when absent. */
  limits?: LimitSettings;
  /** Config `mcp_servers` (all of them; `enabled` and per-conversation overrides are applied at launch). */
  mcpServers?: Record<string, McpServerConfig>;
  /** Config `workers.max_subagents`: subagents a conversation may have running at once (default 3). */
  maxSubagents?: number;
  /** Extra environment for workers (STARLING_CRASH_AT in tests, log level). */
  workerEnv?: NodeJS.ProcessEnv;
}
