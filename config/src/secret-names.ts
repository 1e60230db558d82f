import type { StarlingConfig } from "./schema.js";

/**
 * Every environment variable the config names as holding a secret: any string field whose key
 * ends in `_env` (`bot_token_env`, `api_key_env` of models and inline tool models, `token_env`, …),
 * found by walking the whole config so a new `*_env` field is covered without a change here. A `*_env`
 * field may also be a map whose values are variable names (`mcp_servers.*.secret_env`, `headers_env`).
 */
export function secretEnvNames(config: StarlingConfig): string[] {
  const names = new Set<string>();
  const walk = (value: unknown): void => {
    if (Array.isArray(value)) return value.forEach(walk);
    if (!value || typeof value !== "object") return;
    for (const [key, v] of Object.entries(value)) {
      if (key.endsWith("_env") && typeof v === "string" && v) names.add(v);
      else if (key.endsWith("_env") && isStringMap(v)) Object.values(v).forEach((name) => name && names.add(name));
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

function isStringMap(value: unknown): value is Record<string, string> {
  return !!value && typeof value === "object" && !Array.isArray(value) && Object.values(value).every((v) => typeof v === "string");
}
