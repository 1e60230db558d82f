import type pino from "pino";
import type { ControlResult, CoordinateParams, CoordinateResult, CredentialsParams, CredentialsResult, HiddenPathsParams, HiddenPathsResult, InitializeParams, SessionEvent } from "@starling/protocol";
import type { HostStore, HostTransaction } from "../state/host-store.js";
import type { WorkerNoAnswer } from "./answer-deadline.js";
import type { RestartPolicy } from "./backoff.js";

/** How one session's worker is started. */
export interface SessionLaunch {
  /** Sent as `initialize` (workspace, model, compression, …). */
  init: InitializeParams;
  /** Full argv of the worker (possibly wrapped in bwrap). */
  command: [string, ...string[]];
  /** The conversation workspace. */
  cwd: string;
  env?: NodeJS.ProcessEnv;
}

/** What the supervisor knows about a durable event when it hands it to the host. */
export interface EventContext {
  sessionId: string;
  /**
   * The supervisor is resuming this recovered turn by itself (`session/continue` sent, or a newer
   * message already waiting to supersede it): the host may say nothing or a short "continuing".
   */
  autoContinued: boolean;
  /** The turn was recovered after more crashes than `maxAutoContinues`: ask the user to /continue. */
  autoContinueExhausted: boolean;
  /**
   * …and nobody can /continue it (`unattended`): the supervisor ends the turn for good instead, so the
   * notice says it was given up (`autoContinueExhausted` is true too).
   */
  turnAbandoned: boolean;
}

export interface SupervisorOptions {
  store: HostStore;
  log: pino.Logger;
  /** Global cap on running turns (p-queue). */
  maxConcurrentTurns: number;
  /** An idle worker is shut down after this many seconds (fractions allowed). */
  idleShutdownSeconds: number;
  /** Automatic `session/continue`s per recovered turn, counted durably. */
  maxAutoContinues: number;
  launch(sessionId: string): Promise<SessionLaunch>;
  /**
   * Durable events (turn_completed/failed/cancelled/superseded/recovered): write what they imply
   * (outbound items) into `tx`; runs inside the same commit that records the processed seq.
   */
  onDurableEvent(event: SessionEvent, tx: HostTransaction, ctx: EventContext): void;
  /**
   * Nobody can /continue this session (a cron task's: a chat's /continue goes to its foreground): a
   * recovered turn whose automatic continues are used up is ended for good (`session/cancel` with
   * `endUnfinished`) instead of waiting. Default: every session can be continued.
   */
  unattended?(sessionId: string): boolean;
  /** Every event incl. progress/tool_started/turn_started, after processing; best-effort (typing/panel). */
  onActivity(sessionId: string, event: SessionEvent): void;
  /**
   * The session stopped restarting its worker after `restart.maxAttempts` failures in a row (its
   * messages stay stored; a newer message or /continue tries again): tell the user. `failures` is the
   * count, `lastError` the last failure. Called once per such stop, inside the `giveup` commit: write the
   * notice into `tx`.
   */
  onGiveUp?(sessionId: string, failures: number, lastError: string, tx: HostTransaction): void;
  /**
   * A user's /continue answered before a worker took it ("continuing once the worker is ready", or queued for a
   * slot) was refused by the worker: there was nothing to continue (`reason`). Tell the user, inside the commit that
   * clears the stored continue. Not called for a continue stored in an earlier host life (its answer may have
   * been heard before a crash, and the turn it resumed may have finished since).
   */
  onContinueRefused?(sessionId: string, reason: string, tx: HostTransaction): void;
  /** host/coordinate requests from a worker (user_tell, update_plan…); `callerGone` aborts when the worker cancelled it or exited. */
  coordinate(sessionId: string, params: CoordinateParams, callerGone: AbortSignal): Promise<CoordinateResult>;
  /** `model/credentials` from a worker (a renewed codex_subscription token); absent: the worker is told this host does not serve it. */
  credentials?(params: CredentialsParams): Promise<CredentialsResult>;
  /** `sandbox/hiddenPaths` from a worker (real paths of hidden paths it found mid-life); absent: the worker is told this host does not keep them. */
  hiddenPaths?(params: HiddenPathsParams): Promise<HiddenPathsResult>;
  /** Restart backoff of crashed workers (default 25 ms, ×3 per failure up to 30 s, give up after 8 failures in a row). */
  restart?: Partial<RestartPolicy>;
  /** How long `initialize` may take before the worker counts as failed to start (default 30 s). */
  initializeTimeoutMs?: number;
  /** Pre-started workers kept waiting for `initialize` (default 0 here; the host passes `workers.warm_spares`). */
  warmSpares?: number;
  /** Command, cwd and environment of a spare; a session takes a spare only when its launch has the same command and environment. */
  spareLaunch?(): Promise<Omit<SessionLaunch, "init">>;
  /** How long a worker has to answer a query, cancel or continue before it is killed as stuck (default WORKER_ANSWER_MS, 15 s). */
  workerAnswerMs?: number;
  /** How long a graceful worker shutdown (idle, retire) may take before SIGKILL (default 10 s). */
  shutdownTimeoutMs?: number;
}

export interface SessionStatus {
  workerRunning: boolean;
  turnRunning: boolean;
  /** 1-based position among sessions waiting for a turn slot; null when not waiting. */
  queuePosition: number | null;
  /** Unexpected worker exits since the host started. */
  restarts: number;
  lastError: string | null;
}

/** What a continue that is stored but not sent yet waits for: a free turn slot, or a worker to start. */
export type ContinueWait = "slot" | "worker";

/** supervisor.continue's answer. */
export interface ContinueResult extends ControlResult {
  /** Accepted but waiting (answered before a worker took it). */
  waitingFor?: ContinueWait;
  /** With `waitingFor: "slot"`: the session's 1-based place in the queue. */
  position?: number | null;
  /** The worker did not answer the live_state check and was killed as stuck; the continue waits for the next one. */
  stuck?: WorkerNoAnswer;
}

/** supervisor.cancel's answer. */
export interface CancelResult extends ControlResult {
  /** No turn was running: a continue still waiting was withdrawn (an automatic one for a crashed turn, or the user's). */
  withdrew?: { auto: boolean; waitingFor: ContinueWait };
  /**
   * Nothing was cancelled: the session's worker was still starting (no turn runs before it is ready); a turn it
   * finds interrupted by a crash will not be continued automatically (marked).
   */
  starting?: true;
}
