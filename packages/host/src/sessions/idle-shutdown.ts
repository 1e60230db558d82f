import type { SessionRunner } from "./session-runner.js";
import { errorText, RESTING_STATES } from "./util.js";

/**
 * Shuts a session's worker down after `idleShutdownSeconds` with no turn, no pending message and no
 * slot; the worker's state is in its database, so the next message simply spawns a new one.
 */
export class IdleShutdown {
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly r: SessionRunner) {}

  arm(): void {
    if (this.timer || !this.r.worker?.usable || !this.r.resting()) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.check().catch((err: unknown) => this.r.noteError("idle shutdown", err));
    }, this.r.ctx.options.idleShutdownSeconds * 1000);
    this.timer.unref();
  }

  cancel(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private async check(): Promise<void> {
    const r = this.r;
    const handle = r.worker;
    if (!handle?.usable || !r.resting()) return;
    const view = await handle.client.query({ view: "live_state" }).catch((err: unknown) => {
      r.log.debug({ err: errorText(err) }, "live_state query before idle shutdown failed");
      return null;
    });
    if (!r.resting() || r.worker !== handle || !handle.usable) return;
    if (view?.view === "live_state" && (!RESTING_STATES.has(view.state) || view.queuedInputs > 0)) return this.arm();
    r.log.info({ pid: handle.pid, idleSeconds: r.ctx.options.idleShutdownSeconds }, "idle worker shut down");
    await handle.close(r.ctx.shutdownTimeoutMs);
  }
}
