import { join } from "node:path";
import type { McpServers, McpServerStatus, ToolSandbox } from "@starling/protocol";
import { ToolError } from "../tools/errors.js";
import { ProcessLedger } from "../tools/process-ledger.js";
import { ToolProcessLauncher, type KnownSecrets } from "../tools/tool-process.js";
import type { ToolSource, ToolSourceCall } from "../tools/tool-source.js";
import type { ToolOutput } from "../tools/define-tool.js";
import type { ToolSchema } from "../tools/types.js";
import { describeSchemaErrors, type McpCatalogEntry } from "./mcp-catalog.js";
import { mapMcpResult } from "./mcp-results.js";
import { McpServerConnection } from "./mcp-server.js";

export interface McpToolsOptions {
  servers: McpServers;
  workspace: string;
  sessionId: string;
  sandbox?: ToolSandbox;
  secrets?: KnownSecrets;
  /** Secret variable → value (`initialize.secrets`, then the worker's environment). */
  secretEnv: Readonly<Record<string, string | undefined>>;
  /** A server's start waits until the host answered the reports of hidden paths' real paths found so far. */
  hiddenReports?: { settled(): Promise<void> };
}

/**
 * The MCP servers of a session as one ToolSource (ARCHITECTURE §9): each server's tools as
 * `mcp__<server>__<tool>`. Servers start before the first model call (a server that cannot start is
 * reported in its status and retried before later model calls); a crashed server keeps its tools in the
 * catalog and is restarted when one is called. Loaded only by sessions that have MCP servers.
 */
export class McpTools implements ToolSource {
  private readonly servers: McpServerConnection[];
  private room: { tools: number; builtin: number; denied: ReadonlySet<string> } = { tools: Number.POSITIVE_INFINITY, builtin: 0, denied: new Set() };

  constructor(options: McpToolsOptions) {
    const launcher = new ToolProcessLauncher({ workspace: options.workspace, sandbox: options.sandbox, secrets: options.secrets, hiddenReports: options.hiddenReports });
    const ledger = new ProcessLedger(
      join(options.workspace, ".starling", "process-groups", `${options.sessionId.replace(/[^A-Za-z0-9._-]/g, "_")}.mcp.json`),
    );
    ledger.reapOrphans();
    this.servers = Object.entries(options.servers).map(
      ([name, spec]) =>
        new McpServerConnection({ name, spec, workspace: options.workspace, launcher, ledger, secret: (n) => options.secretEnv[n] }),
    );
  }

  /** Starts servers never started and re-lists changed ones; failures go into their status, not the turn. */
  async prepare(signal: AbortSignal): Promise<void> {
    await Promise.all(
      this.servers.filter((s) => s.needsPreparing()).map((s) => s.ready(signal).catch(() => undefined)),
    );
  }

  offerAtMost(room: number, builtin: number, denied: ReadonlySet<string>): void {
    this.room = { tools: Math.max(0, room), builtin, denied };
  }

  catalog(): ToolSchema[] {
    return this.offered().flatMap(({ entries }) => entries.map((e) => ({ ...e.schema })));
  }

  has(name: string): boolean {
    return this.find(name) !== null;
  }

  isReadOnly(name: string): boolean {
    return this.find(name)?.entry.readOnly ?? false;
  }

  async run(name: string, args: unknown, call: ToolSourceCall): Promise<ToolOutput> {
    const found = this.find(name);
    if (!found) throw new ToolError("unknown_tool", `Unknown tool ${JSON.stringify(name)}: the MCP server no longer offers it.`);
    const { server, entry } = found;
    if (!entry.validate(args)) return { content: describeSchemaErrors(name, entry.validate), isError: true, details: { kind: "invalid_arguments" } };
    const result = await server.call(entry, args, call.signal);
    const output = await mapMcpResult(result, call.workspace, call.callId, name);
    return { ...output, details: { ...output.details, mcpServer: server.name } };
  }

  status(): McpServerStatus[] {
    return this.offered().map(({ server, entries, collisions }) => {
      const status = server.status();
      return collisions.length ? { ...status, tools: entries.map((e) => e.schema.name), skipped: [...status.skipped, ...collisions] } : status;
    });
  }

  async dispose(): Promise<void> {
    await Promise.all(this.servers.map((s) => s.close()));
  }

  private find(name: string): { server: McpServerConnection; entry: McpCatalogEntry } | null {
    for (const { server, entries } of this.offered()) {
      const entry = entries.find((e) => e.schema.name === name);
      if (entry) return { server, entry };
    }
    return null;
  }

  /**
   * Each server's entries without the names an earlier server already offers: prefixed names can collide
   * (server `a` with tool `_x` and server `a_` with tool `x` are both `mcp__a___x`), and model APIs refuse
   * a request that names a tool twice. Past the room the runtime leaves (MAX_OFFERED_TOOLS in all), the
   * servers' tools in config order are left out and reported; `tools.allow` chooses which a server offers.
   */
  private offered(): { server: McpServerConnection; entries: McpCatalogEntry[]; collisions: { tool: string; reason: string }[] }[] {
    const taken = new Map<string, string>();
    const { tools: room, builtin, denied } = this.room;
    const full = `over the limit of ${builtin + room} tools in all (${builtin} built-in, ${room} left for MCP servers, filled in config order); list the tools this server should offer in its tools.allow`;
    let used = 0;
    return this.servers.map((server) => {
      const entries: McpCatalogEntry[] = [];
      const collisions: { tool: string; reason: string }[] = [];
      for (const entry of server.entries()) {
        const owner = taken.get(entry.schema.name);
        if (owner !== undefined) collisions.push({ tool: entry.tool, reason: `${entry.schema.name} is already a tool of MCP server ${owner}` });
        else if (!denied.has(entry.schema.name) && used >= room) collisions.push({ tool: entry.tool, reason: full });
        else {
          taken.set(entry.schema.name, server.name);
          if (!denied.has(entry.schema.name)) used += 1;
          entries.push(entry);
        }
      }
      return { server, entries, collisions };
    });
  }
}
