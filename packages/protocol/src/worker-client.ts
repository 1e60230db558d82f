import { spawn, type ChildProcess } from "node:child_process";
import {
  createMessageConnection,
  ResponseError,
  type CancellationToken,
  type MessageConnection,
} from "vscode-jsonrpc/node.js";
import { FrameWriter } from "./frame-writer.js";
import { FrameReader } from "./frame-reader.js";
import { ReadDrain } from "./read-drain.js";
import type { z } from "zod";
import { Methods, type MethodDescriptor } from "./methods.js";
import type { CredentialsParams, CredentialsResult } from "./model-credentials.js";
import type { HiddenPathsParams, HiddenPathsResult } from "./hidden-report.js";
import type {
  AckEventsParams,
  CancelParams,
  ControlParams,
  ControlResult,
  CoordinateParams,
  CoordinateResult,
  EnqueueParams,
  EnqueueResult,
  InitializeParams,
  InitializeResult,
  QueryParams,
  QueryResult,
} from "./methods.js";
import { SessionEventParams } from "./events.js";
import { allowlistedEnv } from "./env-allowlist.js";

export interface SpawnWorkerOptions {
  /** Program and arguments, e.g. `[process.execPath, "/repo/packages/worker/dist/main.js"]`. */
  command: readonly [string, ...string[]];
  cwd?: string;
  /**
   * The worker's environment. Default: only the allowlisted part of this process's environment
   * (ARCHITECTURE §2), so no secret of the embedding program leaks into the worker and its tools. Give
   * model keys in `initialize.secrets`, or add them here explicitly.
   */
  env?: NodeJS.ProcessEnv;
  /** What to do with the worker's stderr (pino logs): inherit, ignore, or a line callback. */
  stderr?: "inherit" | "ignore" | ((line: string) => void);
  /** Put the worker in its own process group (so the host can kill the group). Default true. */
  detached?: boolean;
}

export interface WorkerExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** Thrown when the worker answered with a JSON-RPC error. */
export class WorkerRequestError extends Error {
  override readonly name = "WorkerRequestError";
  constructor(
    readonly method: string,
    readonly code: number,
    message: string,
    readonly data?: unknown,
  ) {
    super(`${method} failed (${code}): ${message}`);
  }
}

/** How long an exit waits for the worker's last frames to be handled (normally: at once). */
const EXIT_DRAIN_LIMIT_MS = 2000;

/** Thrown when a request could not complete because the worker exited or the connection closed. */
export class WorkerGoneError extends Error {
  override readonly name = "WorkerGoneError";
}

type Handler<P, R> = (params: P) => R | Promise<R>;
/**
 * Serves one `host/coordinate` request. `callerGone` aborts when the worker no longer waits for the
 * answer: it cancelled the request (`$/cancelRequest`: the tool's turn was cancelled, or its timeout
 * passed) or it exited. A handler that waits (subagent_join) stops then.
 */
export type CoordinateHandler = (params: CoordinateParams, callerGone: AbortSignal) => CoordinateResult | Promise<CoordinateResult>;

/** A typed JSON-RPC connection to one `starling-worker` process. */
export class WorkerClient {
  readonly exited: Promise<WorkerExit>;
  private exitInfo: WorkerExit | null = null;
  /** The process has exited (its pid may be reused), even while its last frames are still being handled. */
  private processGone = false;
  /** The exit was reported at the drain limit, not once the worker's last frames were handled (for the host's log). */
  private drainCut = false;
  private eventHandlers: Handler<SessionEventParams, void>[] = [];
  /**
   * Rejecters of the requests waiting for an answer, called once the worker exited. Not a race of each
   * request against `exited`: every such race left a reaction on `exited` (~0.5 kB of host heap per
   * request) until the worker's exit, and the exit then built an error for each of them.
   */
  private readonly waiting = new Set<(exit: WorkerExit) => void>();
  private coordinateHandler: CoordinateHandler | null = null;
  /** The callers of the coordinate requests being served, told when the worker exits. */
  private readonly coordinateCallers = new Set<AbortController>();
  private credentialsHandler: Handler<CredentialsParams, CredentialsResult> | null = null;
  private hiddenPathsHandler: Handler<HiddenPathsParams, HiddenPathsResult> | null = null;

  /**
   * `drain` (given by `spawnWorker`): an exit is reported only after what the worker wrote before it
   * was handled, so an answer sent just before exiting is not lost.
   */
  constructor(
    readonly child: ChildProcess,
    private readonly connection: MessageConnection,
    drain?: ReadDrain,
  ) {
    this.exited = new Promise((resolve) => {
      child.once("exit", (code, signal) => {
        this.processGone = true;
        for (const caller of this.coordinateCallers) caller.abort();
        void (drain?.drained(child.stdout, EXIT_DRAIN_LIMIT_MS) ?? Promise.resolve(true)).then((complete) => {
          this.drainCut = !complete;
          this.exitInfo = { code, signal };
          connection.dispose();
          resolve(this.exitInfo);
        });
      });
    });
    // Registered before any request: a request the connection's disposal already rejected keeps that error.
    void this.exited.then((exit) => {
      for (const reject of this.waiting) reject(exit);
      this.waiting.clear();
    });
    connection.onNotification(Methods.event.method, (raw: unknown) => {
      const parsed = SessionEventParams.safeParse(raw);
      if (!parsed.success) return;
      for (const h of this.eventHandlers) void h(parsed.data);
    });
    connection.onRequest(Methods.coordinate.method, async (raw: unknown, token: CancellationToken) => {
      const parsed = Methods.coordinate.params.safeParse(raw);
      if (!parsed.success) return { ok: false, error: `invalid host/coordinate params: ${parsed.error.message}` };
      if (!this.coordinateHandler) return { ok: false, error: `no host handler for ${parsed.data.action}` };
      const caller = new AbortController();
      if (this.processGone || token.isCancellationRequested) caller.abort();
      this.coordinateCallers.add(caller);
      const cancelled = token.onCancellationRequested(() => caller.abort());
      try {
        return await this.coordinateHandler(parsed.data, caller.signal);
      } catch (err) {
        return { ok: false, error: err instanceof Error ? err.message : String(err) };
      } finally {
        cancelled.dispose();
        this.coordinateCallers.delete(caller);
      }
    });
    // Errors go back as JSON-RPC errors: the worker's provider turns them into a failed model call.
    connection.onRequest(Methods.credentials.method, async (raw: unknown) => {
      const parsed = Methods.credentials.params.safeParse(raw);
      if (!parsed.success) throw new Error(`invalid model/credentials params: ${parsed.error.message}`);
      if (!this.credentialsHandler) throw new Error(`this host does not serve model/credentials for ${parsed.data.providerType}`);
      return await this.credentialsHandler(parsed.data);
    });
    connection.onRequest(Methods.hiddenPaths.method, async (raw: unknown) => {
      const parsed = Methods.hiddenPaths.params.safeParse(raw);
      if (!parsed.success) throw new Error(`invalid sandbox/hiddenPaths params: ${parsed.error.message}`);
      if (!this.hiddenPathsHandler) throw new Error("this host does not keep hidden paths' real paths (sandbox/hiddenPaths)");
      return await this.hiddenPathsHandler(parsed.data);
    });
    connection.onClose(() => undefined);
    connection.onError(() => undefined);
    connection.listen();
  }

  get pid(): number | undefined {
    return this.child.pid;
  }
  get exitStatus(): WorkerExit | null {
    return this.exitInfo;
  }
  /**
   * How the reported exit waited for the worker's last frames: "handled" (all of them, normally at once) or
   * "limit" (given up after EXIT_DRAIN_LIMIT_MS: its stdout stayed open or a frame was never handled).
   */
  get exitDrain(): "handled" | "limit" | null {
    return this.exitInfo ? (this.drainCut ? "limit" : "handled") : null;
  }

  onEvent(handler: Handler<SessionEventParams, void>): () => void {
    this.eventHandlers.push(handler);
    return () => {
      this.eventHandlers = this.eventHandlers.filter((h) => h !== handler);
    };
  }
  onCoordinate(handler: CoordinateHandler): void {
    this.coordinateHandler = handler;
  }
  /** Serves `model/credentials` (model-credentials.ts); without a handler the worker gets an error saying so. */
  onCredentials(handler: Handler<CredentialsParams, CredentialsResult>): void {
    this.credentialsHandler = handler;
  }
  /** Serves `sandbox/hiddenPaths` (hidden-report.ts); without a handler the worker gets an error saying so. */
  onHiddenPaths(handler: Handler<HiddenPathsParams, HiddenPathsResult>): void {
    this.hiddenPathsHandler = handler;
  }

  initialize(params: InitializeParams): Promise<InitializeResult> {
    return this.call(Methods.initialize, params);
  }
  enqueue(params: EnqueueParams): Promise<EnqueueResult> {
    return this.call(Methods.enqueue, params);
  }
  cancel(params: CancelParams = {}): Promise<ControlResult> {
    return this.call(Methods.cancel, params);
  }
  continue(params: ControlParams = {}): Promise<ControlResult> {
    return this.call(Methods.continue, params);
  }
  compact(params: ControlParams = {}): Promise<ControlResult> {
    return this.call(Methods.compact, params);
  }
  query(params: QueryParams): Promise<QueryResult> {
    return this.call(Methods.query, params);
  }
  ackEvents(params: AckEventsParams): Promise<{ lastAckedSeq: number }> {
    return this.call(Methods.ackEvents, params);
  }
  shutdown(): Promise<Record<string, never>> {
    return this.call(Methods.shutdown, {}) as Promise<Record<string, never>>;
  }

  /** Sends any method by name with raw params (for conformance tests of bad input). */
  async raw(method: string, params: unknown): Promise<unknown> {
    return this.send(method, params);
  }

  /** Asks the worker to shut down, waiting up to `timeoutMs`, then kills it. */
  async close(timeoutMs = 5000): Promise<WorkerExit> {
    if (this.exitInfo) return this.exitInfo;
    const timer = setTimeout(() => this.kill("SIGKILL"), timeoutMs);
    try {
      await this.shutdown().catch(() => undefined);
      this.child.stdin?.end();
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  kill(signal: NodeJS.Signals = "SIGKILL"): void {
    if (this.processGone || this.child.pid === undefined) return;
    try {
      process.kill(this.child.pid, signal);
    } catch {
      /* already gone */
    }
  }

  /**
   * Signals the worker's process group (a worker spawned `detached` leads its own), so whatever it started
   * without a group of its own goes with it; then the worker itself, in case it leads no group.
   */
  killGroup(signal: NodeJS.Signals = "SIGKILL"): void {
    if (this.processGone || this.child.pid === undefined) return;
    try {
      process.kill(-this.child.pid, signal);
    } catch {
      /* no such group: not detached, or already gone */
    }
    this.kill(signal);
  }

  private async call<P extends z.ZodType, R extends z.ZodType>(
    descriptor: MethodDescriptor<P, R>,
    params: z.input<P>,
  ): Promise<z.infer<R>> {
    const result = await this.send(descriptor.method, params);
    return descriptor.result.parse(result) as z.infer<R>;
  }

  private send(method: string, params: unknown): Promise<unknown> {
    if (this.processGone) return Promise.reject(new WorkerGoneError(`worker exited before ${method}`));
    return new Promise((resolve, reject) => {
      const onExit = (exit: WorkerExit): void =>
        reject(new WorkerGoneError(`worker exited (code ${exit.code}, signal ${exit.signal}) during ${method}`));
      const fail = (err: unknown): void => {
        this.waiting.delete(onExit);
        reject(requestError(method, err));
      };
      this.waiting.add(onExit);
      try {
        this.connection.sendRequest(method, params).then((result) => {
          this.waiting.delete(onExit);
          resolve(result);
        }, fail);
      } catch (err) {
        fail(err);
      }
    });
  }
}

/** A failed request as the caller sees it: the worker's JSON-RPC error, or the worker gone. */
function requestError(method: string, err: unknown): Error {
  if (err instanceof ResponseError) return new WorkerRequestError(method, err.code, err.message, err.data);
  if (err instanceof WorkerGoneError) return err;
  return new WorkerGoneError(`${method}: ${err instanceof Error ? err.message : String(err)}`);
}

/** Spawns a worker process and connects to it over its stdio. */
export function spawnWorker(options: SpawnWorkerOptions): WorkerClient {
  const [program, ...args] = options.command;
  const stderrMode = typeof options.stderr === "function" ? "pipe" : (options.stderr ?? "inherit");
  const child = spawn(program, args, {
    cwd: options.cwd,
    env: options.env ?? allowlistedEnv(process.env),
    stdio: ["pipe", "pipe", stderrMode],
    detached: options.detached ?? true,
  });
  const onLine = options.stderr;
  if (typeof onLine === "function" && child.stderr) {
    let buffered = "";
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (chunk: string) => {
      buffered += chunk;
      let nl: number;
      while ((nl = buffered.indexOf("\n")) >= 0) {
        onLine(buffered.slice(0, nl));
        buffered = buffered.slice(nl + 1);
      }
    });
  }
  // A failed spawn (ENOENT) surfaces as an exit with code null.
  child.once("error", () => child.emit("exit", null, null));
  const reader = new FrameReader(child.stdout!);
  const drain = new ReadDrain(reader);
  const connection = createMessageConnection(reader, new FrameWriter(child.stdin!), undefined, {
    messageStrategy: drain.strategy,
  });
  return new WorkerClient(child, connection, drain);
}
