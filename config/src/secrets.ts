import { capabilitiesOf, type CheckResult } from "./cross-checks.js";
import { asArray, asRecord, isRecord, type RawConfig } from "./loaders/raw.js";
import { TOOL_MODEL_FIELDS } from "./schema.js";

/** Environment as read by the loader; `process.env` fits. */
export type Env = Readonly<Record<string, string | undefined>>;

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** The message never contains the value, only the variable's name. */
function missing(env: Env, name: string): string | undefined {
  const value = env[name];
  if (value === undefined) return `environment variable ${name} is not set; add a line ${name}=… to the env file (starling.env next to the config, or --env-file) or export it`;
  if (value.trim() === "") return `environment variable ${name} is empty; set it to the secret in the env file (starling.env next to the config) or the environment`;
  return undefined;
}

/**
 * Secrets the host needs to run: every Telegram channel's bot token and the API key of every chat
 * model are errors when missing. Keys of helper models (search, image…) and an MCP server's
 * `secret_env` / `headers_env` variables are warnings: only the tools that use them fail.
 */
export function secretChecks(config: RawConfig, env: Env): CheckResult {
  const out: CheckResult = { errors: [], warnings: [] };
  asArray(config.channels).forEach((channel, index) => {
    if (!isRecord(channel) || (channel.kind !== "telegram" && channel.kind !== "web")) return;
    const field = channel.kind === "web" ? "token_env" : "bot_token_env";
    const name = channel[field] ?? (channel.kind === "web" ? "STARLING_WEB_TOKEN" : "TELEGRAM_BOT_TOKEN");
    if (typeof name !== "string" || !ENV_NAME.test(name)) return; // the schema reports it
    const problem = missing(env, name);
    if (problem) out.errors.push(`channels.${index}.${field}: ${problem}`);
  });

  const check = (model: unknown, at: string, required: boolean) => {
    const name = asRecord(model).api_key_env;
    if (typeof name !== "string" || !ENV_NAME.test(name)) return;
    // codex_subscription's sign-in is usually an auth.json; the variable is only a fallback (`starling doctor` checks both).
    if (asRecord(model).provider_type === "codex_subscription") return;
    const problem = missing(env, name);
    if (!problem) return;
    if (required) out.errors.push(`${at}.api_key_env: ${problem}`);
    else out.warnings.push(`${at}.api_key_env: ${problem}; tools that use this model fail until it is`);
  };
  for (const [alias, model] of Object.entries(asRecord(config.models))) {
    check(model, `models.${alias}`, capabilitiesOf(model)?.includes("chat") ?? false);
  }
  const defaults = asRecord(config.session_defaults);
  for (const field of TOOL_MODEL_FIELDS) {
    if (isRecord(defaults[field])) check(defaults[field], `session_defaults.${field}`, false);
  }
  mcpSecretChecks(config, env, out);
  return out;
}

/** The variables an MCP server's transport reads (an HTTP server's `headers_env`, a stdio server's `secret_env`). */
function mcpSecretChecks(config: RawConfig, env: Env, out: CheckResult): void {
  for (const [server, spec] of Object.entries(asRecord(config.mcp_servers))) {
    const field = asRecord(spec).url !== undefined ? "headers_env" : "secret_env";
    for (const [key, name] of Object.entries(asRecord(asRecord(spec)[field]))) {
      if (typeof name !== "string" || !ENV_NAME.test(name)) continue; // the schema reports it
      const problem = missing(env, name);
      if (problem) out.warnings.push(`mcp_servers.${server}.${field}.${key}: ${problem}; the server cannot start until it is`);
    }
  }
}
