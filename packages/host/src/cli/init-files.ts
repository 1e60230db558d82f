/** What `starling init` writes: the config (with `$schema`) and the env file (mode 600). */
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { CONFIG_SCHEMA_FILE, CONFIG_VERSION, updateEnvText } from "@starling/config";

export const PROVIDER_PRESETS = {
  openrouter: { url: "https://openrouter.ai/api/v1/chat/completions", apiKeyEnv: "OPENROUTER_API_KEY", modelName: "openai/gpt-4.1-mini" },
  openai: { url: "https://api.openai.com/v1/chat/completions", apiKeyEnv: "OPENAI_API_KEY", modelName: "gpt-4.1-mini" },
  local: { url: "http://127.0.0.1:11434/v1/chat/completions", apiKeyEnv: "", modelName: "qwen2.5:7b" },
  custom: { url: "", apiKeyEnv: "MODEL_API_KEY", modelName: "" },
} as const;

export interface InitAnswers {
  tokenEnv: string;
  token: string;
  telegramApi: string;
  modelUrl: string;
  modelName: string;
  /** Undefined for a server without a key. */
  apiKeyEnv: string | undefined;
  apiKey: string;
  adminIds: string[];
}

export function initConfig(answers: InitAnswers): Record<string, unknown> {
  return {
    $schema: CONFIG_SCHEMA_FILE,
    version: CONFIG_VERSION,
    models: {
      main: {
        provider_type: "open_router_completion",
        model_name: answers.modelName,
        url: answers.modelUrl,
        ...(answers.apiKeyEnv ? { api_key_env: answers.apiKeyEnv } : {}),
        capabilities: ["chat"],
        token_max_context: 128000,
        conn_timeout: 30,
      },
    },
    session_defaults: { compression_threshold_tokens: 100000, compression_retain_recent_tokens: 20000 },
    sandbox: { mode: "subprocess", bubblewrap_binary: "bwrap" },
    channels: [
      {
        kind: "telegram",
        id: "telegram-main",
        bot_token_env: answers.tokenEnv,
        api_base_url: answers.telegramApi,
        poll_timeout_seconds: 30,
        poll_interval_ms: 250,
        admin_user_ids: answers.adminIds.map(Number),
      },
    ],
    workers: { idle_shutdown_seconds: 600, max_concurrent_turns: 4 },
    recovery: { max_auto_continues: 2 },
  };
}

/** Writes the env file first (so a config never names a secret that is nowhere), then the config. */
export function writeInitFiles(configPath: string, envFile: string, workdir: string, answers: InitAnswers): { envFile: string; names: string[] } {
  const secrets: Record<string, string> = { [answers.tokenEnv]: answers.token };
  if (answers.apiKeyEnv) secrets[answers.apiKeyEnv] = answers.apiKey;
  mkdirSync(dirname(envFile), { recursive: true });
  const before = existsSync(envFile) ? readFileSync(envFile, "utf8") : "# Secrets for starling (KEY=value). Keep this file chmod 600.\n";
  writeFileSync(envFile, updateEnvText(before, secrets), { mode: 0o600 });
  chmodSync(envFile, 0o600);
  mkdirSync(dirname(configPath), { recursive: true });
  writeFileSync(configPath, JSON.stringify(initConfig(answers), null, 2) + "\n", { flag: "wx" });
  mkdirSync(workdir, { recursive: true });
  return { envFile, names: Object.keys(secrets) };
}
