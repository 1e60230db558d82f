import { CODEX_SECRET_NAMES, createRedactor, mcpSecretNames, type InitializeParams, type Redactor } from "@starling/protocol";
import type { KnownSecrets } from "../tools/tool-process.js";

export interface SessionSecrets extends KnownSecrets {
  /** What providers read keys from: `initialize.secrets` first, then the worker's own environment. */
  providerEnv: NodeJS.ProcessEnv;
  redactor: Redactor;
}

/**
 * The secrets a session knows: `initialize.secrets` (how the host passes model keys and MCP servers'
 * secrets) and, for embedders, the worker-environment variables its models name in `api_key_env` and
 * its MCP servers in `secretEnv` / `headersEnv`. They are kept out
 * of tool processes and redacted from tool results.
 */
export function sessionSecrets(init: InitializeParams, env: NodeJS.ProcessEnv): SessionSecrets {
  const fromInit = init.secrets ?? {};
  const models = [init.model, ...Object.values(init.helperModels ?? {})];
  const mcpNames = Object.values(init.mcpServers ?? {}).flatMap(mcpSecretNames);
  const codex = models.some((m) => m.provider_type === "codex_subscription") ? Object.values(CODEX_SECRET_NAMES) : [];
  const named = new Set([...Object.keys(fromInit), ...models.flatMap((m) => (m.api_key_env ? [m.api_key_env] : [])), ...mcpNames, ...codex]);
  const values: Record<string, string> = {};
  for (const name of named) {
    const value = fromInit[name] ?? env[name];
    if (value) values[name] = value;
  }
  return {
    names: [...named],
    values: Object.values(values),
    providerEnv: { ...env, ...fromInit },
    redactor: createRedactor(values, init.secretDigests ?? []),
  };
}
