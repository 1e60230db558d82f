import { CODEX_SECRET_NAMES, createRedactor, type InitializeParams, mcpSecretNames, scrubOwnEnviron } from "@starling/protocol";
import { redactWorkerLogs } from "./logger.js";

/** Names of the session's secrets: `initialize.secrets`, every model's `api_key_env`, MCP servers' secret variables. */
function keyNames(init: InitializeParams): string[] {
  const models = [init.model, ...Object.values(init.helperModels ?? {})];
  const mcp = Object.values(init.mcpServers ?? {}).flatMap(mcpSecretNames);
  const codex = models.some((m) => m.provider_type === "codex_subscription") ? Object.values(CODEX_SECRET_NAMES) : [];
  return [...new Set([...Object.keys(init.secrets ?? {}), ...models.flatMap((m) => (m.api_key_env ? [m.api_key_env] : [])), ...mcp, ...codex])];
}

/** From `initialize` on, worker log lines never carry a model key (from initialize.secrets or this process's env). */
export function redactLogsFor(init: InitializeParams): void {
  const values: Record<string, string> = {};
  for (const name of keyNames(init)) {
    const value = init.secrets?.[name] ?? process.env[name];
    if (value) values[name] = value;
  }
  redactWorkerLogs(createRedactor(values, init.secretDigests ?? []));
}

/**
 * An embedder may pass keys in the worker's environment; once the session has read them they leave
 * this process's environment and `/proc/self/environ` (as the host does for its own secrets).
 */
export function scrubKeysFromEnviron(init: InitializeParams): void {
  scrubOwnEnviron(keyNames(init), process.env);
}
