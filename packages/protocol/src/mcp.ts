import { z } from "zod";
import { lazySchema } from "./lazy-schema.js";

/** A server name: part of tool names (`mcp__<server>__<tool>`), so letters, digits, `_`, `-`, no `__`. */
export const MCP_SERVER_NAME = /^(?!.*__)[A-Za-z0-9][A-Za-z0-9_-]{0,31}$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * One MCP server as the worker gets it in `initialize.mcpServers` (config `mcp_servers`, ARCHITECTURE §6).
 * Secrets are never inline: `secretEnv` / `headersEnv` name variables whose values come in
 * `initialize.secrets` (or, for embedders, the worker's environment). Built on first use: most sessions
 * have no MCP server (methods.ts `lazyOptional`).
 */
export const mcpServerSpec = lazySchema(() => {
  const envName = z.string().regex(ENV_NAME, { error: "must be an environment variable name" });
  const common = {
    /** Seconds one tool call may take before it is cancelled (MCP `notifications/cancelled`). */
    timeoutSeconds: z.number().positive().default(60),
    /** Tool names (the server's own, without the prefix) offered; absent: all. */
    toolsAllow: z.array(z.string()).optional(),
    /** Tool names never offered. */
    toolsDeny: z.array(z.string()).default([]),
  };
  return z.discriminatedUnion("transport", [
    z.object({
      transport: z.literal("stdio"),
      command: z.string().min(1),
      args: z.array(z.string()).default([]),
      /** Plain (non-secret) variables for the server process, on top of the tools' allowlisted environment. */
      env: z.record(envName, z.string()).default({}),
      /** Server variable → name of the secret variable whose value it gets. */
      secretEnv: z.record(envName, envName).default({}),
      /** Working directory (absolute, or relative to the workspace); default the workspace. */
      cwd: z.string().optional(),
      ...common,
    }),
    z.object({
      transport: z.literal("http"),
      url: z.url({ protocol: /^https?$/, error: "must be an http(s) URL" }),
      /** Plain (non-secret) request headers. */
      headers: z.record(z.string(), z.string()).default({}),
      /** Header name → name of the secret variable whose value is the header's whole value (`Bearer …`). */
      headersEnv: z.record(z.string(), envName).default({}),
      ...common,
    }),
  ]);
});
export type McpServerSpec = z.infer<ReturnType<typeof mcpServerSpec>>;
export type McpServerSpecInput = z.input<ReturnType<typeof mcpServerSpec>>;

export const mcpServers = lazySchema(() =>
  z.record(z.string().regex(MCP_SERVER_NAME, { error: "MCP server names use letters, digits, _ and - (no __), up to 32" }), mcpServerSpec()),
);
export type McpServers = z.infer<ReturnType<typeof mcpServers>>;

/** The secret variable names an MCP server spec refers to. */
export function mcpSecretNames(spec: McpServerSpec): string[] {
  return Object.values(spec.transport === "stdio" ? spec.secretEnv : spec.headersEnv);
}

/** What `/status` and `/mcp` show for one server (in `live_state.mcp`); built on first use (a worker only sends it). */
export const mcpServerStatus = lazySchema(() =>
  z.object({
    name: z.string(),
    transport: z.enum(["stdio", "http"]),
    /** `idle`: not started yet (servers start before the first model call); `failed`: the last start or the connection failed. */
    state: z.enum(["idle", "connecting", "connected", "failed"]),
    /** Offered tool names (prefixed). */
    tools: z.array(z.string()),
    /** Tools left out with the reason (schema the model API cannot take, bad name, denied). */
    skipped: z.array(z.object({ tool: z.string(), reason: z.string() })).default([]),
    lastError: z.string().nullable(),
    restarts: z.number().int().nonnegative(),
  }),
);
export type McpServerStatus = z.infer<ReturnType<typeof mcpServerStatus>>;
