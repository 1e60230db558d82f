import type { ControlResult, SessionEvent } from "@starling/protocol";
import { decideRecovery, type RecoveryDecision } from "./recovery.js";
import type { SlotLease } from "./turn-slots.js";
import { autoReason } from "./util.js";
import type { WorkerHandle } from "./worker-handle.js";

/**
 * The life of a session's worker: exactly one of these at a time, held by its SessionRunner and changed
 * only there (diagram in docs/ARCHITECTURE.md §2 "Session state").
 */
export type WorkerLife =
  /** No worker and nothing scheduled: the next piece of work starts one. */
  | { kind: "none" }
  /** Being launched and initialized; `handle` once the process is spawned. */
  | { kind: "starting"; promise: Promise<WorkerHandle | null>; handle: WorkerHandle | null }
  /** Initialized (possibly closing: idle shutdown, retire, host stop). */
  | { kind: "running"; handle: WorkerHandle }
  /** Crashed or failed to start: started again when the backoff timer fires. */
  | { kind: "backoff"; timer: NodeJS.Timeout; attempt: number }
  /** Failed `maxAttempts` times in a row: waits for a message newer than `atSeq`, or /continue. */
  | { kind: "gaveUp"; atSeq: number };

/** The session's claim on a global turn slot. `used`: a turn was started under this grant. */
export type SlotState = { kind: "none" } | { kind: "requested" } | { kind: "held"; lease: SlotLease; used: boolean };

/** A `session/continue` waiting for a slot and a worker. */
export interface ContinueRequest {
  auto: boolean;
  turnId: number | null;
  reason: string;
  /**
   * Answers the user's /continue once sent (auto continues have none): true when the command heard this result,
   * false when it was answered already (stored, "continuing once …"), so a later refusal is told otherwise.
   */
  resolve?: (result: ControlResult) => boolean;
}

/** What an event (or a start) means for the session; only SessionRunner.apply carries it out. */
export type SessionEffect =
  | { kind: "turnStarted"; turnId: number }
  | { kind: "turnEnded"; progress: boolean }
  | { kind: "runtimeCrashed"; message: string }
  /** This life's `turn_recovered` for `turnId` has been dealt with (no longer awaited). */
  | { kind: "recoverySettled"; turnId: number }
  | { kind: "continue"; request: ContinueRequest }
  /** End the unfinished turn for good: nobody can /continue it (recovery decision `abandon`). */
  | { kind: "endUnfinished"; turnId: number; reason: string };

/**
 * Effects of an event of a worker. Durable events are decided after their commit (`recovery` is the
 * decision stored with a `turn_recovered`); `duplicate`: the host had processed this seq already.
 */
export function decideEvent(event: SessionEvent, recovery: RecoveryDecision | null, maxAutoContinues: number, duplicate = false): SessionEffect[] {
  switch (event.type) {
    case "turn_started":
      return [{ kind: "turnStarted", turnId: event.turnId }];
    case "runtime_crashed":
      return [{ kind: "runtimeCrashed", message: event.message }];
    case "turn_completed":
    case "turn_failed":
    case "turn_cancelled":
    case "turn_superseded":
      return duplicate ? [] : [{ kind: "turnEnded", progress: true }];
    case "turn_recovered": {
      if (duplicate) return [{ kind: "recoverySettled", turnId: event.turnId }];
      const effects: SessionEffect[] = [{ kind: "turnEnded", progress: false }, { kind: "recoverySettled", turnId: event.turnId }];
      if (recovery?.kind === "continue") effects.push(continueEffect(event.turnId, recovery.attempt, maxAutoContinues));
      if (recovery?.kind === "abandon") effects.push(endUnfinishedEffect(event.turnId, recovery.attempts));
      return effects;
    }
    default:
      return [];
  }
}

/** The end of a recovered turn whose automatic continues were used up in a session nobody can /continue. */
export function endUnfinishedEffect(turnId: number, attempts: number): SessionEffect {
  return { kind: "endUnfinished", turnId, reason: `given up: interrupted by worker restarts after ${attempts} automatic continue${attempts === 1 ? "" : "s"}` };
}

function continueEffect(turnId: number, attempt: number, max: number): SessionEffect {
  return { kind: "continue", request: { auto: true, turnId, reason: autoReason(attempt, max) } };
}

/** What a freshly initialized worker reports, next to what the host has stored for the session. */
export interface StartFacts {
  lastEventSeq: number;
  lastAckedSeq: number;
  /** The host's processed seq of the session. */
  processedSeq: number;
  unfinishedTurn: { turnId: number; reason: string } | null;
  /** Automatic continues stored for the unfinished turn. */
  autoContinuesUsed: number;
  /** The user /cancel-ed the unfinished turn (its worker died before storing that): never resumed automatically. */
  cancelledByUser: boolean;
  maxAutoContinues: number;
  queuedInputs: number;
  /** Nobody can /continue the session (SupervisorOptions.unattended). */
  unattended: boolean;
}

export interface StartDecision {
  /** The session database is behind the host (archived by /new, reset): forget the processed seq and counters. */
  forgetProgress: boolean;
  /** A crashed turn whose `turn_recovered` event is among the unprocessed ones: decide when it arrives. */
  awaitRecoveryOf: number | null;
  /** Recovered and reported in an earlier life but never resumed: continue it now (counter stored first). */
  resume: { turnId: number; attempt: number } | null;
  recovery: RecoveryDecision | null;
}

/** Reconciliation of the host's bookkeeping with a freshly initialized worker, before any of its events. */
export function decideStart(f: StartFacts): StartDecision {
  const forgetProgress = f.lastEventSeq < f.processedSeq;
  const processedSeq = forgetProgress ? f.lastAckedSeq : f.processedSeq;
  const none: StartDecision = { forgetProgress, awaitRecoveryOf: null, resume: null, recovery: null };
  const unfinished = f.unfinishedTurn;
  if (!unfinished || unfinished.reason !== "crash") return none;
  if (f.lastEventSeq > processedSeq) return { ...none, awaitRecoveryOf: unfinished.turnId };
  const recovery = decideRecovery({
    action: "awaiting_continue",
    cancelled: f.cancelledByUser && !forgetProgress,
    used: forgetProgress ? 0 : f.autoContinuesUsed,
    max: f.maxAutoContinues,
    newInput: f.queuedInputs > 0, // items re-sent now may be duplicates; sendContinue re-checks
    alreadyContinued: false,
    unattended: f.unattended,
  });
  return { ...none, recovery, resume: recovery.kind === "continue" ? { turnId: unfinished.turnId, attempt: recovery.attempt } : null };
}

/** The resume request of a start decision (applied by the owner once the counter is stored). */
export function resumeEffect(resume: { turnId: number; attempt: number }, max: number): SessionEffect {
  return continueEffect(resume.turnId, resume.attempt, max);
}

/**
 * A change of session state that waiters (a recovery decision waiting for this life's hand-offs) re-check
 * their condition on, instead of polling.
 */
export class ChangeSignal {
  private waiters = new Set<() => void>();

  fire(): void {
    const waiters = this.waiters;
    this.waiters = new Set();
    for (const wake of waiters) wake();
  }

  /** Resolves at the next `fire()` or after `ms`, whichever comes first. */
  next(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.waiters.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, Math.max(0, ms));
      timer.unref();
      this.waiters.add(wake);
    });
  }
}
