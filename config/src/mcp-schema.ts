import { z } from "zod";
import { MCP_SERVER_NAME } from "@starling/protocol";

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const envName = z.string().regex(ENV_NAME, { error: "must be an environment variable name (letters, digits, _)" });

/**
 * One MCP server (ARCHITECTURE §6 `mcp_servers`): a stdio server (`command`, `args`, `env`, `cwd`) or a
 * Streamable HTTP one (`url`, `headers`). Secrets only by variable name: `secret_env` (server variable →
 * env-file variable) and `headers_env` (header → env-file variable holding the whole header value).
 */
export const McpServerConfig = z
  .object({
    command: z.string().trim().min(1).optional().describe("stdio server: the program (found on PATH, or an absolute path)"),
    args: z.array(z.string()).default([]).describe("stdio server: its arguments"),
    env: z
      .record(envName, z.string())
      .default({})
      .describe("stdio server: extra variables (never secrets: use secret_env)"),
    secret_env: z
      .record(envName, envName)
      .default({})
      .describe("stdio server: variable → name of the env-file variable whose value it gets"),
    cwd: z.string().min(1).optional().describe("stdio server: working directory, relative to the conversation workspace (default: the workspace)"),
    url: z
      .url({ protocol: /^https?$/, error: "must be an http(s) URL" })
      .refine((u) => !/^[a-z]+:\/\/[^/?#]*@/i.test(u), {
        error: "must not contain credentials (user:password@): fetch refuses such URLs and they would show in errors; put them in a header with headers_env",
      })
      .optional()
      .describe("Streamable HTTP server: its endpoint"),
    headers: z.record(z.string(), z.string()).default({}).describe("HTTP server: plain request headers"),
    headers_env: z
      .record(z.string(), envName)
      .default({})
      .describe("HTTP server: header → name of the env-file variable holding its whole value (e.g. 'Bearer …')"),
    enabled: z.boolean().default(true).describe("false: not offered to any conversation (/mcp enable turns it on per conversation)"),
    timeout_seconds: z.number().positive().default(60).describe("A tool call taking longer is cancelled"),
    tools: z
      .object({
        allow: z.array(z.string()).optional().describe("Only these tools (the server's names); default all"),
        deny: z.array(z.string()).default([]).describe("Tools never offered"),
      })
      .prefault({}),
  })
  .refine((s) => (s.command === undefined) !== (s.url === undefined), {
    error: "give either command (a stdio server) or url (a Streamable HTTP server), not both",
  });
export type McpServerConfig = z.output<typeof McpServerConfig>;

export const McpServersConfig = z
  .record(z.string().regex(MCP_SERVER_NAME, { error: "use letters, digits, _ and - (no __), up to 32: it is part of tool names" }), McpServerConfig)
  .default({})
  .describe("MCP servers whose tools are offered as mcp__<name>__<tool>");
