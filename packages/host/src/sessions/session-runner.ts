import type pino from "pino";
import type { SessionEventParams } from "@starling/protocol";
import { HostKeys } from "../state/host-store.js";
import type { InboundItem } from "../state/records.js";
import type { RestartPolicy } from "./backoff.js";
import type { EditClaims } from "./edit-claims.js";
import { EventChain } from "./event-flow.js";
import { HandOffTracker } from "./handoff.js";
import { IdleShutdown } from "./idle-shutdown.js";
import { clearResumeMark, hasResumeMark } from "./recovery.js";
import { PendingContinue } from "./pending-continue.js";
import { releaseWhenResting } from "./rest-release.js";
import { ChangeSignal, type ContinueRequest, type SessionEffect, type WorkerLife } from "./session-state.js";
import { SlotClaim } from "./slot-claim.js";
import type { TurnSlots } from "./turn-slots.js";
import type { SessionLaunch, SupervisorOptions } from "./types.js";
import type { SpareWorker } from "./warm-spares.js";
import { clearWantedContinue } from "./user-intent.js";
import { CoalescedRun, errorText, withTimeout, WORKER_START_FAILED } from "./util.js";
import type { WorkerHandle } from "./worker-handle.js";
import { WorkerLives } from "./worker-life.js";

/** What the runners share: options, the slot queue, timings. */
export interface RunnerContext {
  options: SupervisorOptions;
  slots: TurnSlots;
  restart: RestartPolicy;
  initializeTimeoutMs: number;
  shutdownTimeoutMs: number;
  /** How long a worker has to answer the host's requests before it is killed as stuck (answer-deadline.ts). */
  answerMs: number;
  isStopped(): boolean;
  /** A pre-started worker matching `launch` (warm-spares.ts), if one is waiting. */
  takeSpare?(launch: SessionLaunch): SpareWorker | null;
  /** Fired on changes a recovery decision waits for (hand-offs, slots, inbound items, exits). */
  changes: ChangeSignal;
  /** Waiting items an edit is replacing: not handed off until the edit's commit settled (edit-claims.ts). */
  editClaims: EditClaims;
}

export type { ContinueRequest } from "./session-state.js";

/** After `retire`, pending items are handed to a new worker after this delay (lets /new archive the old database first). */
const RETIRE_RESPAWN_DELAY_MS = 100;
/** How long a recovery decision waits for this life's hand-offs (to tell new messages from re-sent ones). */
const HANDOFF_SETTLE_MS = 5_000;

/**
 * One session under supervision and the ONE owner of its state: at most one live worker (its parts:
 * `lives`, the worker life and restarts, worker-life.ts; `slot`, the turn slot claim, slot-claim.ts;
 * `idle`, idle shutdown), hand-off of its stored inbound items, ordered event processing, the running
 * turn and the wanted continue. The helpers (event-flow, handoff, start-reconcile, rest-release) decide;
 * only this class and its parts change the state (`apply`, and their own transitions). Every failure
 * stays here.
 */
export class SessionRunner {
  /** The turn this worker life is running (from its turn_started), null between turns. */
  private runningTurn: number | null = null;
  /** Turn endings applied (any kind): tells a pump whether one came while it handed off. */
  private turnEnds = 0;
  private readonly continues = new PendingContinue(this);
  /** A worker should run even without new items: an interrupted turn is to be recovered. */
  private resumeWanted = false;
  private lastErrorText: string | null = null;
  readonly log: pino.Logger;
  private retiringNow = false;
  private readonly idle = new IdleShutdown(this);
  private readonly lives = new WorkerLives(this);
  private readonly slot: SlotClaim;
  private readonly handoffs = new HandOffTracker(this);
  private readonly pumpLoop: CoalescedRun;
  private readonly events = new EventChain(this);

  constructor(
    readonly id: string,
    readonly ctx: RunnerContext,
  ) {
    this.log = ctx.options.log.child({ sessionId: id });
    this.slot = new SlotClaim(id, ctx.slots, () => ctx.isStopped(), ctx.changes, this.log, () => this.pump());
    this.pumpLoop = new CoalescedRun(() => this.pumpOnce(), () => ctx.isStopped(), (err) => this.noteError("hand-off", err));
  }

  get store() {
    return this.ctx.options.store;
  }

  /** The current worker life's kind (for status and tests). */
  get state(): WorkerLife["kind"] {
    return this.lives.kind;
  }

  /** This life's worker: initialized, or spawned and being initialized; null otherwise. */
  get worker(): WorkerHandle | null {
    return this.lives.worker;
  }

  /** Being stopped by `stopWorker` (retire, host stop): no new worker starts meanwhile. */
  get retiring(): boolean {
    return this.retiringNow;
  }

  /** Messages are being handed to the worker (sent, not yet acknowledged). */
  get handoffsInFlight(): boolean {
    return this.handoffs.count > 0;
  }

  get turnRunning(): boolean {
    return this.runningTurn !== null;
  }

  /** The id of the running turn, when its turn_started has been seen. */
  get runningTurnId(): number | null {
    return this.runningTurn;
  }

  get restarts(): number {
    return this.lives.restarts;
  }

  get lastError(): string | null {
    return this.lastErrorText;
  }

  /** A /continue (or automatic continue) is waiting for a slot and a worker. */
  get continuePending(): ContinueRequest | null {
    return this.continues.current;
  }

  /** Nobody can /continue this session (SupervisorOptions.unattended): a turn that gives up is ended. */
  get unattended(): boolean {
    return this.ctx.options.unattended?.(this.id) ?? false;
  }

  /** A turn slot is held now. */
  get holdsSlot(): boolean {
    return this.slot.held;
  }

  private get starting(): Promise<WorkerHandle | null> | null {
    return this.lives.starting;
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
      this.continues.current !== null ||
      this.resumeWanted ||
      this.handoffs.count > 0 ||
      this.pendingItems().length > 0
    );
  }

  /** Work to do or in progress (including a worker being started). */
  hasWork(): boolean {
    return this.starting !== null || this.wantsWorker();
  }

  /** New inbound items were admitted (or the host started): a session that gave up tries again for new ones. */
  itemsArrived(): void {
    const atSeq = this.lives.gaveUpAtSeq;
    if (atSeq !== null && this.pendingItems().some((item) => item.seq > atSeq)) this.lives.resetFailures();
    this.pump();
  }

  /** Failures start counting again; a session that gave up tries again (its kept messages are handed off). */
  resetFailures(): void {
    if (this.lives.resetFailures() && this.wantsWorker()) this.pump();
  }

  /** After a host restart: a turn the restart interrupted is to be recovered even without new items. */
  wantResume(): void {
    this.resumeWanted = true;
  }

  /** Queues the user's /continue (sent once a slot and a worker are there). */
  requestContinue(request: ContinueRequest): void {
    this.continues.set(request);
    this.pump();
  }

  /** A continue that could not be sent (its worker stopped first) waits for the next worker, unless another one does. */
  requeueContinue(request: ContinueRequest): void {
    this.continues.requeue(request);
    this.pump();
  }

  /** Withdraws a continue (the user's or an automatic one) still waiting for a slot or a worker; null if there is none. */
  withdrawContinue(reason: string): ContinueRequest | null {
    const want = this.continues.drop(reason);
    if (want) this.log.info({ auto: want.auto, turnId: want.turnId, reason }, "continue withdrawn");
    return want;
  }

  /** Carries out what event-flow / start-reconcile decided (the only way they change this session). */
  apply(effects: SessionEffect[], handle: Pick<WorkerHandle, "continued" | "recoveryPending" | "endUnfinished">): void {
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
          if (effect.progress) this.lives.progressed();
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
          this.continues.set(effect.request);
          break;
        case "endUnfinished":
          this.log.info({ turnId: effect.turnId, reason: effect.reason }, "ending a recovered turn nobody can /continue");
          void handle.endUnfinished(effect.turnId, effect.reason).then((reached) => {
            // Its worker died first (the decision came from a replay): nothing else wants a worker in a session
            // nobody can /continue, so one is started to find the turn and end it (short soak, session 19).
            if (reached || this.ctx.isStopped()) return;
            this.log.info({ turnId: effect.turnId }, "the worker was gone before the unfinished turn was ended; the next worker ends it");
            this.resumeWanted = true;
            this.pump();
          });
          break;
      }
    }
  }

  /** After a processed durable event: hand off work held for a stale worker's rest, send a wanted continue, or release the slot if the session rests. */
  settle(): void {
    if (this.idle.holdsWork() || this.continues.current) this.pump();
    else void this.maybeRelease();
  }

  /** No worker may start now: stopping, retiring, backing off or given up. */
  blocked(): boolean {
    const kind = this.lives.kind;
    return this.ctx.isStopped() || this.retiringNow || kind === "gaveUp" || kind === "backoff";
  }

  // ── hand-off ────────────────────────────────────────────────────────────────────────────────

  /** Runs the hand-off loop (coalesced: one at a time, re-run if woken meanwhile). */
  pump(): void {
    this.pumpLoop.run();
  }

  private async pumpOnce(): Promise<void> {
    if (this.blocked()) {
      this.releaseSlot();
      return;
    }
    if (this.pendingItems().length === 0 && !this.continues.current && !this.resumeWanted) {
      await this.maybeRelease();
      return;
    }
    if (!this.holdsSlot) {
      this.requestSlot();
      return;
    }
    this.cancelIdle();
    if (!(await this.idle.retireStaleFirst())) return;
    const handle = await this.ensureWorker();
    if (!handle || !handle.usable) return;
    this.resumeWanted = false;
    // Fairness: once this grant started a turn, later messages wait while other sessions wait for a
    // slot; the turn ends, the slot goes to the next session and this one asks again (maybeRelease).
    if (this.holdingBack()) return;
    const items = this.pendingItems();
    const endsBefore = this.turnEnds;
    let fresh = false;
    for (const [i, listed] of items.entries()) {
      // As stored now: an edit may have replaced the item's text (and id) since it was listed. No await
      // between the last check and track(), which marks the item in flight: an edit then becomes a new input.
      let item = this.storedItem(listed);
      while (item && this.ctx.editClaims.isHeld(item.messageId)) {
        await this.ctx.editClaims.settled(item.messageId);
        item = this.storedItem(listed);
      }
      if (!item || this.handoffs.has(item.messageId)) continue;
      const outcome = await this.handoffs.track(handle, item);
      if (!outcome.ok) {
        if (i > 0) this.slot.markUsed();
        return this.handoffs.retryLater(handle);
      }
      if (outcome.fresh) fresh = true;
    }
    this.handoffs.succeeded();
    if (items.length) this.slot.markUsed();
    if (await this.continues.send(handle)) this.slot.markUsed();
    // A fresh message the worker took always starts a turn whose (durable) end calls settle(): unless a
    // turn ended meanwhile (it may have been that one), asking the worker now would only hear "busy".
    if (fresh && this.turnEnds === endsBefore) return;
    await this.maybeRelease();
  }

  /** The stored version of a listed item of this session; undefined when it is gone. */
  private storedItem(listed: InboundItem): InboundItem | undefined {
    const item = this.store.get<InboundItem>(HostKeys.inbound(listed.seq));
    return item?.sessionId === this.id ? item : undefined;
  }

  /** True while `messageId` is being handed to the worker (it may have it already). */
  handingOff(messageId: string): boolean {
    return this.handoffs.has(messageId);
  }

  /** A turn was started under the slot held now. */
  get grantUsed(): boolean {
    return this.slot.used;
  }

  /** New messages are kept back from the worker so that waiting sessions get the slot after this turn. */
  holdingBack(): boolean {
    return this.grantUsed && this.ctx.slots.othersWaiting(this.id);
  }

  requestSlot(): void {
    this.slot.request();
  }

  releaseSlot(): void {
    this.slot.release();
  }

  /** Releases the slot when the session rests (rest-release.ts). */
  maybeRelease(): Promise<void> {
    return releaseWhenResting(this);
  }

  /** The only work left is messages held back for fairness: no turn, continue, recovery or hand-off in progress. */
  onlyHeldBackWork(): boolean {
    return (
      this.holdingBack() &&
      this.starting === null &&
      this.runningTurn === null &&
      this.continues.current === null &&
      !this.resumeWanted &&
      this.handoffs.count === 0
    );
  }

  // ── worker lifecycle ────────────────────────────────────────────────────────────────────────

  /** The running worker (waiting for one being started), never spawning one; null if none. */
  liveWorker(): Promise<WorkerHandle | null> {
    return this.lives.liveWorker();
  }

  /** The live worker, spawning and initializing one if needed; null if it cannot start now. */
  ensureWorker(): Promise<WorkerHandle | null> {
    return this.lives.ensureWorker();
  }

  /** Waits (bounded) until this life has handed off what it can (handoff.ts). */
  handoffsSettled(handle: WorkerHandle, timeoutMs = HANDOFF_SETTLE_MS): Promise<void> {
    return this.handoffs.settled(handle, timeoutMs);
  }

  /** A worker start failed (worker-life.ts counted it and schedules the restart). */
  startFailed(error: string): void {
    this.lastErrorText = error;
    this.releaseSlot();
  }

  /** The worker of this life exited (`error`: unexpectedly, described; null: an expected stop). */
  workerLost(error: string | null): void {
    this.cancelIdle();
    const wasTurn = this.runningTurn !== null;
    const hadSlot = this.holdsSlot;
    this.runningTurn = null;
    this.releaseSlot();
    if (error === null) return;
    this.lastErrorText = error;
    if (hadSlot || wasTurn) this.resumeWanted = true;
  }

  /** The worker failed `failures` times in a row (worker-life.ts gave up): drop what waited for it and tell the user. */
  gaveUp(failures: number): void {
    const last = this.lastErrorText ?? "unknown";
    this.resumeWanted = false;
    this.continues.drop(`${WORKER_START_FAILED} (it failed ${failures} times in a row; last: ${last})`);
    this.lastErrorText = `gave up after ${failures} failed worker starts in a row; last: ${last}`;
    this.log.error({ error: this.lastErrorText }, "worker keeps failing; not restarting until the next message");
    this.releaseSlot();
    // The user is told to send /continue again; a stored one would be sent, unasked, by a later host start.
    // Dropped in the batch that queues the notice: a restarted host never keeps one without the other.
    this.store
      .commit("giveup", (tx) => {
        clearWantedContinue(this.store, tx, this.id);
        try {
          this.ctx.options.onGiveUp?.(this.id, failures, last, tx);
        } catch (err) {
          // A host bug; the stored /continue is dropped anyway, and the give-up stays what /status shows.
          this.log.error({ err: errorText(err) }, "telling the user the worker keeps failing failed");
        }
      })
      .catch((err: unknown) => this.noteError("dropping the stored /continue and telling the user the worker keeps failing", err));
  }

  armIdle(): void {
    this.idle.arm();
  }

  /**
   * Stops the worker now; a turn it was running (or a slot it held) is recovered by the next worker, which
   * starts at once (the resume mark is kept, as after a crash).
   */
  async restartWorker(timeoutMs: number): Promise<void> {
    const interrupted = this.runningTurn !== null || this.holdsSlot;
    await this.stopWorker({ respawn: true, keepResumeMark: interrupted, timeoutMs });
    if (!interrupted || this.ctx.isStopped()) return;
    this.resumeWanted = true;
    this.pump();
  }

  /** Stops the worker as soon as it rests, so the next work starts one with the current settings. */
  restartSoon(): void {
    this.idle.restartSoon();
  }

  cancelIdle(): void {
    this.idle.cancel();
  }

  /** Nothing to do and no slot held or wanted: the worker may be shut down when idle long enough. */
  resting(): boolean {
    return this.slot.unclaimed && !this.hasWork() && !this.retiringNow && !this.ctx.isStopped();
  }

  /** Events are processed one at a time in arrival (= seq) order, across worker lives (event-flow.ts). */
  enqueueEvent(handle: WorkerHandle, params: SessionEventParams): void {
    this.events.add(handle, params);
  }

  // ── controls ────────────────────────────────────────────────────────────────────────────────

  /** Graceful stop of the worker; `respawn` hands pending items to a new worker afterwards. */
  async stopWorker(options: { respawn: boolean; keepResumeMark: boolean; timeoutMs: number }): Promise<void> {
    this.retiringNow = true;
    try {
      this.cancelIdle();
      this.lives.clearBackoff();
      this.continues.drop("the session was stopped");
      this.resumeWanted = false;
      this.ctx.changes.fire();
      if (this.starting) await this.starting.catch(() => null);
      const handle = this.worker;
      if (handle && !handle.exited) await handle.close(options.timeoutMs);
      await withTimeout(this.events.drained(), options.timeoutMs);
      this.runningTurn = null;
      this.releaseSlot();
      this.lives.resetFailures();
      if (!options.keepResumeMark && hasResumeMark(this.store, this.id)) {
        await this.store.commit(null, (tx) => clearResumeMark(tx, this.id));
      }
    } finally {
      this.retiringNow = false;
    }
    if (options.respawn && this.pendingItems().length > 0) setTimeout(() => this.pump(), RETIRE_RESPAWN_DELAY_MS).unref();
  }

  noteError(what: string, err: unknown): void {
    this.lastErrorText = `${what}: ${errorText(err)}`;
    this.log.error({ err: errorText(err), stack: err instanceof Error ? err.stack : undefined }, `${what} failed`);
  }
}
