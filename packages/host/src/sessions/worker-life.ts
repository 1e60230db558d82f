import type { WorkerExit } from "@starling/protocol";
import { restartDelay } from "./backoff.js";
import type { SessionRunner } from "./session-runner.js";
import type { WorkerLife } from "./session-state.js";
import { reconcileAtStart } from "./start-reconcile.js";
import { seedDelivered, withSeedHistory } from "./seed-history.js";
import { errorText, LaunchRefused } from "./util.js";
import { WorkerHandle } from "./worker-handle.js";

/**
 * The life of a session's worker (`WorkerLife`: none, starting, running, backoff, gaveUp) and its count
 * of failures in a row, a part of its runner's state that only this class changes: spawn and
 * initialize, exits, restarts with backoff, giving up. What a failed start, an exit or a give-up means
 * for the rest of the session (its turn, slot, continue, last error) the runner applies
 * (`startFailed`, `workerLost`, `gaveUp`).
 */
export class WorkerLives {
  private life: WorkerLife = { kind: "none" };
  private restartCount = 0;
  private consecutiveFailures = 0;

  constructor(private readonly r: SessionRunner) {}

  get kind(): WorkerLife["kind"] {
    return this.life.kind;
  }

  /** This life's worker: initialized, or spawned and being initialized; null otherwise. */
  get worker(): WorkerHandle | null {
    const life = this.life;
    return life.kind === "running" ? life.handle : life.kind === "starting" ? life.handle : null;
  }

  get starting(): Promise<WorkerHandle | null> | null {
    return this.life.kind === "starting" ? this.life.promise : null;
  }

  /** Unexpected worker exits since the host started. */
  get restarts(): number {
    return this.restartCount;
  }

  /** The newest inbound seq stored when the session gave up; null unless it gave up. */
  get gaveUpAtSeq(): number | null {
    return this.life.kind === "gaveUp" ? this.life.atSeq : null;
  }

  /** Failures count from zero again, and a session that gave up leaves that state; true if it had given up. */
  resetFailures(): boolean {
    const gaveUp = this.life.kind === "gaveUp";
    if (gaveUp) this.life = { kind: "none" };
    this.consecutiveFailures = 0;
    return gaveUp;
  }

  /** A turn ended with progress: failures count from zero again. */
  progressed(): void {
    this.consecutiveFailures = 0;
  }

  /** The running worker (waiting for one being started), never spawning one; null if none. */
  async liveWorker(): Promise<WorkerHandle | null> {
    if (this.worker?.usable) return this.worker;
    if (this.starting) return this.starting.catch(() => null);
    return null;
  }

  /** The live worker, spawning and initializing one if needed; null if it cannot start now. */
  async ensureWorker(): Promise<WorkerHandle | null> {
    const current = this.worker;
    if (current?.usable) return current;
    if (this.starting) return this.starting;
    if (current && !current.exited) {
      await current.client.exited; // closing or dying: let it release the database first
      await Promise.resolve(); // and let its exit handler run
    }
    if (this.worker?.usable) return this.worker;
    if (this.starting) return this.starting;
    if (this.r.blocked()) return null;
    const starting: Extract<WorkerLife, { kind: "starting" }> = { kind: "starting", promise: Promise.resolve(null), handle: null };
    this.life = starting;
    starting.promise = this.startWorker(starting);
    try {
      return await starting.promise;
    } finally {
      if (this.life === starting) this.life = { kind: "none" };
    }
  }

  private async startWorker(life: Extract<WorkerLife, { kind: "starting" }>): Promise<WorkerHandle | null> {
    const r = this.r;
    let handle: WorkerHandle | null = null;
    try {
      const launch = await r.ctx.options.launch(r.id);
      if (r.ctx.isStopped() || r.retiring) return null;
      const spawned = WorkerHandle.spawn({
        sessionId: r.id,
        launch,
        log: r.log,
        answerMs: r.ctx.answerMs,
        onEvent: (h, params) => r.enqueueEvent(h, params),
        coordinate: (params, callerGone) => r.ctx.options.coordinate(r.id, params, callerGone),
        ...(r.ctx.options.credentials ? { credentials: r.ctx.options.credentials } : {}),
        ...(r.ctx.options.hiddenPaths ? { hiddenPaths: r.ctx.options.hiddenPaths } : {}),
        spare: r.ctx.takeSpare?.(launch),
      });
      handle = spawned;
      life.handle = spawned;
      void spawned.client.exited.then((exit) => this.onExit(spawned, exit));
      const params = await withSeedHistory(r.store, r.id, launch.init);
      const init = await spawned.initialize(params, r.ctx.initializeTimeoutMs);
      if (params.seedHistory) await seedDelivered(r.store, r.id, r.log);
      await reconcileAtStart(r, spawned, init);
      if (spawned.exited) return null; // died right after initialize: the exit handler restarts it
      spawned.markReady();
      this.life = { kind: "running", handle: spawned };
      r.log.info(
        { pid: spawned.pid, historyLength: init.historyLength, lastEventSeq: init.lastEventSeq, unfinishedTurn: init.unfinishedTurn, queuedInputs: init.queuedInputs },
        "worker ready",
      );
      return spawned;
    } catch (err) {
      if (handle) {
        handle.startFailed = true;
        handle.markFailed();
      }
      if (this.life === life) this.life = { kind: "none" };
      if (r.ctx.isStopped() || r.retiring) return null;
      this.consecutiveFailures++;
      r.log.warn({ err: errorText(err), attempt: this.consecutiveFailures }, "worker start failed");
      r.startFailed(`worker start failed: ${errorText(err)}${handle?.lastProblem() ? ` (${handle.lastProblem()})` : ""}`);
      if (err instanceof LaunchRefused && r.wantsWorker()) this.giveUp();
      else this.scheduleRestart();
      return null;
    }
  }

  private onExit(handle: WorkerHandle, exit: WorkerExit): void {
    const r = this.r;
    handle.markExited();
    r.ctx.changes.fire();
    // Exits before `initialize` answered, or of a start that failed, are counted by startWorker.
    if (this.worker !== handle || !handle.init || handle.startFailed) return;
    this.life = { kind: "none" };
    if (handle.expectedExit || r.ctx.isStopped()) {
      r.workerLost(null);
      r.log.info({ pid: handle.pid, exit, exitDrain: handle.client.exitDrain }, "worker stopped");
      if (!r.ctx.isStopped() && !r.retiring && r.wantsWorker()) r.pump();
      return;
    }
    this.restartCount++;
    this.consecutiveFailures++;
    const error = handle.describeExit(exit);
    r.log.warn({ pid: handle.pid, exit, exitDrain: handle.client.exitDrain, restarts: this.restartCount, error }, "worker exited unexpectedly");
    r.workerLost(error);
    this.scheduleRestart();
  }

  private scheduleRestart(): void {
    const r = this.r;
    if (!r.wantsWorker() || r.ctx.isStopped() || r.retiring) return;
    if (this.consecutiveFailures >= r.ctx.restart.maxAttempts) return this.giveUp();
    const delay = restartDelay(r.ctx.restart, this.consecutiveFailures);
    r.log.info({ delayMs: delay, attempt: this.consecutiveFailures }, "restarting the worker after a delay");
    this.clearBackoff();
    const timer = setTimeout(() => {
      if (this.life.kind === "backoff" && this.life.timer === timer) this.life = { kind: "none" };
      r.pump();
    }, delay);
    this.life = { kind: "backoff", timer, attempt: this.consecutiveFailures };
  }

  clearBackoff(): void {
    if (this.life.kind !== "backoff") return;
    clearTimeout(this.life.timer);
    this.life = { kind: "none" };
  }

  /** Stops restarting until new messages arrive or the user sends /continue; messages stay stored. */
  private giveUp(): void {
    this.clearBackoff();
    this.life = { kind: "gaveUp", atSeq: Math.max(0, ...this.r.pendingItems().map((item) => item.seq)) };
    this.r.gaveUp(this.consecutiveFailures);
  }
}
