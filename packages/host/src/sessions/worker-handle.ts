import type { Writable } from "node:stream";
import type pino from "pino";
import {
  Methods,
  spawnWorker,
  WorkerGoneError,
  WorkerRequestError,
  type CoordinateParams,
  type CoordinateResult,
  type CredentialsParams,
  type CredentialsResult,
  type HiddenPathsParams,
  type HiddenPathsResult,
  type InitializeParams,
  type InitializeResult,
  type SessionEventParams,
  type WorkerClient,
  type WorkerExit,
} from "@starling/protocol";
import { answerWithin, seconds, WorkerNoAnswer } from "./answer-deadline.js";
import { EventAcks } from "./event-acks.js";
import { RestHint } from "./rest-hint.js";
import type { SessionLaunch } from "./types.js";
import { withTimeout } from "./util.js";
import type { SpareWorker } from "./warm-spares.js";

const STDERR_TAIL = 20;
/** How long a stuck worker killed by `ask` may take to be reported gone (its last frames drained: 2 s at most). */
const KILLED_EXIT_WAIT_MS = 5_000;

export interface WorkerHandleOptions {
  sessionId: string;
  launch: SessionLaunch;
  log: pino.Logger;
  /** How long the worker has to answer a request sent through `ask` (answer-deadline.ts). */
  answerMs: number;
  onEvent(handle: WorkerHandle, params: SessionEventParams): void;
  /** `callerGone`: the worker cancelled the request or exited (CoordinateHandler). */
  coordinate(params: CoordinateParams, callerGone: AbortSignal): Promise<CoordinateResult>;
  credentials?(params: CredentialsParams): Promise<CredentialsResult>;
  hiddenPaths?(params: HiddenPathsParams): Promise<HiddenPathsResult>;
  /** A pre-started worker (warm-spares.ts) to use instead of spawning one. */
  spare?: SpareWorker | null;
}

/**
 * One life of a session's worker process: the JSON-RPC client, its `initialize` summary, its stderr
 * (to the host log at debug) and what the supervisor did during this life.
 */
export class WorkerHandle {
  readonly client: WorkerClient;
  init: InitializeResult | null = null;
  /** The supervisor asked it to stop (idle, retire, host stop): its exit is not a crash. */
  expectedExit = false;
  closing = false;
  private closed: Promise<WorkerExit> | null = null;
  exited = false;
  /** Initialization failed after `initialize` answered (the supervisor killed it). */
  startFailed = false;
  /** The request this life did not answer in time: it was killed as stuck (`ask`). */
  noAnswer: WorkerNoAnswer | null = null;
  /** Non-duplicate messages handed off during this life. */
  newInputs = 0;
  /** Turns this life sent `session/continue` for. */
  readonly continued = new Set<number>();
  /** A turn reported unfinished by `initialize` whose `turn_recovered` event is still to come. */
  recoveryPending: number | null = null;
  /** Settles true once initialized (events may be processed), false if the start failed. */
  readonly ready: Promise<boolean>;
  /** `session/ackEvents` of this life, coalesced (sent before a graceful shutdown). */
  readonly acks: EventAcks;
  /** Whether this life rests, from its last turn-ending event (spares a `live_state` query per turn). */
  readonly rest = new RestHint();
  private settleReady!: (ok: boolean) => void;
  private isReady = false;
  private readonly stderrTail: string[] = [];
  private readonly log: pino.Logger;
  private readonly answerMs: number;

  private constructor(options: WorkerHandleOptions) {
    this.ready = new Promise((resolve) => (this.settleReady = resolve));
    this.log = options.log;
    this.answerMs = options.answerMs;
    const { launch } = options;
    this.client =
      options.spare?.adopt((line) => this.onStderr(line)) ??
      spawnWorker({
        command: launch.command,
        cwd: launch.cwd,
        env: launch.env,
        stderr: (line) => this.onStderr(line),
      });
    // Writes to a worker that just died fail with EPIPE on its stdin; the exit handler deals with the death.
    for (const stream of [this.client.child.stdin, this.client.child.stdout]) {
      stream?.on("error", (err) => this.log.debug({ pid: this.pid, err: err.message }, "worker pipe error"));
    }
    if (this.client.child.stdin) completeFailedWrites(this.client.child.stdin, (err) => this.log.debug({ pid: this.pid, err: err.message }, "write to a dead worker dropped"));
    this.client.onEvent((params) => {
      this.rest.noteEvent(params, this.init?.lastEventSeq);
      options.onEvent(this, params);
    });
    this.acks = new EventAcks({
      send: async (upTo) => (this.gone ? undefined : this.client.ackEvents({ upTo })),
      lost: (err) => this.lostBy(err),
      log: options.log,
    });
    this.client.onCoordinate((params, callerGone) => options.coordinate(params, callerGone));
    if (options.credentials) this.client.onCredentials(options.credentials);
    if (options.hiddenPaths) this.client.onHiddenPaths(options.hiddenPaths);
  }

  static spawn(options: WorkerHandleOptions): WorkerHandle {
    return new WorkerHandle(options);
  }

  get pid(): number | undefined {
    return this.client.pid;
  }

  /** Initialized and neither exited nor shutting down: requests may be sent. */
  get usable(): boolean {
    return this.isReady && !this.gone && !this.closing;
  }

  /**
   * The process has exited (possibly before the supervisor's exit handler ran) or its stdin broke.
   * Requests must not be sent then: vscode-jsonrpc turns a failed write into an unhandled rejection.
   */
  get gone(): boolean {
    const stdin = this.client.child.stdin;
    return this.exited || this.client.exitStatus !== null || !stdin || stdin.destroyed || stdin.writableEnded;
  }

  /**
   * A request failed because the worker went away: WorkerGoneError, or a connection-level error of
   * vscode-jsonrpc (write EPIPE, read error, pending request rejected at dispose, connection inactive:
   * codes -32099…-32096), which WorkerClient surfaces as WorkerRequestError, often before the exit.
   */
  lostBy(err: unknown): boolean {
    if (err instanceof WorkerGoneError || this.gone) return true;
    return err instanceof WorkerRequestError && err.code >= -32099 && err.code <= -32096;
  }

  /**
   * The deadline this life was killed for, when `err` (a request's failure) comes from that kill: its own
   * WorkerNoAnswer, or a request lost with the worker that another request's deadline killed meanwhile.
   */
  stuckBy(err: unknown): WorkerNoAnswer | null {
    if (err instanceof WorkerNoAnswer) return err;
    return this.noAnswer && this.lostBy(err) ? this.noAnswer : null;
  }

  /**
   * Sends a request (`method` names it) under the answer deadline: a worker that does not answer within
   * `answerMs` is stuck (stopped, or its event loop blocked). It is killed, process group and all, and its
   * exit is handled like a crash (worker-life.ts: counted toward giving up; a turn it ran is recovered by
   * the next worker). Then this rejects with WorkerNoAnswer. Only this life is killed, never a later one.
   */
  ask<T>(method: string, send: (client: WorkerClient) => Promise<T>): Promise<T> {
    return answerWithin(send(this.client), method, this.answerMs, () => this.killStuck(method));
  }

  /** Resolves once the killed worker's exit was handled (the exit handler, registered at spawn, runs first). */
  private async killStuck(method: string): Promise<void> {
    if (!this.gone && !this.closing) {
      this.noAnswer = new WorkerNoAnswer(method, this.answerMs);
      this.log.warn({ pid: this.pid, method, answerMs: this.answerMs }, "the worker did not answer in time; killing it as stuck (it restarts as after a crash)");
      this.client.killGroup("SIGKILL");
    }
    await withTimeout(this.client.exited, KILLED_EXIT_WAIT_MS);
  }

  /**
   * Asks the worker to end its unfinished turn `turnId` for good (`session/cancel` with `endUnfinished`).
   * A refusal (a newer message superseded the turn meanwhile) is only logged. False when the worker was gone
   * or lost on the way: the next worker's start finds the turn still waiting and decides again.
   */
  async endUnfinished(turnId: number, reason: string): Promise<boolean> {
    if (this.gone) return false;
    try {
      const result = await this.ask(Methods.cancel.method, (client) => client.cancel({ endUnfinished: turnId, reason }));
      if (!result.accepted) this.log.info({ turnId, reason: result.reason }, "the worker did not end the unfinished turn");
      return true;
    } catch (err) {
      if (!this.lostBy(err) && !(err instanceof WorkerNoAnswer)) this.log.warn({ turnId, err: err instanceof Error ? err.message : String(err) }, "ending the unfinished turn failed");
      return !this.gone;
    }
  }

  async initialize(params: InitializeParams, timeoutMs: number): Promise<InitializeResult> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`initialize did not answer within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      this.init = await Promise.race([this.client.initialize(params), timeout]);
      return this.init;
    } finally {
      clearTimeout(timer);
    }
  }

  markReady(): void {
    this.isReady = true;
    this.settleReady(true);
  }

  markFailed(): void {
    this.settleReady(false);
    this.client.kill("SIGKILL");
  }

  markExited(): void {
    this.exited = true;
    this.acks.cancel();
    this.settleReady(false);
  }

  /**
   * Graceful stop: `shutdown`, stdin closed, SIGKILL after `timeoutMs`. A second call waits for the
   * first one's exit: a killed agent is retired twice at once (by the kill and by its turn's end), and
   * the second call found stdin already closed by the first and SIGKILLed the worker while it was
   * exiting cleanly (its store not closed, its shell commands' namespace left holding stdout).
   */
  async close(timeoutMs: number): Promise<WorkerExit> {
    if (!this.closed) return (this.closed = this.closeOnce(timeoutMs));
    // Its own deadline still holds (a host stop during a retire with a longer one).
    const timer = setTimeout(() => this.client.kill("SIGKILL"), timeoutMs);
    try {
      return await this.closed;
    } finally {
      clearTimeout(timer);
    }
  }

  private async closeOnce(timeoutMs: number): Promise<WorkerExit> {
    this.expectedExit = true;
    if (!this.closing && !this.gone) this.acks.flush(true); // before `shutdown`, on the same pipe
    this.acks.cancel();
    this.closing = true;
    if (this.gone) {
      this.client.kill("SIGKILL"); // no-op once it has exited
      return this.client.exited;
    }
    return this.client.close(timeoutMs);
  }

  /** A one-line description of an exit for logs and `status().lastError`. */
  describeExit(exit: WorkerExit): string {
    if (this.noAnswer) return `worker stuck: it did not answer ${this.noAnswer.method} within ${seconds(this.noAnswer.ms)} and was killed`;
    const how = exit.signal ? `killed by ${exit.signal}` : exit.code === null ? "could not start" : `exited with code ${exit.code}`;
    const tail = this.lastProblem();
    return `worker ${how}${tail ? `: ${tail}` : ""}`;
  }

  /** The last error-level stderr line (pino level ≥ 50) or non-JSON line (a raw stack trace), if any. */
  lastProblem(): string | null {
    for (let i = this.stderrTail.length - 1; i >= 0; i--) {
      const line = this.stderrTail[i]!;
      const parsed = parseJsonLine(line);
      if (!parsed) return line.slice(0, 300);
      if (typeof parsed.level === "number" && parsed.level >= 50) {
        const err = typeof parsed.err === "string" ? `: ${parsed.err}` : "";
        return `${String(parsed.msg ?? "error")}${err}`.slice(0, 300);
      }
    }
    return null;
  }

  private onStderr(line: string): void {
    if (!line.trim()) return;
    this.stderrTail.push(line);
    if (this.stderrTail.length > STDERR_TAIL) this.stderrTail.shift();
    const parsed = parseJsonLine(line);
    if (parsed) this.log.debug({ pid: this.pid, worker: parsed }, `worker: ${String(parsed.msg ?? "")}`);
    else this.log.debug({ pid: this.pid, line }, "worker stderr");
  }
}

function parseJsonLine(line: string): Record<string, unknown> | null {
  if (!line.startsWith("{")) return null;
  try {
    const value: unknown = JSON.parse(line);
    return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/**
 * vscode-jsonrpc's `sendRequest` rejects the request when its write fails but also re-throws inside an
 * async Promise executor, which becomes an unhandled rejection (fatal under Node's default). A write
 * fails only when the worker is gone (EPIPE, stream destroyed), so such writes are completed without an
 * error here: the request then fails as usual when the exit disposes the connection.
 */
function completeFailedWrites(stdin: Writable, onDropped: (err: Error) => void): void {
  const write = stdin.write.bind(stdin) as (chunk: unknown, encoding: BufferEncoding | undefined, cb: (err?: Error | null) => void) => boolean;
  const patched = (chunk: unknown, encoding?: BufferEncoding | ((err?: Error | null) => void), cb?: (err?: Error | null) => void): boolean => {
    const callback = typeof encoding === "function" ? encoding : cb;
    return write(chunk, typeof encoding === "function" ? undefined : encoding, (err) => {
      if (err) onDropped(err);
      callback?.(null);
    });
  };
  stdin.write = patched as Writable["write"];
}
