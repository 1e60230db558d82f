import type { ModelConfig } from "@starling/protocol";
import { ProviderError } from "./types.js";

/**
 * The API key named by `api_key_env`, read at call time. No `api_key_env` → undefined (local
 * servers need none). A named but empty or missing variable → ProviderError kind `config`.
 */
export function resolveApiKey(config: ModelConfig, env: NodeJS.ProcessEnv): string | undefined {
  const name = config.api_key_env;
  if (name === undefined) return undefined;
  const value = env[name]?.trim();
  if (!value) {
    throw new ProviderError(
      "config",
      `missing API key for model ${config.model_name}: set ${name} in the environment of the host`,
    );
  }
  return value;
}

/** The same error with every occurrence of `secret` in its message replaced (servers sometimes echo keys). */
export function redactSecret(error: unknown, secret: string | undefined): unknown {
  if (!secret || !(error instanceof ProviderError) || !error.message.includes(secret)) return error;
  return new ProviderError(error.kind, error.message.split(secret).join("[redacted]"), error.options);
}
