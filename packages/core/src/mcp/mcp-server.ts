import { STATUS_CODES } from "node:http";
import { isAbsolute, resolve } from "node:path";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport, StreamableHTTPError } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import { ErrorCode, McpError, ToolListChangedNotificationSchema } from "@modelcontextprotocol/sdk/types.js";
import type { McpServerSpec, McpServerStatus } from "@starling/protocol";
import { ToolError } from "../tools/errors.js";
import type { ProcessLedger } from "../tools/process-ledger.js";
import { newTagScope, PROCESS_TAG_VAR } from "../tools/process-tag.js";
import type { ToolProcessLauncher } from "../tools/tool-process.js";
import { mcpCatalog, type McpCatalogEntry, type McpCatalogResult, type McpListedTool } from "./mcp-catalog.js";
import type { McpCallResult } from "./mcp-results.js";
import { ChildStdioTransport } from "./stdio-transport.js";
import { withRequestSignal } from "./request-signal.js";

/** How long starting a server (spawn + initialize + tools/list) may take. */
export const MCP_CONNECT_TIMEOUT_MS = 30_000;
const MAX_BACKOFF_MS = 30_000;
/** More tools than this in one server's `tools/list` (all pages) is treated as a broken server. */
export const MCP_MAX_LISTED_TOOLS = 1000;

export interface McpServerOptions {
  name: string;
  spec: McpServerSpec;
  workspace: string;
  launcher: ToolProcessLauncher;
  ledger?: ProcessLedger;
  /** The value of a secret variable named in `secretEnv` / `headersEnv`. */
  secret: (name: string) => string | undefined;
}

/**
 * One MCP server of a session: started on first use, its tools listed (again after
 * `notifications/tools/list_changed`), restarted after a crash on the next use with backoff
 * (immediately the first time, then 1 s, 2 s, … up to 30 s between attempts).
 */
export class McpServerConnection {
  private state: McpServerStatus["state"] = "idle";
  private client: Client | null = null;
  private transport: Transport | null = null;
  private starting: Promise<Client> | null = null;
  private listing: McpCatalogResult = { entries: [], skipped: [] };
  private stale = false;
  private lastError: string | null = null;
  private restarts = 0;
  private failures = 0;
  private lastFailureAt = 0;
  private closed = false;
  /** Every start of a stdio server gets `<scope>.<n>` as its PROCESS_TAG_VAR (process-tag.ts). */
  private readonly tagScope = newTagScope();
  private launches = 0;

  constructor(private readonly options: McpServerOptions) {}

  get name(): string {
    return this.options.name;
  }

  get timeoutMs(): number {
    return this.options.spec.timeoutSeconds * 1000;
  }

  entries(): readonly McpCatalogEntry[] {
    return this.listing.entries;
  }

  status(): McpServerStatus {
    return {
      name: this.options.name,
      transport: this.options.spec.transport,
      state: this.state,
      tools: this.listing.entries.map((e) => e.schema.name),
      skipped: this.listing.skipped,
      lastError: this.lastError,
      restarts: this.restarts,
    };
  }

  /**
   * Whether the next model call should wait for this server: never started, its tool list changed, or
   * it never listed tools and its backoff has passed. A crashed server with known tools waits for a call.
   */
  needsPreparing(): boolean {
    if (this.closed || this.starting) return false;
    if (this.state === "idle" || (this.client && this.stale)) return true;
    return this.state === "failed" && this.listing.entries.length === 0 && this.backoffLeft() <= 0;
  }

  /** Connected with a current tool list (started, restarted or re-listed as needed). Throws a ToolError when it cannot be. */
  async ready(signal: AbortSignal): Promise<Client> {
    if (this.closed) throw new ToolError("failed", `MCP server ${this.name} is shut down.`);
    const client = this.client ?? (await (this.starting ??= this.start(signal).finally(() => (this.starting = null))));
    if (this.stale) {
      this.stale = false;
      await this.list(client, signal);
    }
    return client;
  }

  async call(entry: McpCatalogEntry, args: unknown, signal: AbortSignal): Promise<McpCallResult> {
    const client = await this.ready(signal);
    try {
      const result = (await withRequestSignal(signal, (one) =>
        client.callTool({ name: entry.tool, arguments: args as Record<string, unknown> }, undefined, { signal: one, timeout: this.timeoutMs }),
      )) as McpCallResult;
      this.failures = 0;
      return result;
    } catch (error) {
      throw this.callError(error, entry, signal);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    const transport = this.transport;
    this.client = null;
    this.transport = null;
    await transport?.close().catch(() => undefined);
  }

  private async start(signal: AbortSignal): Promise<Client> {
    await this.backoff(signal);
    if (this.failures > 0) this.restarts++;
    this.state = "connecting";
    const transport = this.createTransport();
    await this.options.launcher.reported();
    const client = new Client({ name: "starling", version: "1" }, { capabilities: {} });
    client.setNotificationHandler(ToolListChangedNotificationSchema, () => {
      this.stale = true;
    });
    transport.onclose = () => {
      if (this.transport !== transport) return; // closed on purpose, replaced, or its failed start already counted
      this.markFailed(this.stoppedText(transport));
    };
    this.transport = transport;
    const deadline = Date.now() + MCP_CONNECT_TIMEOUT_MS;
    let step = "initialize";
    try {
      await withRequestSignal(signal, (one) => client.connect(transport, { signal: one, timeout: MCP_CONNECT_TIMEOUT_MS }));
      this.stale = false;
      step = "tools/list";
      await this.list(client, signal, deadline);
    } catch (error) {
      // A failed start is one failure: the transport's onclose (the server exited, or the SDK closed it
      // after a refused initialize) may have counted it already, then `this.transport` is no longer this
      // one and the catch only gives the better message. Counting it twice made the first retry wait 1 s.
      const counted = this.transport !== transport;
      const timedOut = error instanceof McpError && error.code === ErrorCode.RequestTimeout;
      const closed = error instanceof McpError && error.code === ErrorCode.ConnectionClosed;
      const what = timedOut
        ? `no answer to ${step} within ${MCP_CONNECT_TIMEOUT_MS / 1000} s${this.stderrText(transport)}`
        : closed
          ? this.stoppedText(transport)
          : `${errorText(error)}${this.stderrText(transport)}`;
      const why = `could not start: ${what}`;
      if (!counted) {
        this.transport = null;
        await transport.close().catch(() => undefined);
        this.markFailed(why);
      } else this.lastError = why;
      throw new ToolError("failed", `MCP server ${this.name} ${why}`);
    }
    this.client = client;
    this.state = "connected";
    this.lastError = null;
    return client;
  }

  /** All pages of `tools/list`, within one deadline and at most MCP_MAX_LISTED_TOOLS tools (a server may page for ever). */
  private async list(client: Client, signal: AbortSignal, deadline = Date.now() + MCP_CONNECT_TIMEOUT_MS): Promise<void> {
    const tools: McpListedTool[] = [];
    let cursor: string | undefined;
    do {
      const left = deadline - Date.now();
      if (left <= 0) throw new McpError(ErrorCode.RequestTimeout, `tools/list did not finish within ${MCP_CONNECT_TIMEOUT_MS / 1000} s`);
      const page = await withRequestSignal(signal, (one) => client.listTools(cursor ? { cursor } : undefined, { signal: one, timeout: left }));
      tools.push(...(page.tools as McpListedTool[]));
      if (tools.length > MCP_MAX_LISTED_TOOLS) throw new Error(`the server lists more than ${MCP_MAX_LISTED_TOOLS} tools`);
      cursor = page.nextCursor;
    } while (cursor);
    this.listing = mcpCatalog(this.name, this.options.spec, tools);
  }

  private createTransport(): Transport {
    const { spec, workspace, launcher } = this.options;
    if (spec.transport === "http") {
      const headers: Record<string, string> = { ...spec.headers };
      for (const [header, variable] of Object.entries(spec.headersEnv)) headers[header] = this.requireSecret(variable);
      return new StreamableHTTPClientTransport(new URL(spec.url), { requestInit: { headers } });
    }
    const env: Record<string, string> = { ...spec.env };
    const secrets: Record<string, string> = {};
    for (const [variable, secretName] of Object.entries(spec.secretEnv)) secrets[variable] = this.requireSecret(secretName);
    const cwd = spec.cwd ? (isAbsolute(spec.cwd) ? spec.cwd : resolve(workspace, spec.cwd)) : workspace;
    // The tag finds what the server starts outside its process group (setsid, daemons) when it is stopped.
    const tag = { scope: this.tagScope, tag: `${this.tagScope}.${++this.launches}` };
    env[PROCESS_TAG_VAR] = tag.tag;
    return new ChildStdioTransport(launcher.command([spec.command, ...spec.args], cwd, env, secrets), this.options.ledger, tag);
  }

  private requireSecret(name: string): string {
    const value = this.options.secret(name);
    if (!value) throw new ToolError("failed", `MCP server ${this.name} needs the secret ${name}, which is not set; ask the operator to add it to the env file.`);
    return value;
  }

  private markFailed(why: string): void {
    this.state = "failed";
    this.lastError = why;
    this.failures++;
    this.lastFailureAt = Date.now();
    this.client = null;
    this.transport = null;
  }

  /** Waits until the next start is allowed (the first restart at once, then doubling delays). */
  private async backoff(signal: AbortSignal): Promise<void> {
    const wait = this.backoffLeft();
    if (wait <= 0) return;
    await new Promise<void>((resolve, reject) => {
      const onAbort = () => (clearTimeout(timer), reject(new ToolError("aborted", `MCP server ${this.name}: the restart was interrupted.`)));
      const timer = setTimeout(() => (signal.removeEventListener("abort", onAbort), resolve()), wait);
      signal.addEventListener("abort", onAbort, { once: true });
    });
  }

  private backoffLeft(): number {
    if (this.failures < 2) return 0;
    return this.lastFailureAt + Math.min(MAX_BACKOFF_MS, 1000 * 2 ** (this.failures - 2)) - Date.now();
  }

  private callError(error: unknown, entry: McpCatalogEntry, signal: AbortSignal): ToolError {
    const tool = entry.schema.name;
    if (signal.aborted) return new ToolError("aborted", `${tool} was cancelled (the MCP server was told to stop the call); its outcome is unknown.`);
    if (error instanceof McpError && error.code === ErrorCode.RequestTimeout) {
      return new ToolError("failed", `${tool} did not answer within ${this.options.spec.timeoutSeconds} s and was cancelled; its outcome is unknown. The turn goes on: try another way or a smaller request.`);
    }
    if (this.state === "failed" || (error instanceof McpError && error.code === ErrorCode.ConnectionClosed)) {
      if (this.state !== "failed") this.markFailed(`the connection closed during ${entry.tool}`);
      return new ToolError("failed", `MCP server ${this.name} stopped during ${tool} (${this.lastError}); the call's outcome is unknown. The server is restarted on the next call.`);
    }
    return new ToolError("failed", `${tool} failed: ${errorText(error)}`);
  }

  /** "the server stopped (exit code 3; stderr: …)", or why the transport stopped it (a line past the limit). */
  private stoppedText(transport: Transport): string {
    const broken = transport instanceof ChildStdioTransport ? transport.failure() : null;
    if (broken) return `the server was stopped: ${broken}`;
    const exit = transport instanceof ChildStdioTransport ? transport.exitDescription() : null;
    return `the server stopped (${exit ?? "connection closed"}${this.stderrText(transport)})`;
  }

  private stderrText(transport: Transport): string {
    const tail = transport instanceof ChildStdioTransport ? transport.stderrTail() : "";
    return tail ? `; stderr: ${tail.slice(-500)}` : "";
  }
}

/**
 * The message, with its cause when it has one (fetch's "fetch failed" says why only in `cause`); an HTTP
 * server's refusal leads with its status ("HTTP 401 Unauthorized: Error POSTing to endpoint: …").
 */
function errorText(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  if (error instanceof StreamableHTTPError && error.code !== undefined && error.code > 0) {
    const message = error.message.replace(/^Streamable HTTP error: /, "");
    return `HTTP ${error.code}${STATUS_CODES[error.code] ? ` ${STATUS_CODES[error.code]}` : ""}: ${message}`;
  }
  const cause = error.cause instanceof Error ? ((error.cause as NodeJS.ErrnoException).code ?? error.cause.message) : null;
  return cause && !error.message.includes(cause) ? `${error.message} (${cause})` : error.message;
}
