import { chmodSync, existsSync, mkdirSync, writeFileSync } from "node:fs";
import { createInterface } from "node:readline/promises";
import { dirname, join, resolve } from "node:path";
import { CONFIG_VERSION } from "@starling/config";

interface InitCommand {
  config: string;
  workdir: string;
  nonInteractive: boolean;
  values: Record<string, string | undefined>;
}

/**
 * Writes a working config. Secrets never go into the config: the token (if typed in) goes to
 * `starling.env` next to it (mode 600), which the systemd unit loads.
 */
export async function runInit(command: InitCommand): Promise<number> {
  const configPath = resolve(command.config);
  if (existsSync(configPath)) {
    process.stderr.write(`starling: ${configPath} already exists; remove it or pass another --config\n`);
    return 1;
  }
  const ask = command.nonInteractive ? null : createInterface({ input: process.stdin, output: process.stderr });
  const value = async (key: string, question: string, fallback: string) =>
    command.values[key] ?? (ask ? (await ask.question(`${question} [${fallback}]: `)).trim() || fallback : fallback);
  const tokenEnv = await value("tokenEnv", "Environment variable holding the Telegram bot token", "TELEGRAM_BOT_TOKEN");
  const token = command.values.token ?? process.env[tokenEnv] ?? (ask ? (await ask.question("Bot token from @BotFather (leave empty to set it later): ")).trim() : "");
  const modelUrl = await value("modelUrl", "Chat-completions endpoint", "https://openrouter.ai/api/v1/chat/completions");
  const modelName = await value("modelName", "Model name", "openai/gpt-4.1-mini");
  const apiKeyEnv = await value("apiKeyEnv", "Environment variable holding the model API key", "OPENROUTER_API_KEY");
  ask?.close();
  const config = {
    version: CONFIG_VERSION,
    models: {
      main: {
        provider_type: "open_router_completion",
        model_name: modelName,
        url: modelUrl,
        api_key_env: apiKeyEnv,
        capabilities: ["chat"],
        token_max_context: 128000,
        conn_timeout: 30,
        retry_mode: "once",
      },
    },
    session_defaults: { compression_threshold_tokens: 100000, compression_retain_recent_tokens: 20000 },
    sandbox: { mode: "subprocess", bubblewrap_binary: "bwrap" },
    channels: [
      {
        kind: "telegram",
        id: "telegram-main",
        bot_token_env: tokenEnv,
        api_base_url: "https://api.telegram.org",
        poll_timeout_seconds: 30,
        poll_interval_ms: 250,
        admin_user_ids: [],
      },
    ],
    workers: { idle_shutdown_seconds: 600, max_concurrent_turns: 4 },
    recovery: { max_auto_continues: 2 },
  };
  mkdirSync(dirname(configPath), { recursive: true });
  writeFileSync(configPath, JSON.stringify(config, null, 2) + "\n");
  const envFile = join(dirname(configPath), "starling.env");
  if (token && !existsSync(envFile)) {
    writeFileSync(envFile, `${tokenEnv}=${token}\n# ${apiKeyEnv}=...\n`);
    chmodSync(envFile, 0o600);
  }
  mkdirSync(resolve(command.workdir), { recursive: true });
  process.stdout.write(
    [
      `wrote ${configPath}${token ? ` and ${envFile} (mode 600)` : ""}`,
      `next: export ${apiKeyEnv}=…${token ? "" : ` ${tokenEnv}=…`}, then`,
      `  starling doctor --config ${configPath} --workdir ${resolve(command.workdir)}`,
      `  starling --config ${configPath} --workdir ${resolve(command.workdir)}`,
      "",
    ].join("\n"),
  );
  return 0;
}
