import { type BackgroundCounts, type ControlResult, hasBackground, Methods, type QueryParams, type QueryResult } from "@starling/protocol";
import { StuckWorkerKilled, WORKER_ANSWER_MS, WorkerNoAnswer } from "./answer-deadline.js";
import { restartPolicy } from "./backoff.js";
import { markResume, resumeMarkedSessions } from "./recovery.js";
import { markCancelledAtStart, markCancelledByUser, storeWantedContinue, clearWantedContinue, wantedContinues } from "./user-intent.js";
import { SessionRunner, type RunnerContext } from "./session-runner.js";
import { EditClaims } from "./edit-claims.js";
import { ChangeSignal } from "./session-state.js";
import { errorText, NOTHING_TO_CONTINUE, RESTING_STATES, valueWithin, WORKER_START_FAILED } from "./util.js";
import { TurnSlots } from "./turn-slots.js";
import { WarmSpares } from "./warm-spares.js";
import type { CancelResult, ContinueResult, ContinueWait, SessionStatus, SupervisorOptions } from "./types.js";
import type { InboundItem } from "../state/records.js";

export type { CancelResult, ContinueResult, ContinueWait, EventContext, SessionLaunch, SessionStatus, SupervisorOptions } from "./types.js";
export type { RestartPolicy } from "./backoff.js";

const DEFAULT_INITIALIZE_TIMEOUT_MS = 30_000;
const DEFAULT_SHUTDOWN_TIMEOUT_MS = 10_000;
const DEFAULT_STOP_TIMEOUT_MS = 10_000;
/** A /continue sent to a live worker answers the user at the latest after this long, even if the continue is sent later. */
const CONTINUE_ANSWER_MS = 5_000;
/**
 * How long a /continue, a /cancel or a query (/status, /mcp) waits for a worker that is still starting (a loaded
 * machine, a large seed) before it answers without it (a continue is stored for it; a cancel finds no turn yet; a
 * query finds no worker), so neither it nor a command behind it in the chat's lane waits out the initialize timeout.
 */
const START_WAIT_MS = 5_000;
export { LaunchRefused, NOTHING_TO_CONTINUE, WORKER_START_FAILED } from "./util.js";
export { StuckWorkerKilled } from "./answer-deadline.js";
/** The start of an accepted /continue's reason when it only retries a session that gave up with messages kept (commands.ts says so). */
export const RETRYING_KEPT = "trying again";

/**
 * The session supervisor (ARCHITECTURE §2, §5.2, §5.4): at most one worker per session, spawned on
 * demand; stored inbound messages handed off until acknowledged; events processed once, in order;
 * crashed workers restarted with backoff and their turns continued; a global cap on running turns;
 * idle workers shut down. Each session's failures stay within it.
 *
 * Decisions worth knowing:
 * - A worker that keeps failing (crash or failed start, `restart.maxAttempts` times in a row with no
 *   turn ending in between) is not restarted again until a new message arrives or the user sends
 *   /continue; this shows in the log (error) and in `status().lastError`. Its messages stay stored.
 * - Only turns recovered after a crash (`reason: "crash"`) are continued automatically; failed,
 *   step-limit and cancelled turns wait for the user's /continue (they were already reported), and
 *   so does a turn the user /cancel-ed whose worker died before storing that (user-intent.ts).
 * - A recovered turn with a newer user message waiting is not continued: the message supersedes it
 *   (ctx.autoContinued is true, as the host has nothing to ask).
 * - Sessions with a turn in progress are marked durably (key `sessions:resume:<id>`), so after a
 *   host restart `start()` brings their workers back and the interrupted turn is continued.
 * - A turn the worker starts by itself (inputs queued before a restart) runs even if it exceeds the
 *   cap for a moment; the cap applies to every turn the supervisor starts.
 */
export class SessionSupervisor {
  private readonly runners = new Map<string, SessionRunner>();
  private readonly slots: TurnSlots;
  private readonly context: RunnerContext;
  private started = false;
  /** Session state changes that recovery decisions wait on (hand-offs, slots, inbound items, exits). */
  private readonly changes = new ChangeSignal();
  private readonly editClaims = new EditClaims();
  private stopped = false;
  private readonly spares: WarmSpares;
  private readonly unsubscribe: () => void;

  constructor(private readonly options: SupervisorOptions) {
    this.slots = new TurnSlots(
      options.maxConcurrentTurns,
      (err) => options.log.error({ err: errorText(err) }, "turn slot queue error"),
      () => {
        this.changes.fire();
        this.spares.refill();
      },
    );
    this.context = {
      options,
      slots: this.slots,
      restart: restartPolicy(options.restart),
      initializeTimeoutMs: options.initializeTimeoutMs ?? DEFAULT_INITIALIZE_TIMEOUT_MS,
      shutdownTimeoutMs: options.shutdownTimeoutMs ?? DEFAULT_SHUTDOWN_TIMEOUT_MS,
      answerMs: options.workerAnswerMs ?? WORKER_ANSWER_MS,
      isStopped: () => this.stopped,
      takeSpare: (launch) => this.spares.take(launch),
      changes: this.changes,
      editClaims: this.editClaims,
    };
    this.spares = new WarmSpares(options.warmSpares ?? 0, options.spareLaunch, options.log.child({ component: "warm-spares" }), () =>
      this.waitingWithoutWorker(Math.max(1, options.maxConcurrentTurns)),
    );
    // Stored inbound items reach their session's owner through the commit that stored them (no wake calls).
    this.unsubscribe = options.store.subscribe("inbound:", (changes) => {
      if (!this.started) return; // start() picks up whatever was admitted before it
      this.changes.fire();
      for (const change of changes) {
        const item = change.value as InboundItem | undefined;
        if (item) this.deliver(item.sessionId);
      }
    });
  }

  /** Hands off every stored inbound item and brings back sessions whose turn a restart interrupted. */
  start(): void {
    if (this.stopped) return;
    this.started = true;
    for (const sessionId of resumeMarkedSessions(this.options.store)) this.runner(sessionId).wantResume();
    // A /continue the user was told about before the restart, not yet answered by a worker.
    const continues = wantedContinues(this.options.store);
    for (const { sessionId, turnId } of continues) this.runner(sessionId).requestContinue({ auto: false, turnId, reason: "user /continue" });
    const sessions = new Set([...this.sessionsWithItems(), ...resumeMarkedSessions(this.options.store), ...continues.map((c) => c.sessionId)]);
    // Names the sessions brought back (a few at most: those a restart interrupted or with waiting input).
    this.options.log.info({ sessions: sessions.size, continues: continues.length, sessionIds: [...sessions].slice(0, 50) }, "supervisor started");
    this.spares.start();
    for (const sessionId of sessions) this.runner(sessionId).itemsArrived();
  }

  /**
   * Holds a waiting inbound item back from its worker while an edit replaces it (edit-claims.ts); null
   * when the item is being handed off already (the worker may have it: the edit becomes a new input).
   * Call the returned function once the edit's commit settled.
   */
  claimWaiting(sessionId: string, messageId: string): (() => void) | null {
    if (this.runners.get(sessionId)?.handingOff(messageId)) return null;
    return this.editClaims.claim(messageId);
  }

  /**
   * Wake-up: new inbound items were admitted (for `sessionId` only, when given). The host does not call
   * it: every commit storing an inbound item wakes its session through the store subscription.
   */
  deliver(sessionId?: string): void {
    if (this.stopped) return;
    if (sessionId !== undefined) return this.runner(sessionId).itemsArrived();
    for (const id of this.sessionsWithItems()) this.runner(id).itemsArrived();
  }

  /**
   * Stops the running turn, or a continue of it still waiting (then `withdrew` says which and what it
   * waited for). A turn the user cancelled is marked
   * durably (user-intent.ts) before the worker is asked: a worker that dies before it stores the
   * cancellation brings the turn back as recovered, and the host must not resume it by itself.
   * A worker that does not answer in time is killed as stuck: StuckWorkerKilled (`turnId` the turn it ran,
   * marked above, so it waits for /continue; or null).
   */
  async cancel(sessionId: string, reason?: string): Promise<CancelResult> {
    const r = this.runners.get(sessionId);
    if (!r) return nothingToCancel(null);
    const store = this.options.store;
    const pending = r.continuePending;
    if (pending) {
      // Stored before the continue is dropped from memory (a failed write leaves it as it was).
      await store.commit("user_cancel", (tx) => {
        clearWantedContinue(store, tx, sessionId);
        if (pending.turnId !== null) markCancelledByUser(tx, sessionId, pending.turnId);
      });
      const waitingFor = continueWait(r);
      const withdrawn = r.withdrawContinue("withdrawn by /cancel");
      if (withdrawn) {
        return {
          accepted: true,
          reason: withdrawn.auto ? "the interrupted turn will not be resumed automatically" : `the /continue waiting for ${waitingFor === "slot" ? "a free turn slot" : "the session's worker"} was withdrawn`,
          withdrew: { auto: withdrawn.auto, waitingFor },
        };
      }
      // Sent meanwhile: the resuming turn is cancelled below.
    }
    // undefined: still starting after START_WAIT_MS. No turn runs before the worker is ready; what waits for it
    // runs then, so the user is told so now instead of after the whole start.
    const handle = await valueWithin(r.liveWorker(), START_WAIT_MS);
    if (handle === undefined) {
      // It may be starting after a crash (whether a turn was in flight is known only once it reports): a turn it
      // finds interrupted must not be resumed by itself. Nothing else runs before it is ready.
      await store.commit("user_cancel", (tx) => markCancelledAtStart(tx, sessionId));
      return { accepted: false, reason: "nothing to cancel: no turn is running yet (the session's worker is still starting)", starting: true };
    }
    if (!handle?.usable) return nothingToCancel(r.queuePosition());
    const turnId = r.runningTurnId;
    if (turnId !== null) await store.commit("user_cancel", (tx) => markCancelledByUser(tx, sessionId, turnId));
    try {
      return await handle.ask(Methods.cancel.method, (client) => client.cancel({ reason }));
    } catch (err) {
      const stuck = handle.stuckBy(err);
      if (stuck) throw new StuckWorkerKilled(stuck, turnId);
      if (!handle.lostBy(err)) throw err;
      // The worker died with the request: the turn comes back recovered and, marked above, waits for /continue.
      if (turnId !== null) return { accepted: true, reason: "the session's worker stopped at the same moment; the turn will not be resumed automatically" };
      return nothingToCancel(r.queuePosition());
    }
  }

  /**
   * `/compact`: asks the session's worker (started if need be) to compact its history now; the outcome comes later
   * as a `manual_compaction` event. Null: the worker is still starting after START_WAIT_MS (it idles out once ready,
   * unless asked again). A worker that does not answer in time is killed as stuck: StuckWorkerKilled.
   */
  async compact(sessionId: string): Promise<ControlResult | null> {
    if (this.stopped) return { accepted: false, reason: "the host is stopping" };
    const r = this.runner(sessionId);
    const waiting = r.ensureWorker();
    const handle = await valueWithin(waiting, START_WAIT_MS);
    if (handle === undefined) {
      void waiting.then(() => r.armIdle(), () => undefined);
      return null;
    }
    if (!handle?.usable) return { accepted: false, reason: r.lastError ? `the session's worker could not be started (${r.lastError})` : "the session's worker could not be started" };
    const turnId = r.runningTurnId;
    try {
      return await handle.ask(Methods.compact.method, (client) => client.compact({}));
    } catch (err) {
      const stuck = handle.stuckBy(err);
      if (stuck) throw new StuckWorkerKilled(stuck, turnId);
      if (handle.lostBy(err)) return { accepted: false, reason: "the session's worker stopped at the same moment (send /compact again)" };
      throw err;
    } finally {
      r.armIdle();
    }
  }

  /**
   * A setting the session's worker was started with changed (a cron task's model): the worker stops as
   * soon as it rests (an idle shutdown's checks, at once); the next work starts a new one. No worker: nothing to do.
   */
  restartWhenResting(sessionId: string): void {
    this.runners.get(sessionId)?.restartSoon();
  }

  /**
   * The session stopped restarting its worker (start failures in a row) and waits for a newer message:
   * the cron runner then admits a firing even though the previous one is not done, as that message.
   */
  gaveUp(sessionId: string): boolean {
    return this.runners.get(sessionId)?.state === "gaveUp";
  }

  /**
   * `sessionId`'s turn waits for other turns (subagent_join): while it does, its turn slot is lent to the
   * sessions waiting for one (TurnSlots.lend). Returns the function that takes it back. A session holding
   * no slot lends nothing.
   */
  lendSlotWhileWaiting(sessionId: string): () => void {
    if (!this.runners.get(sessionId)?.holdsSlot) return () => undefined;
    return this.slots.lend();
  }

  /**
   * `callerId`'s turn holds a slot that `waiterId` waits for (every slot taken): a subagent_join that only checks
   * would find it running for as long as the caller keeps checking.
   */
  keepsOutOfSlot(callerId: string, waiterId: string): boolean {
    return this.runners.get(callerId)?.holdsSlot === true && this.slots.position(waiterId) !== null;
  }

  /**
   * Resumes a failed, cancelled or recovered turn, starting the worker if needed (the turn lives in its
   * database). A continue that has to wait (for a turn slot, or for a worker: restarting, or killed here as
   * stuck) is answered as soon as it is stored (`waitingFor`), so the chat's next command is not held
   * behind it; one a live worker can take at once is answered with that worker's answer.
   */
  async continue(sessionId: string): Promise<ContinueResult> {
    if (this.stopped) return { accepted: false, reason: "the host is shutting down" };
    const r = this.runner(sessionId);
    // After a give-up, /continue means "try again" (the notice says so): the kept messages go to a new worker.
    const kept = r.state === "gaveUp" ? r.pendingItems().length : 0;
    r.resetFailures();
    if (kept > 0) return { accepted: true, reason: `${RETRYING_KEPT}: ${kept === 1 ? "the waiting message goes" : `${kept} waiting messages go`} to a new worker` };
    if (r.turnRunning) return { accepted: false, reason: "a turn is already running" };
    if (r.continuePending) {
      const waitingFor = continueWait(r);
      return { accepted: true, reason: `already waiting for ${waitingFor === "slot" ? "a free turn slot" : "the session's worker"}`, waitingFor };
    }
    // undefined: still starting after START_WAIT_MS; the start runs on and the stored continue waits for it.
    const handle = await valueWithin(r.ensureWorker(), START_WAIT_MS);
    // A stuck worker is killed here (answer-deadline.ts): the continue then waits for the next worker, like one after a crash.
    let stuck: WorkerNoAnswer | undefined;
    const view = handle?.usable
      ? await handle.ask(Methods.query.method, (client) => client.query({ view: "live_state" })).catch((err: unknown) => {
          stuck = handle.stuckBy(err) ?? undefined;
          return null;
        })
      : null;
    // A start that failed (a worker killed while starting, a busy machine) is retried by the runner with
    // its usual backoff, and the continue waits for that worker: refused, the turn would wait for a user
    // who has no reason to send /continue again. Refused only once the runner gave up (checked after the
    // query too: a stuck kill counts toward giving up, and the give-up drops stored continues before this one).
    if (!handle?.usable && (this.stopped || r.state === "gaveUp")) {
      return { accepted: false, reason: `${WORKER_START_FAILED}${r.lastError ? ` (${r.lastError})` : ""}`, ...(stuck ? { stuck } : {}) };
    }
    const live = view?.view === "live_state" ? view : null;
    if (r.turnRunning || (live && !RESTING_STATES.has(live.state))) return { accepted: false, reason: "a turn is already running" };
    if (live && !live.unfinishedTurn) {
      r.armIdle();
      return { accepted: false, reason: `${NOTHING_TO_CONTINUE}: the last turn finished` };
    }
    const queued = !r.holdsSlot && !this.slots.hasCapacity();
    const turnId = live?.unfinishedTurn?.turnId ?? null;
    // Stored before the user is told: a host restarted before the worker answers sends it then (start()).
    await this.options.store.commit("user_continue", (tx) => {
      storeWantedContinue(this.options.store, tx, sessionId, turnId);
      markResume(this.options.store, tx, sessionId);
    });
    const waiting = (waitingFor: ContinueWait, reason: string): ContinueResult => ({ accepted: true, reason, waitingFor, ...(stuck ? { stuck } : {}) });
    return new Promise<ContinueResult>((resolve) => {
      // A fallback: a worker that takes the continue answers within milliseconds (or dies, and the continue waits for the next).
      let answered = false;
      // True only for the first answer: a later one (the worker's, after "continuing once …") was not heard.
      const answer = (result: ContinueResult): boolean => {
        if (answered) return false;
        answered = true;
        clearTimeout(timer);
        resolve(result);
        return true;
      };
      const timer = setTimeout(() => answer(waiting("worker", "will continue as soon as the worker is ready")), CONTINUE_ANSWER_MS);
      r.requestContinue({ auto: false, turnId, reason: "user /continue", resolve: answer });
      if (queued) {
        const position = r.queuePosition();
        answer({ ...waiting("slot", `queued: waiting for a free turn slot${position ? ` (position ${position})` : ""}`), position });
      } else if (!handle?.usable) {
        // No worker to take it now (restarting after a crash, a failed or slow start, or killed above as stuck): stored, it waits for the next one.
        answer(waiting("worker", "will continue as soon as the worker is ready"));
      }
    });
  }

  /**
   * Read-only views from the session's worker; null when none is running. With `start`, a stopped
   * worker (idle shutdown, host restart) is started for the query (its state is in its database)
   * and shut down again after the idle timeout; null too when the worker is still starting after
   * START_WAIT_MS. A worker that does not answer in time is killed as stuck: StuckWorkerKilled.
   */
  async query(sessionId: string, params: QueryParams, options: { start?: boolean } = {}): Promise<QueryResult | null> {
    const r = options.start && !this.stopped ? this.runner(sessionId) : this.runners.get(sessionId);
    const waiting = options.start ? r?.ensureWorker() : r?.liveWorker();
    const handle = waiting ? await valueWithin(waiting, START_WAIT_MS) : null;
    if (!handle?.usable) {
      // A worker this query started that is ready only later idles out like one that answered.
      if (options.start && handle === undefined) void waiting?.then(() => r?.armIdle(), () => undefined);
      return null;
    }
    const turnId = r?.runningTurnId ?? null;
    try {
      return await handle.ask(Methods.query.method, (client) => client.query(params));
    } catch (err) {
      const stuck = handle.stuckBy(err);
      if (stuck) throw new StuckWorkerKilled(stuck, turnId);
      if (handle.lostBy(err)) return null;
      throw err;
    } finally {
      if (options.start) r?.armIdle();
    }
  }

  status(sessionId: string): SessionStatus {
    const r = this.runners.get(sessionId);
    if (!r) return { workerRunning: false, turnRunning: false, queuePosition: null, restarts: 0, lastError: null };
    return {
      workerRunning: r.workerRunning,
      turnRunning: r.turnRunning,
      queuePosition: r.queuePosition(),
      restarts: r.restarts,
      lastError: r.lastError,
    };
  }

  /**
   * Stops the session's worker so the next one starts with the current settings (`/model`, `/sandbox`,
   * `/mcp`, `/remote`). A turn it was running is not dropped: the next worker, started at once, recovers it and
   * continues it under the new settings (an automatic continue). (`retire` is for a session that is done.)
   */
  /**
   * Restarts the session's worker so its next work uses changed settings (/model, /sandbox, /remote, /mcp).
   * Returns what the worker's tools had left running past their turns, which the restart stopped (null: nothing,
   * not known, or a turn was running: a command of its own is not "left running", and the turn is told itself).
   */
  async restart(sessionId: string): Promise<BackgroundCounts | null> {
    const r = this.runners.get(sessionId);
    if (!r) return null;
    const handle = r.worker?.usable && !r.turnRunning ? r.worker : null;
    const view = handle ? await handle.ask(Methods.query.method, (client) => client.query({ view: "live_state", background: true })).catch(() => null) : null;
    const left = view?.view === "live_state" && RESTING_STATES.has(view.state) && !r.turnRunning ? view.background : undefined;
    await r.restartWorker(this.context.shutdownTimeoutMs);
    return hasBackground(left) ? left : null;
  }

  /** Graceful shutdown of the worker of a session that is done (`/new`, a finished agent); its stored messages are kept. */
  async retire(sessionId: string): Promise<void> {
    const r = this.runners.get(sessionId);
    if (!r) return;
    await r.stopWorker({ respawn: !this.stopped, keepResumeMark: false, timeoutMs: this.context.shutdownTimeoutMs });
  }

  /** Stops handing off, shuts every worker down (SIGKILL after `timeoutMs`), then resolves. */
  async stop(timeoutMs = DEFAULT_STOP_TIMEOUT_MS): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.unsubscribe();
    this.slots.clear();
    await Promise.all([
      this.spares.stop(timeoutMs),
      ...[...this.runners.values()].map((r) =>
        r.stopWorker({ respawn: false, keepResumeMark: true, timeoutMs }).catch((err: unknown) => r.noteError("stop", err)),
      ),
    ]);
    this.options.log.info("supervisor stopped");
  }

  /** Pids of the pre-started workers waiting for a session. */
  sparePids(): number[] {
    return this.spares.pids();
  }

  runningTurns(): number {
    let n = 0;
    for (const r of this.runners.values()) if (r.turnRunning) n++;
    return n;
  }

  private runner(sessionId: string): SessionRunner {
    let r = this.runners.get(sessionId);
    if (!r) {
      r = new SessionRunner(sessionId, this.context);
      this.runners.set(sessionId, r);
    }
    return r;
  }

  /** Sessions waiting for a turn slot that have no worker (each will start one when granted), counted up to `cap`. */
  private waitingWithoutWorker(cap: number): number {
    let n = 0;
    for (const id of this.slots.waitingSessions()) {
      if (n >= cap) break;
      if (!this.runners.get(id)?.workerRunning) n++;
    }
    return n;
  }

  private sessionsWithItems(): string[] {
    return this.options.store.sessionsWithInbound();
  }
}

/** What a session's stored continue waits for: its place in the turn slot queue, else a worker to take it. */
function continueWait(r: SessionRunner): ContinueWait {
  return r.queuePosition() !== null ? "slot" : "worker";
}

function nothingToCancel(queuePosition: number | null): CancelResult {
  return {
    accepted: false,
    reason:
      queuePosition !== null
        ? `nothing to cancel: no turn is running (a message is waiting for a free turn slot, position ${queuePosition})`
        : "nothing to cancel: no turn is running",
  };
}
