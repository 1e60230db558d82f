import { type BackgroundCounts, hasBackground, Methods, type QueryResult } from "@starling/protocol";
import type { SessionRunner } from "./session-runner.js";
import type { WorkerHandle } from "./worker-handle.js";
import { errorText, RESTING_STATES } from "./util.js";

/** How soon a stale worker that was busy at its check is asked again. */
const STALE_RECHECK_MS = 1_000;

/**
 * Shuts a session's worker down after `idleShutdownSeconds` with no turn, no pending message and no
 * slot; the worker's state is in its database, so the next message simply spawns a new one. A worker
 * marked stale (`restartSoon`) goes the same way as soon as it rests.
 */
export class IdleShutdown {
  private timer: NodeJS.Timeout | null = null;
  /** The worker to stop as soon as it rests (`restartSoon`): one started with a setting that changed since. */
  private stale: WorkerHandle | null = null;

  constructor(private readonly r: SessionRunner) {}

  /** `again`: the worker said it was busy at the last check (a stale worker is then asked again in a second, not at once). */
  arm(again = false): void {
    if (this.timer || !this.r.worker?.usable || !this.r.resting()) return;
    const stale = this.stale !== null && this.stale === this.r.worker;
    this.timer = setTimeout(
      () => {
        this.timer = null;
        void this.check().catch((err: unknown) => this.r.noteError("idle shutdown", err));
      },
      stale ? (again ? STALE_RECHECK_MS : 0) : this.r.ctx.options.idleShutdownSeconds * 1000,
    );
    this.timer.unref();
  }

  /**
   * A setting the worker was started with changed (a cron task's model): it is shut down as soon as it
   * rests, through the same checks as an idle shutdown (no turn, nothing queued or being handed off), so a
   * run in progress keeps its settings to the end and nothing is cut; the next work starts a new worker.
   */
  restartSoon(): void {
    this.stale = this.r.worker;
    if (!this.stale) return;
    this.cancel();
    this.arm();
  }

  /**
   * Before work is handed to the session's worker: one marked stale goes first, once its run is over (no turn
   * running or queued in it, nothing being handed to it), so the work starts a worker with the current
   * settings. Without this, a message (a cron task's next firing) that came between the run's end and the
   * shutdown a rest arms went to the old worker, on the old settings. False: it is still busy; the end of its
   * run pumps the session again.
   */
  async retireStaleFirst(): Promise<boolean> {
    const r = this.r;
    const handle = r.worker;
    if (!handle || handle !== this.stale || !handle.usable) return true;
    if (r.turnRunning || r.handoffsInFlight) return false;
    const view = await this.liveState(handle);
    if (r.worker !== handle || !handle.usable) return true;
    if (r.turnRunning || r.handoffsInFlight || busy(view)) return false;
    await this.shutDown(handle);
    return true;
  }

  /** Work waits for the stale worker's run to end (retireStaleFirst): the session's next processed event pumps it. */
  holdsWork(): boolean {
    return this.stale !== null && this.stale === this.r.worker && this.r.pendingItems().length > 0;
  }

  cancel(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private async check(): Promise<void> {
    const r = this.r;
    const handle = r.worker;
    if (!handle?.usable || !r.resting()) return;
    const stale = this.stale === handle;
    // An idle worker's exit would stop what its tools left running (a server, a long build, a download): it
    // stays while there is any. A stale one does not wait for it: its changed setting applies now.
    const view = await this.liveState(handle, !stale);
    if (!r.resting() || r.worker !== handle || !handle.usable) return;
    if (busy(view)) return this.arm(true);
    const left = stale ? null : backgroundOf(view);
    if (left) {
      r.log.info({ pid: handle.pid, ...left }, "idle shutdown deferred: background work running");
      return this.arm(true);
    }
    await this.shutDown(handle);
  }

  private async shutDown(handle: WorkerHandle): Promise<void> {
    const r = this.r;
    if (this.stale === handle) r.log.info({ pid: handle.pid }, "worker shut down to restart with changed settings");
    else r.log.info({ pid: handle.pid, idleSeconds: r.ctx.options.idleShutdownSeconds }, "idle worker shut down");
    await handle.close(r.ctx.shutdownTimeoutMs);
    if (this.stale === handle) this.stale = null;
  }

  private liveState(handle: WorkerHandle, background = false): Promise<QueryResult | null> {
    return handle.ask(Methods.query.method, (client) => client.query({ view: "live_state", ...(background ? { background } : {}) })).catch((err: unknown) => {
      this.r.log.debug({ err: errorText(err) }, "live_state query before a worker shutdown failed");
      return null;
    });
  }
}

/** What the worker's tools left running, from a live_state asked with `background`; null when nothing. */
function backgroundOf(view: QueryResult | null): BackgroundCounts | null {
  const left = view?.view === "live_state" ? view.background : undefined;
  return hasBackground(left) ? left : null;
}

/** The worker's live_state says a turn runs or will start (a failed query says nothing: not busy). */
function busy(view: QueryResult | null): boolean {
  return view?.view === "live_state" && (!RESTING_STATES.has(view.state) || view.queuedInputs > 0);
}
