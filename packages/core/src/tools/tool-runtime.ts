import { join } from "node:path";
import { z } from "zod";
import { type BackgroundCounts, TOOL_RESULT_MAX_CHARS } from "@starling/protocol";
import { describeIssues, parseArgumentText } from "./arguments.js";
import { headTail, omissionMarker } from "./bounded-text.js";
import { builtinTools } from "./builtin-tools.js";
import type { AnyTool, ToolContext, ToolOutput } from "./define-tool.js";
import { isSystemError, ToolError } from "./errors.js";
import { OutputStore } from "./output-store.js";
import { ShellSessions } from "./shell-sessions.js";
import { ProcessLedger } from "./process-ledger.js";
import { RemoteRouting } from "./remote/remote-routing.js";
import { ToolProcessLauncher } from "./tool-process.js";
import { MAX_OFFERED_TOOLS, type ToolSource } from "./tool-source.js";
import type { ToolCallRequest, ToolErrorKind, ToolRunOptions, ToolRunResult, ToolRuntimeOptions, ToolSchema } from "./types.js";
import { WorkspacePaths } from "./workspace-paths.js";
import { HiddenFiles } from "./hidden-files.js";
import type { FileHandle } from "node:fs/promises";

export const DEFAULT_MAX_RESULT_CHARS = TOOL_RESULT_MAX_CHARS;
/** After an abort, how long a tool may take to return before the runtime stops waiting for it. */
export const ABORT_GRACE_MS = 500;

const ABANDONED = Symbol("abandoned");

/**
 * Runs the tool calls of one session. Only tools in its catalog run; arguments are parsed and
 * validated centrally; every failure (unknown tool, bad JSON, invalid arguments, path escape, fs
 * error, abort) comes back as an `isError` result, never as a throw. Result text longer than
 * `maxResultChars` is cut to head + tail and the full text kept under `<workspace>/.output/`.
 */
export class ToolRuntime {
  private readonly tools = new Map<string, AnyTool>();
  private readonly paths: WorkspacePaths;
  private readonly hidden: HiddenFiles;
  private readonly outputs: OutputStore;
  private readonly shells: ShellSessions;
  private readonly maxResultChars: number;
  private readonly routing: RemoteRouting;
  private schemas: ToolSchema[] | null = null;
  private readonly sources: readonly ToolSource[];
  private readonly denied: ReadonlySet<string>;
  private disposed = false;

  constructor(private readonly options: ToolRuntimeOptions) {
    const denied = new Set(options.deny ?? []);
    this.denied = denied;
    this.sources = options.sources ?? [];
    for (const tool of options.tools ?? builtinTools()) {
      if (denied.has(tool.name)) continue;
      if (this.tools.has(tool.name)) throw new Error(`ToolRuntime: duplicate tool name ${tool.name}`);
      this.tools.set(tool.name, tool);
    }
    for (const source of this.sources) source.offerAtMost(MAX_OFFERED_TOOLS - this.tools.size, this.tools.size, denied);
    this.routing = new RemoteRouting(options.remote);
    this.hidden = HiddenFiles.forSandbox(options.sandbox?.hiddenPaths);
    this.paths = new WorkspacePaths(options.workspace, options.sandbox?.sharedDir, this.hidden);
    this.outputs = new OutputStore(options.workspace);
    // Commands a killed predecessor of this session left running are stopped before anything else.
    const ledger = new ProcessLedger(
      join(options.workspace, ".starling", "process-groups", `${options.sessionId.replace(/[^A-Za-z0-9._-]/g, "_")}.json`),
    );
    ledger.reapOrphans();
    const launcher = new ToolProcessLauncher({ workspace: options.workspace, sandbox: options.sandbox, secrets: options.secrets, hiddenReports: options.hiddenReports });
    this.shells = new ShellSessions(options.workspace, this.outputs, ledger, launcher);
    this.maxResultChars = options.maxResultChars ?? DEFAULT_MAX_RESULT_CHARS;
  }

  /**
   * What the model is offered: one entry per tool, sorted by name, parameters as JSON Schema; then the
   * tools of the runtime's sources (MCP servers) as they are now.
   */
  catalog(): ToolSchema[] {
    this.schemas ??= [...this.tools.values()].sort((a, b) => (a.name < b.name ? -1 : 1)).map((tool) => this.toolSchema(tool));
    const dynamic = this.sources.flatMap((s) => s.catalog()).filter((t) => !this.denied.has(t.name) && !this.tools.has(t.name));
    return [...this.schemas.map((schema) => ({ ...schema })), ...dynamic];
  }

  /** Brings the sources' catalogs up to date; called before each model call. */
  /** Whether `prepare` has anything to do: a session without MCP servers skips it before each model call. */
  get preparable(): boolean {
    return this.sources.length > 0;
  }

  async prepare(signal: AbortSignal): Promise<void> {
    await Promise.all(this.sources.map((s) => s.prepare(signal)));
  }

  /**
   * Opens a file the context refers to (file:// items, read again before every model call), checked
   * like the file tools' reads: what the descriptor names must be inside the workspace or shared folder.
   */
  openFile(abs: string): Promise<FileHandle> {
    return this.paths.open(abs, "r");
  }

  has(name: string): boolean {
    return this.tools.has(name) || this.sourceOf(name) !== null;
  }

  /** `true` only for known tools without side effects (safe to re-run after a crash). */
  isReadOnly(name: string): boolean {
    return this.tools.get(name)?.readOnly ?? this.sourceOf(name)?.isReadOnly(name) ?? false;
  }

  /** Runs one call. Never throws; honours `options.signal` (returns promptly once it aborts). */
  async run(call: ToolCallRequest, options: ToolRunOptions): Promise<ToolRunResult> {
    const started = Date.now();
    let result: ToolRunResult;
    try {
      result = await this.execute(call, options);
    } catch (error) {
      result = failure("failed", `${call.name} failed unexpectedly: ${errorText(error)}`);
    }
    result.details = { ...result.details, tool: call.name, durationMs: Date.now() - started };
    // Before bounding, so neither the model nor the saved full output gets a secret a tool printed.
    if (this.options.redactor) result.content = this.options.redactor.redact(result.content);
    return this.bound(call, result);
  }

  /**
   * What the tools left running past their calls (for idle checks and /status: it scans /proc): shell commands still
   * running or that left a process alive, and downloads and media jobs still running.
   */
  background(): BackgroundCounts {
    const jobs = (this.options.background ?? []).reduce((sum, work) => sum + work.running(), 0);
    return { commands: this.shells.alive(), jobs };
  }

  /** The worker is shutting down (before killAll): background work records what it stops as interrupted. */
  beforeShutdown(): void {
    for (const work of this.options.background ?? []) work.beforeShutdown?.();
  }

  /** Kills every child process group started by the tools (running or lingering) and stops their background work; how many were running. */
  async killAll(): Promise<number> {
    const counts = await Promise.all([this.shells.killAll(), ...(this.options.background ?? []).map((work) => work.stopAll())]);
    return counts.reduce((sum, n) => sum + n, 0);
  }

  /** Kills all children; later calls are refused. */
  async dispose(): Promise<void> {
    this.disposed = true;
    await Promise.all([this.killAll(), ...this.sources.map((s) => s.dispose())]);
  }

  /** A tool's catalog entry; its JSON Schema from the cache, converted from its zod schema on a miss. */
  private toolSchema(tool: AnyTool): ToolSchema {
    let cached = jsonSchemas.get(tool.parameters);
    if (!cached) jsonSchemas.set(tool.parameters, (cached = {}));
    const variant = this.routing.extends(tool) ? "remote" : "plain";
    const text = (cached[variant] ??= JSON.stringify(z.toJSONSchema(this.routing.parameters(tool), { io: "input" })));
    const { $schema: _ignored, ...schema } = JSON.parse(text) as Record<string, unknown>;
    const required = Array.isArray(schema.required) ? schema.required : [];
    return { name: tool.name, description: tool.description, parameters: { ...schema, required, additionalProperties: false } };
  }

  private sourceOf(name: string): ToolSource | null {
    if (this.denied.has(name)) return null;
    return this.sources.find((s) => s.has(name)) ?? null;
  }

  /** A call to a source's tool: JSON parsed here, validated and run by the source. */
  private async executeFromSource(source: ToolSource, call: ToolCallRequest, options: ToolRunOptions): Promise<ToolRunResult> {
    const parsed = parseArgumentText(call.name, call.arguments);
    if (!parsed.ok) return failure("invalid_arguments", parsed.message);
    try {
      const work = source.run(call.name, parsed.value, { workspace: await this.paths.root(), callId: call.id, turnId: options.turnId, signal: options.signal });
      const output = await withAbortGrace(work, options.signal);
      if (output === ABANDONED) return failure("aborted", `${call.name} was interrupted and did not stop within ${ABORT_GRACE_MS} ms; its outcome is unknown.`);
      return fromOutput(output);
    } catch (error) {
      return this.describeError(error, call.name, options.signal);
    }
  }

  private async execute(call: ToolCallRequest, options: ToolRunOptions): Promise<ToolRunResult> {
    if (this.disposed) return failure("failed", `The tool runtime is shut down; ${call.name} was not run.`);
    // Before a command (or an MCP server) can move a hidden file: the file tools know it by inode from then on.
    this.hidden.refresh();
    // What it found that the host did not hand this worker is kept by the host before the tool can repoint a link.
    await this.options.hiddenReports?.settled();
    const tool = this.tools.get(call.name);
    const source = tool ? null : this.sourceOf(call.name);
    if (source) {
      if (options.signal.aborted) return failure("aborted", `${call.name} was not started: the turn was cancelled or interrupted.`);
      return this.executeFromSource(source, call, options);
    }
    if (!tool) {
      const names = this.catalog().map((t) => t.name).join(", ");
      return failure("unknown_tool", `Unknown tool ${JSON.stringify(call.name)}: it is not in this session's catalog. Available tools: ${names}.`);
    }
    if (options.signal.aborted) return failure("aborted", `${tool.name} was not started: the turn was cancelled or interrupted.`);
    const parsed = parseArgumentText(tool.name, call.arguments);
    if (!parsed.ok) return failure("invalid_arguments", parsed.message);
    const validated = this.routing.parameters(tool).safeParse(parsed.value);
    if (!validated.success) return failure("invalid_arguments", describeIssues(tool.name, validated.error.issues, parsed.value));
    let routed: ReturnType<RemoteRouting["route"]>;
    try {
      routed = this.routing.route(tool, validated.data);
    } catch (error) {
      return this.describeError(error, tool.name, options.signal);
    }
    const ctx: ToolContext = {
      workspace: await this.paths.root(),
      paths: this.paths,
      outputs: this.outputs,
      shells: this.shells,
      sessionId: this.options.sessionId,
      callId: call.id,
      turnId: options.turnId,
      signal: options.signal,
      coordinate: this.options.coordinate,
      remote: routed.remote,
      fixedRemote: this.routing.fixedWorkspace,
      network: this.options.network ?? { allowPrivate: false },
      helpers: this.options.helpers,
    };
    try {
      const output = await withAbortGrace(tool.execute(routed.args, ctx), options.signal);
      if (output === ABANDONED) {
        return failure("aborted", `${tool.name} was interrupted (the turn was cancelled or interrupted) and did not stop within ${ABORT_GRACE_MS} ms; its outcome is unknown.`);
      }
      const result = fromOutput(output);
      if (routed.remote) result.details = { ...result.details, remote: routed.remote.label };
      return result;
    } catch (error) {
      return this.describeError(error, tool.name, options.signal);
    }
  }

  private async describeError(error: unknown, tool: string, signal: AbortSignal): Promise<ToolRunResult> {
    if (error instanceof ToolError) return failure(error.kind, error.message);
    if (signal.aborted || (error instanceof Error && error.name === "AbortError")) {
      return failure("aborted", `${tool} was interrupted: the turn was cancelled or interrupted.`);
    }
    if (isSystemError(error)) {
      const where = error.path ? await this.paths.display(error.path) : "the file";
      switch (error.code) {
        case "ENOENT":
          return failure("not_found", `${where} does not exist. Check the path (ls or glob can help); relative paths are relative to the workspace.`);
        case "EISDIR":
          return failure("failed", `${where} is a directory, not a file.`);
        case "ENOTDIR":
          return failure("failed", `A part of ${where} is a file, not a directory.`);
        case "EACCES":
        case "EPERM":
          return failure("failed", `Permission denied for ${where}.`);
        default:
          return failure("failed", `${tool} failed on ${where}: ${error.code}${error.syscall ? ` (${error.syscall})` : ""}.`);
      }
    }
    return failure("failed", `${tool} failed: ${errorText(error)}`);
  }

  private async bound(call: ToolCallRequest, result: ToolRunResult): Promise<ToolRunResult> {
    if (result.content.length <= this.maxResultChars) return result;
    let saved: string | null = null;
    try {
      saved = await this.outputs.save(call.name, call.id, result.content);
    } catch {
      saved = null;
    }
    const bounded = headTail(result.content, this.maxResultChars, (n) => omissionMarker(n, "characters", saved));
    return { ...result, content: bounded.text, details: { ...result.details, truncated: true, fullOutput: saved } };
  }
}

/**
 * The tools' JSON Schemas as JSON text, by their `parameters` builder (a module-level lazyArguments, so
 * the key is the same in every session; `remote`: with the selectable-mode `remote` argument). The snapshot's warm-up session (packages/worker/src/snapshot-warmup.ts, which also asks for
 * every host tool) fills it and then drops the zod schemas it built (lazyArguments), so a worker's
 * catalog costs neither z.toJSONSchema (a third of a cold `initialize`, the host tools alone ~10 ms) nor
 * the tools' ~400 zod objects in every worker's heap; a tool's zod schema is built when it is called.
 * Text, not the converted objects: one string deserialises far cheaper than the object graph it parses
 * into (as objects, the host tools' schemas added ~6 ms to every start).
 */
let jsonSchemas = new WeakMap<() => z.ZodObject, { plain?: string; remote?: string }>();

/** Forgets the cached JSON Schemas (tests comparing the catalog with and without the cache). */
export function clearToolSchemaCache(): void {
  jsonSchemas = new WeakMap();
}

function failure(kind: ToolErrorKind, content: string): ToolRunResult {
  return { content, isError: true, details: { kind } };
}

function fromOutput(output: string | ToolOutput): ToolRunResult {
  if (typeof output === "string") return { content: output, isError: false };
  return {
    content: output.content,
    isError: output.isError ?? false,
    ...(output.details ? { details: output.details } : {}),
    ...(output.files?.length ? { files: output.files } : {}),
  };
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** `work`'s value, or ABANDONED when `signal` aborted and `work` did not settle within the grace. */
async function withAbortGrace<T>(work: Promise<T>, signal: AbortSignal): Promise<T | typeof ABANDONED> {
  let timer: NodeJS.Timeout | undefined;
  let onAbort = (): void => undefined;
  const abandoned = new Promise<typeof ABANDONED>((resolve) => {
    onAbort = () => {
      timer = setTimeout(() => resolve(ABANDONED), ABORT_GRACE_MS);
    };
    if (signal.aborted) onAbort();
    else signal.addEventListener("abort", onAbort, { once: true });
  });
  work.catch(() => undefined); // a late rejection after we stopped waiting is not unhandled
  try {
    return await Promise.race([work, abandoned]);
  } finally {
    clearTimeout(timer);
    signal.removeEventListener("abort", onAbort);
  }
}
