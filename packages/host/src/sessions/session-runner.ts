import type pino from "pino";
import type { ControlResult, LiveState, SessionEventParams, WorkerExit } from "@starling/protocol";
import type { InboundItem } from "../state/records.js";
import { backoffDelay, restartDelay, type RestartPolicy } from "./backoff.js";
import { processEvent } from "./event-flow.js";
import { continueSuperseded, handOff, sendContinue, type HandOffOutcome } from "./handoff.js";
import { IdleShutdown } from "./idle-shutdown.js";
import { clearResumeMark, hasResumeMark } from "./recovery.js";
import { ChangeSignal, type ContinueRequest, type SessionEffect, type SlotState, type WorkerLife } from "./session-state.js";
import { reconcileAtStart } from "./start-reconcile.js";
import type { TurnSlots } from "./turn-slots.js";
import type { SessionLaunch, SupervisorOptions } from "./types.js";
import type { SpareWorker } from "./warm-spares.js";
import { errorText, RESTING_STATES, withTimeout } from "./util.js";
import { WorkerHandle } from "./worker-handle.js";

/** What the runners share: options, the slot queue, timings. */
export interface RunnerContext {
  options: SupervisorOptions;
  slots: TurnSlots;
  restart: RestartPolicy;
  initializeTimeoutMs: number;
  shutdownTimeoutMs: number;
  isStopped(): boolean;
  /** A pre-started worker matching `launch` (warm-spares.ts), if one is waiting. */
  takeSpare?(launch: SessionLaunch): SpareWorker | null;
  /** Fired on changes a recovery decision waits for (hand-offs, slots, inbound items, exits). */
  changes: ChangeSignal;
}

export type { ContinueRequest } from "./session-state.js";

/** After `retire`, pending items are handed to a new worker after this delay (lets /new archive the old database first). */
const RETIRE_RESPAWN_DELAY_MS = 100;
/** How long a recovery decision waits for this life's hand-offs (to tell new messages from re-sent ones). */
const HANDOFF_SETTLE_MS = 5_000;

/**
 * One session under supervision and the ONE owner of its state: at most one live worker (`life`), hand-off
 * of its stored inbound items, ordered event processing, turn slot (`slotState`), idle shutdown and crash
 * restarts. The helpers (event-flow, handoff, start-reconcile) decide; only this class changes the state
 * (`apply`, and its own transitions). Every failure stays here.
 */
export class SessionRunner {
  private life: WorkerLife = { kind: "none" };
  private slotState: SlotState = { kind: "none" };
  /** The turn this worker life is running (from its turn_started), null between turns. */
  private runningTurn: number | null = null;
  /** Turn endings applied (any kind): tells a pump whether one came while it handed off. */
  private turnEnds = 0;
  private continueWanted: ContinueRequest | null = null;
  /** A worker should run even without new items: an interrupted turn is to be recovered. */
  private resumeWanted = false;
  private readonly inFlight = new Set<string>();
  private restartCount = 0;
  private consecutiveFailures = 0;
  private lastErrorText: string | null = null;
  readonly log: pino.Logger;
  private retiring = false;
  private readonly idle = new IdleShutdown(this);
  private handoffRetryTimer: NodeJS.Timeout | null = null;
  private handoffFailures = 0;
  private pumping = false;
  private pumpAgain = false;
  private chain: Promise<void> = Promise.resolve();

  constructor(
    readonly id: string,
    readonly ctx: RunnerContext,
  ) {
    this.log = ctx.options.log.child({ sessionId: id });
  }

  get store() {
    return this.ctx.options.store;
  }

  /** The current worker life's kind (for status and tests). */
  get state(): WorkerLife["kind"] {
    return this.life.kind;
  }

  /** This life's worker: initialized, or spawned and being initialized; null otherwise. */
  get worker(): WorkerHandle | null {
    const life = this.life;
    return life.kind === "running" ? life.handle : life.kind === "starting" ? life.handle : null;
  }

  get turnRunning(): boolean {
    return this.runningTurn !== null;
  }

  /** The id of the running turn, when its turn_started has been seen. */
  get runningTurnId(): number | null {
    return this.runningTurn;
  }

  get restarts(): number {
    return this.restartCount;
  }

  get lastError(): string | null {
    return this.lastErrorText;
  }

  /** A /continue (or automatic continue) is waiting for a slot and a worker. */
  get continuePending(): ContinueRequest | null {
    return this.continueWanted;
  }

  /** A turn slot is held now. */
  get holdsSlot(): boolean {
    return this.slotState.kind === "held";
  }

  private get starting(): Promise<WorkerHandle | null> | null {
    return this.life.kind === "starting" ? this.life.promise : null;
  }

  get workerRunning(): boolean {
    const worker = this.worker;
    return this.starting !== null || (worker !== null && !worker.exited);
  }

  queuePosition(): number | null {
    return this.ctx.slots.position(this.id);
  }

  /** Stored inbound items of this session, oldest first. */
  pendingItems(): InboundItem[] {
    return this.store.inboundOf(this.id);
  }

  /** Something a worker is needed for: a turn, a continue, a recovery, messages to hand off. */
  wantsWorker(): boolean {
    return (
      this.runningTurn !== null ||
      this.continueWanted !== null ||
      this.resumeWanted ||
      this.inFlight.size > 0 ||
      this.pendingItems().length > 0
    );
  }

  /** Work to do or in progress (including a worker being started). */
  hasWork(): boolean {
    return this.starting !== null || this.wantsWorker();
  }

  /** New inbound items were admitted (or the host started): a session that gave up tries again for new ones. */
  itemsArrived(): void {
    const life = this.life;
    if (life.kind === "gaveUp" && this.pendingItems().some((item) => item.seq > life.atSeq)) this.resetFailures();
    this.pump();
  }

  /** Failures start counting again; a session that gave up tries again (its kept messages are handed off). */
  resetFailures(): void {
    const gaveUp = this.life.kind === "gaveUp";
    if (gaveUp) this.life = { kind: "none" };
    this.consecutiveFailures = 0;
    if (gaveUp && this.wantsWorker()) this.pump();
  }

  /** After a host restart: a turn the restart interrupted is to be recovered even without new items. */
  wantResume(): void {
    this.resumeWanted = true;
  }

  /** Queues the user's /continue (sent once a slot and a worker are there). */
  requestContinue(request: ContinueRequest): void {
    this.continueWanted = request;
    this.pump();
  }

  /** A continue that could not be sent (its worker stopped first) waits for the next worker, unless another one does. */
  requeueContinue(request: ContinueRequest): void {
    this.log.info({ auto: request.auto, turnId: request.turnId }, "the worker stopped before the continue was sent; it goes to the next worker");
    if (!this.continueWanted) this.continueWanted = request;
    else request.resolve?.({ accepted: false, reason: "superseded by a newer /continue" });
    this.pump();
  }

  /** Withdraws a continue (the user's or an automatic one) still waiting for a slot or a worker; null if there is none. */
  withdrawContinue(reason: string): ContinueRequest | null {
    const want = this.continueWanted;
    if (!want) return null;
    this.continueWanted = null;
    want.resolve?.({ accepted: false, reason });
    this.log.info({ auto: want.auto, turnId: want.turnId, reason }, "continue withdrawn");
    return want;
  }

  /** Carries out what event-flow / start-reconcile decided (the only way they change this session). */
  apply(effects: SessionEffect[], handle: Pick<WorkerHandle, "continued" | "recoveryPending">): void {
    for (const effect of effects) {
      switch (effect.kind) {
        case "turnStarted":
          this.runningTurn = effect.turnId;
          this.cancelIdle();
          if (!this.holdsSlot) this.log.debug({ turnId: effect.turnId }, "turn started without a turn slot (worker resumed queued input)");
          break;
        case "turnEnded":
          this.runningTurn = null;
          this.turnEnds++;
          if (effect.progress) this.consecutiveFailures = 0;
          break;
        case "runtimeCrashed":
          this.lastErrorText = `session runtime crashed: ${effect.message}`;
          this.log.warn({ message: effect.message }, "session runtime crashed");
          break;
        case "recoverySettled":
          if (handle.recoveryPending === effect.turnId) handle.recoveryPending = null;
          break;
        case "continue":
          if (effect.request.turnId !== null) handle.continued.add(effect.request.turnId);
          this.continueWanted = effect.request;
          break;
      }
    }
  }

  /** After a processed durable event: send a wanted continue, or release the slot if the session rests. */
  settle(): void {
    if (this.continueWanted) this.pump();
    else void this.maybeRelease();
  }

  /** `initialize` reported a crashed turn whose `turn_recovered` event is still to come: hold the slot for it, bounded. */
  awaitRecovery(handle: WorkerHandle, turnId: number, timeoutMs: number): void {
    handle.recoveryPending = turnId;
    setTimeout(() => {
      if (handle.recoveryPending !== turnId) return;
      handle.recoveryPending = null;
      void this.maybeRelease();
    }, timeoutMs).unref();
  }

  private blocked(): boolean {
    return this.ctx.isStopped() || this.retiring || this.life.kind === "gaveUp" || this.life.kind === "backoff";
  }

  // ── hand-off ────────────────────────────────────────────────────────────────────────────────

  /** Runs the hand-off loop (coalesced: one at a time, re-run if woken meanwhile). */
  pump(): void {
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    this.pumping = true;
    void (async () => {
      try {
        do {
          this.pumpAgain = false;
          await this.pumpOnce();
        } while (this.pumpAgain && !this.ctx.isStopped());
      } catch (err) {
        this.noteError("hand-off", err);
      } finally {
        this.pumping = false;
      }
    })();
  }

  private async pumpOnce(): Promise<void> {
    if (this.blocked()) {
      this.releaseSlot();
      return;
    }
    if (this.pendingItems().length === 0 && !this.continueWanted && !this.resumeWanted) {
      await this.maybeRelease();
      return;
    }
    if (!this.holdsSlot) {
      this.requestSlot();
      return;
    }
    this.cancelIdle();
    const handle = await this.ensureWorker();
    if (!handle || !handle.usable) return;
    this.resumeWanted = false;
    // Fairness: once this grant started a turn, later messages wait while other sessions wait for a
    // slot; the turn ends, the slot goes to the next session and this one asks again (maybeRelease).
    if (this.holdingBack()) return;
    const items = this.pendingItems();
    const endsBefore = this.turnEnds;
    let fresh = false;
    for (const [i, item] of items.entries()) {
      if (this.inFlight.has(item.messageId)) continue;
      const outcome = await this.handOffTracked(handle, item);
      if (!outcome.ok) {
        if (i > 0) this.markGrantUsed();
        return this.retryHandoffLater(handle);
      }
      if (outcome.fresh) fresh = true;
    }
    this.handoffFailures = 0;
    if (items.length) this.markGrantUsed();
    const want = this.continueWanted;
    if (want && handle.usable) {
      this.continueWanted = null;
      if (continueSuperseded(want, handle.newInputs)) {
        this.log.info({ turnId: want.turnId }, "automatic continue dropped: a new message supersedes the recovered turn");
      } else {
        if (want.turnId !== null) handle.continued.add(want.turnId);
        await sendContinue(this, handle, want);
      }
      this.markGrantUsed();
    }
    // A fresh message the worker took always starts a turn whose (durable) end calls settle(): unless a
    // turn ended meanwhile (it may have been that one), asking the worker now would only hear "busy".
    if (fresh && this.turnEnds === endsBefore) return;
    await this.maybeRelease();
  }

  private async handOffTracked(handle: WorkerHandle, item: InboundItem): Promise<HandOffOutcome> {
    this.inFlight.add(item.messageId);
    try {
      const outcome = await handOff(this, handle, item);
      // Counted before the item leaves `inFlight`: a recovery decision waiting on it reads `newInputs`.
      if (outcome.ok && outcome.fresh) handle.newInputs++;
      return outcome;
    } finally {
      this.inFlight.delete(item.messageId);
      this.ctx.changes.fire();
    }
  }

  private markGrantUsed(): void {
    if (this.slotState.kind === "held") this.slotState.used = true;
  }

  private get grantUsed(): boolean {
    return this.slotState.kind === "held" && this.slotState.used;
  }

  /**
   * A hand-off the live worker refused (its enqueue write failed) or the host could not record (the
   * `handoff` write failed) is tried again with backoff; meanwhile the slot goes to others unless a turn
   * runs. A worker that is gone is the exit handler's business.
   */
  private retryHandoffLater(handle: WorkerHandle): void {
    if (!handle.usable || this.handoffRetryTimer || this.ctx.isStopped()) return;
    this.handoffFailures++;
    const delayMs = backoffDelay(this.ctx.restart, this.handoffFailures);
    this.log.info({ delayMs, attempt: this.handoffFailures }, "retrying the hand-off after a delay");
    if (this.runningTurn === null && !this.grantUsed) this.releaseSlot();
    this.handoffRetryTimer = setTimeout(() => {
      this.handoffRetryTimer = null;
      this.pump();
    }, delayMs).unref();
  }

  /** New messages are kept back from the worker so that waiting sessions get the slot after this turn. */
  holdingBack(): boolean {
    return this.grantUsed && this.ctx.slots.othersWaiting(this.id);
  }

  // ── turn slot ───────────────────────────────────────────────────────────────────────────────

  requestSlot(): void {
    if (this.slotState.kind !== "none") return;
    this.slotState = { kind: "requested" };
    this.ctx.slots.request(this.id, (lease) => {
      if (this.ctx.isStopped()) {
        this.slotState = { kind: "none" };
        return lease.release();
      }
      this.slotState = { kind: "held", lease, used: false };
      this.ctx.changes.fire();
      this.log.debug("turn slot granted");
      this.pump();
    });
  }

  releaseSlot(): void {
    const slot = this.slotState;
    if (slot.kind !== "held") return;
    this.slotState = { kind: "none" };
    slot.lease.release();
    this.ctx.changes.fire();
    this.log.debug("turn slot released");
  }

  /**
   * Releases the slot when the session rests: nothing pending here, and the worker says no turn is
   * running or about to start (a turn end followed by no new turn_started).
   */
  async maybeRelease(): Promise<void> {
    if (!this.holdsSlot) return this.armIdle();
    if (this.hasWork() && !this.onlyHeldBackWork()) return;
    const handle = this.worker;
    if (handle?.usable) {
      if (handle.recoveryPending !== null) return;
      // A `live_state` answer can overtake a continue the worker is still taking (soak: the slot and the
      // resume mark were dropped under a resuming turn); the caller asks again once it is answered.
      if (handle.rest.awaiting) return;
      let live: LiveState | null = null;
      const resting = handle.rest.resting();
      if (resting === false) return; // its turn-ending event said a turn with queued input follows
      if (resting === null) {
        try {
          const view = await handle.client.query({ view: "live_state" });
          if (view.view === "live_state") live = view;
        } catch (err) {
          if (handle.lostBy(err)) return; // the exit handler decides
          this.log.warn({ err: errorText(err) }, "live_state query failed");
        }
      }
      if (!this.holdsSlot || handle.rest.awaiting || (this.hasWork() && !this.onlyHeldBackWork())) return;
      if (live && (!RESTING_STATES.has(live.state) || live.queuedInputs > 0)) return;
    }
    this.releaseSlot();
    if (this.pendingItems().length > 0) {
      this.log.debug("turn slot yielded to waiting sessions; asking again for the held-back messages");
      this.requestSlot();
      return;
    }
    if (hasResumeMark(this.store, this.id)) await this.store.commit(null, (tx) => clearResumeMark(tx, this.id));
    this.armIdle();
  }

  /** The only work left is messages held back for fairness: no turn, continue, recovery or hand-off in progress. */
  private onlyHeldBackWork(): boolean {
    return (
      this.holdingBack() &&
      this.starting === null &&
      this.runningTurn === null &&
      this.continueWanted === null &&
      !this.resumeWanted &&
      this.inFlight.size === 0
    );
  }

  // ── worker lifecycle ────────────────────────────────────────────────────────────────────────

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
    if (this.blocked()) return null;
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
    let handle: WorkerHandle | null = null;
    try {
      const launch = await this.ctx.options.launch(this.id);
      if (this.ctx.isStopped() || this.retiring) return null;
      const spawned = WorkerHandle.spawn({
        sessionId: this.id,
        launch,
        log: this.log,
        onEvent: (h, params) => this.enqueueEvent(h, params),
        coordinate: (params) => this.ctx.options.coordinate(this.id, params),
        spare: this.ctx.takeSpare?.(launch),
      });
      handle = spawned;
      life.handle = spawned;
      void spawned.client.exited.then((exit) => this.onExit(spawned, exit));
      const init = await spawned.initialize(launch.init, this.ctx.initializeTimeoutMs);
      await reconcileAtStart(this, spawned, init);
      if (spawned.exited) return null; // died right after initialize: the exit handler restarts it
      spawned.markReady();
      this.life = { kind: "running", handle: spawned };
      this.log.info(
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
      if (this.ctx.isStopped() || this.retiring) return null;
      this.consecutiveFailures++;
      this.lastErrorText = `worker start failed: ${errorText(err)}${handle?.lastProblem() ? ` (${handle.lastProblem()})` : ""}`;
      this.log.warn({ err: errorText(err), attempt: this.consecutiveFailures }, "worker start failed");
      this.releaseSlot();
      this.scheduleRestart();
      return null;
    }
  }

  /**
   * A user message will start a new turn (and so supersede a recovered one): one handed off in this
   * life that the worker did not have yet, or inputs it had queued. Items still stored (or being handed
   * off) do not count: one may be a duplicate of what the recovered turn already holds (a host killed
   * before its `handoff` write), which the worker drops, so nothing would start a turn. The recovered
   * turn is continued instead, and `continueSuperseded` drops that continue once a hand-off proves fresh.
   * Call after `handoffsSettled`, which lets the usual hand-offs finish first.
   */
  newInputPending(handle: WorkerHandle): boolean {
    return handle.newInputs > 0 || (handle.init?.queuedInputs ?? 0) > 0;
  }

  /**
   * Waits (bounded) until this life has handed off what it can: items pending while a slot is held, or in
   * flight. Re-checked on each state change (`ctx.changes`), not polled.
   */
  async handoffsSettled(handle: WorkerHandle, timeoutMs = HANDOFF_SETTLE_MS): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const busy = () => this.inFlight.size > 0 || (this.holdsSlot && !this.holdingBack() && this.pendingItems().length > 0);
    while (busy() && handle.usable && !this.ctx.isStopped() && Date.now() < deadline) {
      await this.ctx.changes.next(deadline - Date.now());
    }
  }

  private onExit(handle: WorkerHandle, exit: WorkerExit): void {
    handle.markExited();
    this.ctx.changes.fire();
    // Exits before `initialize` answered, or of a start that failed, are counted by startWorker.
    if (this.worker !== handle || !handle.init || handle.startFailed) return;
    this.life = { kind: "none" };
    this.cancelIdle();
    const wasTurn = this.runningTurn !== null;
    const hadSlot = this.holdsSlot;
    this.runningTurn = null;
    this.releaseSlot();
    if (handle.expectedExit || this.ctx.isStopped()) {
      this.log.info({ pid: handle.pid, exit }, "worker stopped");
      if (!this.ctx.isStopped() && !this.retiring && this.wantsWorker()) this.pump();
      return;
    }
    this.restartCount++;
    this.consecutiveFailures++;
    this.lastErrorText = handle.describeExit(exit);
    this.log.warn({ pid: handle.pid, exit, restarts: this.restartCount, error: this.lastErrorText }, "worker exited unexpectedly");
    if (hadSlot || wasTurn) this.resumeWanted = true;
    this.scheduleRestart();
  }

  private scheduleRestart(): void {
    if (!this.wantsWorker() || this.ctx.isStopped() || this.retiring) return;
    if (this.consecutiveFailures >= this.ctx.restart.maxAttempts) return this.giveUp();
    const delay = restartDelay(this.ctx.restart, this.consecutiveFailures);
    this.log.info({ delayMs: delay, attempt: this.consecutiveFailures }, "restarting the worker after a delay");
    this.clearBackoff();
    const timer = setTimeout(() => {
      if (this.life.kind === "backoff" && this.life.timer === timer) this.life = { kind: "none" };
      this.pump();
    }, delay);
    this.life = { kind: "backoff", timer, attempt: this.consecutiveFailures };
  }

  private clearBackoff(): void {
    if (this.life.kind !== "backoff") return;
    clearTimeout(this.life.timer);
    this.life = { kind: "none" };
  }

  /** Stops restarting until new messages arrive or the user sends /continue; messages stay stored. */
  private giveUp(): void {
    this.clearBackoff();
    this.life = { kind: "gaveUp", atSeq: Math.max(0, ...this.pendingItems().map((item) => item.seq)) };
    this.resumeWanted = false;
    this.continueWanted?.resolve?.({ accepted: false, reason: "the session worker keeps failing to start" });
    this.continueWanted = null;
    const last = this.lastErrorText ?? "unknown";
    this.lastErrorText = `gave up after ${this.consecutiveFailures} failed worker starts in a row; last: ${last}`;
    this.log.error({ error: this.lastErrorText }, "worker keeps failing; not restarting until the next message");
    this.releaseSlot();
    this.ctx.options.onGiveUp?.(this.id, this.consecutiveFailures, last).catch((err: unknown) => this.noteError("telling the user the worker keeps failing", err));
  }

  // ── idle shutdown ───────────────────────────────────────────────────────────────────────────

  armIdle(): void {
    this.idle.arm();
  }

  cancelIdle(): void {
    this.idle.cancel();
  }

  /** Nothing to do and no slot held or wanted: the worker may be shut down when idle long enough. */
  resting(): boolean {
    return this.slotState.kind === "none" && !this.hasWork() && !this.retiring && !this.ctx.isStopped();
  }

  // ── events ──────────────────────────────────────────────────────────────────────────────────

  /** Events are processed one at a time in arrival (= seq) order, across worker lives. */
  private enqueueEvent(handle: WorkerHandle, params: SessionEventParams): void {
    this.chain = this.chain
      .then(async () => {
        if (!(await handle.ready) && !handle.init) return;
        await processEvent(this, handle, params);
      })
      .catch((err: unknown) => this.noteError(`processing event seq ${params.seq} (${params.event.type})`, err));
  }

  /** Waits for every event received so far to be processed. */
  drainEvents(): Promise<void> {
    return this.chain;
  }

  // ── controls ────────────────────────────────────────────────────────────────────────────────

  /** Graceful stop of the worker; `respawn` hands pending items to a new worker afterwards. */
  async stopWorker(options: { respawn: boolean; keepResumeMark: boolean; timeoutMs: number }): Promise<void> {
    this.retiring = true;
    try {
      this.cancelIdle();
      this.clearBackoff();
      this.continueWanted?.resolve?.({ accepted: false, reason: "the session was stopped" });
      this.continueWanted = null;
      this.resumeWanted = false;
      this.ctx.changes.fire();
      if (this.starting) await this.starting.catch(() => null);
      const handle = this.worker;
      if (handle && !handle.exited) await handle.close(options.timeoutMs);
      await withTimeout(this.chain, options.timeoutMs);
      this.runningTurn = null;
      this.releaseSlot();
      this.resetFailures();
      if (!options.keepResumeMark && hasResumeMark(this.store, this.id)) {
        await this.store.commit(null, (tx) => clearResumeMark(tx, this.id));
      }
    } finally {
      this.retiring = false;
    }
    if (options.respawn && this.pendingItems().length > 0) setTimeout(() => this.pump(), RETIRE_RESPAWN_DELAY_MS).unref();
  }

  noteError(what: string, err: unknown): void {
    this.lastErrorText = `${what}: ${errorText(err)}`;
    this.log.error({ err: errorText(err), stack: err instanceof Error ? err.stack : undefined }, `${what} failed`);
  }
}
