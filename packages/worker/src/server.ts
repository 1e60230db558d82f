import type { MessageConnection } from "vscode-jsonrpc/node.js";
import {
  AckEventsParams,
  cancelParams,
  controlParams,
  EnqueueParams,
  ErrorCodes,
  IdleCollector,
  InitializeParams,
  Methods,
  queryParams,
  type InitializeResult,
} from "@starling/protocol";
import type { Session as SessionType } from "@starling/core";
import { createCoordinator, DEFAULT_COORDINATE_TIMEOUT_MS } from "./coordinate.js";
import { createCredentialsAsker } from "./credentials.js";
import { createHiddenReporter } from "./hidden-report.js";
import { EventPump } from "./event-pump.js";
import type { WorkerLogger } from "./logger.js";
import { parseParams, rpcError } from "./rpc-errors.js";
import { redactLogsFor, scrubKeysFromEnviron } from "./secrets.js";
import { baselineCompileFromNowOn } from "./tiering.js";
import { preloadModelTransport } from "./preload.js";
import { enterWorkspace } from "./workspace.js";

const KNOWN_METHODS = [
  Methods.initialize.method,
  Methods.enqueue.method,
  Methods.cancel.method,
  Methods.continue.method,
  Methods.compact.method,
  Methods.query.method,
  Methods.ackEvents.method,
  Methods.shutdown.method,
];

/**
 * The worker's JSON-RPC surface: validates every request with the protocol schemas and maps it onto
 * one Session. Core is imported lazily in `initialize`, so a fresh process answers quickly.
 */
export class WorkerServer {
  private session: SessionType | null = null;
  private initializing = false;
  private stopping = false;
  private readonly pump: EventPump;
  // Each turn leaves its request body, stream chunks and events behind: live heap +2.7 kB per turn, but
  // RssAnon +50-100 kB per turn without this (test/bench/worker-growth.ts). Start-up, `initialize` and the
  // first turns leave ~2 MB of V8 pages behind as well, less than the growth rule waits for, hence the
  // first pause always collects (docs/PERFORMANCE.md "Worker memory (session 8)").
  // A pause also drops the model request bodies' buffer (core body-buffer.ts), set once core is loaded.
  private releaseBodyBuffer: () => void = () => undefined;
  private readonly idleGc = new IdleCollector({ quietMs: 5000, growthBytes: 2 * 1024 * 1024, onPause: () => this.releaseBodyBuffer() });
  private markStarted: () => void = () => undefined;
  private readonly actorStarted = new Promise<void>((resolve) => (this.markStarted = resolve));

  constructor(
    private readonly connection: MessageConnection,
    private readonly log: WorkerLogger,
    private readonly exit: (code: number) => void,
  ) {
    this.pump = new EventPump((entry) => void connection.sendNotification(Methods.event.method, entry));
  }

  register(): void {
    const c = this.connection;
    c.onRequest(Methods.initialize.method, (raw: unknown) => this.initialize(raw));
    c.onRequest(Methods.enqueue.method, (raw: unknown) => {
      const params = parseParams(Methods.enqueue.method, EnqueueParams, raw);
      return this.ready(Methods.enqueue.method).enqueue(params);
    });
    c.onRequest(Methods.cancel.method, async (raw: unknown) => {
      const params = parseParams(Methods.cancel.method, cancelParams(), raw);
      const session = await this.started(Methods.cancel.method);
      return params.endUnfinished === undefined ? session.cancel(params.reason) : session.endUnfinished(params.endUnfinished, params.reason);
    });
    c.onRequest(Methods.continue.method, async (raw: unknown) => {
      const params = parseParams(Methods.continue.method, controlParams(), raw);
      return (await this.started(Methods.continue.method)).continue(params.reason);
    });
    c.onRequest(Methods.compact.method, async (raw: unknown) => {
      parseParams(Methods.compact.method, controlParams(), raw);
      return (await this.started(Methods.compact.method)).compact();
    });
    c.onRequest(Methods.query.method, async (raw: unknown) => {
      const params = parseParams(Methods.query.method, queryParams(), raw);
      const session = await this.started(Methods.query.method);
      try {
        return session.query(params);
      } catch (err) {
        if (err instanceof RangeError) throw rpcError(ErrorCodes.InvalidParams, "InvalidParams", err.message);
        throw err;
      }
    });
    c.onRequest(Methods.ackEvents.method, async (raw: unknown) => {
      const params = parseParams(Methods.ackEvents.method, AckEventsParams, raw);
      return { lastAckedSeq: await this.ready(Methods.ackEvents.method).ackEvents(params.upTo) };
    });
    c.onRequest(Methods.shutdown.method, async () => {
      await this.shutdown();
      setImmediate(() => this.exit(0));
      return {};
    });
    c.onRequest((method: string) => {
      throw rpcError(
        ErrorCodes.MethodNotFound,
        "MethodNotFound",
        `unknown method "${method}"; this worker serves: ${KNOWN_METHODS.join(", ")}`,
      );
    });
    c.onNotification((method: string) => this.log.warn({ method }, "ignored unknown notification"));
  }

  private async initialize(raw: unknown): Promise<InitializeResult> {
    if (this.session || this.initializing) {
      throw rpcError(ErrorCodes.AlreadyInitialized, "AlreadyInitialized", "initialize was already called; one worker serves one session");
    }
    const init = parseParams(Methods.initialize.method, InitializeParams, raw);
    redactLogsFor(init);
    // A pre-started (warm spare) worker was spawned elsewhere: it runs in its session's workspace from here on.
    const unusable = enterWorkspace(init.workspace);
    if (unusable) throw rpcError(ErrorCodes.InvalidParams, "InvalidParams", `initialize: ${unusable}`);
    this.initializing = true;
    try {
      const { FolderError, Session, StoreLockedError, releaseBodyBuffer } = await import("@starling/core");
      this.releaseBodyBuffer = releaseBodyBuffer;
      const coordinate = createCoordinator(this.connection, init.coordinateTimeoutMs ?? DEFAULT_COORDINATE_TIMEOUT_MS);
      try {
        this.session = await Session.open({
          init,
          log: this.log,
          coordinate: (action, payload, signal, ids) => coordinate(action, payload, signal, ids),
          askCredentials: createCredentialsAsker(this.connection),
          reportHidden: createHiddenReporter(this.connection, this.log),
          onStoreFailed: (err) => this.crash(err),
          onEvent: (entry) => {
            this.pump.push(entry);
            this.idleGc.activity();
          },
        });
      } catch (err) {
        if (err instanceof StoreLockedError) throw rpcError(ErrorCodes.StoreLocked, "StoreLocked", err.message);
        if (err instanceof FolderError) throw rpcError(ErrorCodes.InvalidParams, "InvalidParams", `initialize: the session folder ${err.dir} cannot be made: ${err.message}`);
        throw err;
      }
      scrubKeysFromEnviron(init); // the session has read them
      const session = this.session;
      const summary = session.summary();
      this.log.info({ sessionId: init.sessionId, summary }, "session initialized");
      // After the response is written: replay unacknowledged events, then start the actor.
      setImmediate(() => {
        // node:http's module code runs before baseline compilation is on (with it, loading it cost ~4x the CPU).
        void preloadModelTransport(init.model.url).finally(baselineCompileFromNowOn);
        if (this.stopping) return;
        session.unacknowledged().then(
          (backlog) => {
            if (this.stopping) return;
            this.pump.resume(backlog);
            session.start((err) => this.crash(err));
            this.markStarted();
          },
          // A shutdown right after `initialize` closes the database under the replay's iterator.
          (err: unknown) => (this.stopping ? undefined : this.crash(err)),
        );
      });
      return summary;
    } finally {
      this.initializing = false;
    }
  }

  /**
   * The session once its actor runs. The actor starts just after the `initialize` response (once the
   * unacknowledged events are replayed); a control or query that arrives in between waits for it
   * instead of failing.
   */
  private async started(method: string): Promise<SessionType> {
    const session = this.ready(method);
    await this.actorStarted;
    return session;
  }

  private ready(method: string): SessionType {
    if (this.stopping) throw rpcError(ErrorCodes.ShuttingDown, "ShuttingDown", `${method}: the worker is shutting down`);
    if (!this.session) {
      throw rpcError(ErrorCodes.NotInitialized, "NotInitialized", `${method}: send initialize first`);
    }
    return this.session;
  }

  async shutdown(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.idleGc.stop();
    await this.session?.shutdown();
  }

  private crash(err: unknown): void {
    this.log.error({ err: err instanceof Error ? err.message : String(err) }, "session runtime crashed");
    void this.connection.sendNotification(Methods.event.method, {
      seq: 0,
      event: { type: "runtime_crashed", message: err instanceof Error ? err.message : String(err) },
    });
    setTimeout(() => this.exit(1), 50);
  }
}
