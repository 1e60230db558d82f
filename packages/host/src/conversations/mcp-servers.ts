import type { McpServerConfig } from "@starling/config";
import { mcpServerSpec, type McpServerSpec, type McpServers } from "@starling/protocol";
import type { ConversationRecord } from "../state/records.js";
import type { HostSettings } from "./settings.js";

/** Whether a server is on for this conversation: its `/mcp` override, else the config's `enabled`. */
export function mcpServerEnabled(settings: HostSettings, conversation: ConversationRecord, name: string): boolean {
  return conversation.mcpOverrides?.[name] ?? settings.mcpServers?.[name]?.enabled ?? false;
}

/** `initialize.mcpServers` for a conversation (the servers on for it), or undefined when none is. */
export function conversationMcpServers(settings: HostSettings, conversation: ConversationRecord): McpServers | undefined {
  const out: McpServers = {};
  for (const [name, config] of Object.entries(settings.mcpServers ?? {})) {
    if (mcpServerEnabled(settings, conversation, name)) out[name] = mcpSpec(config);
  }
  return Object.keys(out).length ? out : undefined;
}

/** The secret values the conversation's MCP servers name (`secret_env`, `headers_env`), for `initialize.secrets`. */
export function mcpSecrets(settings: HostSettings, servers: McpServers | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const spec of Object.values(servers ?? {})) {
    for (const name of Object.values(spec.transport === "stdio" ? spec.secretEnv : spec.headersEnv)) {
      const value = settings.secrets?.[name];
      if (value) out[name] = value;
    }
  }
  return out;
}

/** The config entry in the protocol's shape. */
export function mcpSpec(config: McpServerConfig): McpServerSpec {
  const common = { timeoutSeconds: config.timeout_seconds, toolsAllow: config.tools.allow, toolsDeny: config.tools.deny };
  return mcpServerSpec().parse(
    config.url !== undefined
      ? { transport: "http", url: config.url, headers: config.headers, headersEnv: config.headers_env, ...common }
      : { transport: "stdio", command: config.command, args: config.args, env: config.env, secretEnv: config.secret_env, cwd: config.cwd, ...common },
  );
}
