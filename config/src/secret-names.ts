import type { StarlingConfig } from "./schema.js";

/**
 * Every environment variable the config names as holding a secret: any string field whose key
 * ends in `_env` (`bot_token_env`, `api_key_env` of models and inline tool models, `token_env`, …),
 * found by walking the whole config so a new `*_env` field is covered without a change here.
 */
export function secretEnvNames(config: StarlingConfig): string[] {
  const names = new Set<string>();
  const walk = (value: unknown): void => {
    if (Array.isArray(value)) return value.forEach(walk);
    if (!value || typeof value !== "object") return;
    for (const [key, v] of Object.entries(value)) {
      if (key.endsWith("_env") && typeof v === "string" && v) names.add(v);
      else walk(v);
    }
  };
  walk(config);
  return [...names];
}

/** name → value of every config-named secret that is set in `env`. */
export function secretValues(config: StarlingConfig, env: Readonly<Record<string, string | undefined>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of secretEnvNames(config)) {
    const value = env[name];
    if (value) out[name] = value;
  }
  return out;
}
