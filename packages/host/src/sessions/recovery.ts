import { HostKeys, type HostStore, type HostTransaction } from "../state/host-store.js";
import type { EventContext } from "./types.js";
import { forgetUserIntent } from "./user-intent.js";

/** What to do with a turn a worker recovered after a crash (ARCHITECTURE §5.4). */
export type RecoveryDecision =
  /** Send `session/continue`; this is automatic continue number `attempt` of the turn. */
  | { kind: "continue"; attempt: number }
  /** `maxAutoContinues` used up: the user is asked to /continue. */
  | { kind: "exhausted"; attempts: number }
  /** `maxAutoContinues` used up in a session nobody can /continue (a cron task's): the turn is ended for good. */
  | { kind: "abandon"; attempts: number }
  /** A newer user message is on its way to the worker; it supersedes the recovered turn. */
  | { kind: "superseded" }
  /** This worker life already sent `session/continue` for the turn. */
  | { kind: "already" }
  /** Nothing to resume (`action: none`, or a cancelled turn, which is never resumed automatically). */
  | { kind: "none" };

export interface RecoveryFacts {
  action: "awaiting_continue" | "none";
  cancelled: boolean;
  /** Automatic continues already spent on this turn (persisted). */
  used: number;
  max: number;
  /** A user message not yet turned into a turn is pending (host inbound, in flight, or queued in the worker). */
  newInput: boolean;
  alreadyContinued: boolean;
  /** Nobody can /continue this session (SupervisorOptions.unattended). */
  unattended: boolean;
}

export function decideRecovery(f: RecoveryFacts): RecoveryDecision {
  if (f.action !== "awaiting_continue" || f.cancelled) return { kind: "none" };
  if (f.alreadyContinued) return { kind: "already" };
  if (f.newInput) return { kind: "superseded" };
  if (f.used < f.max) return { kind: "continue", attempt: f.used + 1 };
  return f.unattended ? { kind: "abandon", attempts: f.used } : { kind: "exhausted", attempts: f.used };
}

export function contextOf(sessionId: string, decision: RecoveryDecision | null): EventContext {
  const kind = decision?.kind;
  return {
    sessionId,
    autoContinued: kind === "continue" || kind === "superseded" || kind === "already",
    autoContinueExhausted: kind === "exhausted" || kind === "abandon",
    turnAbandoned: kind === "abandon",
  };
}

export function autoContinuesUsed(store: HostStore, sessionId: string, turnId: number): number {
  return store.get<number>(HostKeys.autoContinue(sessionId, turnId)) ?? 0;
}

/**
 * "This session's worker may have work to finish": set when a message is handed off or a continue is
 * sent, cleared when the worker is found resting. After a host restart, `start()` brings these
 * sessions back so a turn interrupted by the restart is recovered and continued without waiting
 * for the user's next message. (A supervisor-owned key; HostKeys has no slot for it.)
 */
const RESUME_PREFIX = "sessions:resume:";

export function markResume(store: HostStore, tx: HostTransaction, sessionId: string): void {
  if (store.get(RESUME_PREFIX + sessionId) === undefined) tx.put(RESUME_PREFIX + sessionId, { since: new Date().toISOString() });
}

/**
 * Stores the mark unless it is there. Checked inside the commit's build, which sees in-flight writes:
 * a mark read from the durable state could be one whose clearing (`maybeRelease`, the session found
 * resting a moment ago) is already on its way, and the continue sent now would then be forgotten by a
 * host that dies before the worker's turn ends (soak finding: a recovered turn left waiting until the
 * user wrote again).
 */
export function ensureResumeMark(store: HostStore, sessionId: string): Promise<void> {
  return store.commit("resume_mark", (tx) => markResume(store, tx, sessionId));
}

export function hasResumeMark(store: HostStore, sessionId: string): boolean {
  return store.get(RESUME_PREFIX + sessionId) !== undefined;
}

export function clearResumeMark(tx: HostTransaction, sessionId: string): void {
  tx.del(RESUME_PREFIX + sessionId);
}

/**
 * "The user was asked to /continue this recovered turn": set with the notice (event-flow, when the
 * automatic continues are used up), so a worker start that finds the turn still waiting tells the user
 * once — the last automatic continue may never have reached a worker (it died first), and no event of
 * the turn is left to carry the notice.
 */
export function offeredKey(sessionId: string, turnId: number): string {
  return `sessions:offered:${sessionId}:${turnId}`;
}

export function resumeMarkedSessions(store: HostStore): string[] {
  const ids: string[] = [];
  for (const key of store.cache.keys()) if (key.startsWith(RESUME_PREFIX)) ids.push(key.slice(RESUME_PREFIX.length));
  return ids.sort();
}

/**
 * The worker's session database is behind what the host processed (it was archived by /new, deleted
 * or restored): its seqs and turn ids start again, so forget the processed seq and the per-turn
 * auto-continue counters of this session.
 */
export function forgetSessionProgress(store: HostStore, tx: HostTransaction, sessionId: string, lastAckedSeq: number): void {
  tx.put(HostKeys.sessionSeq(sessionId), lastAckedSeq);
  const prefixes = [HostKeys.autoContinue(sessionId, 0).replace(/0$/, ""), offeredKey(sessionId, 0).replace(/0$/, "")];
  for (const key of [...store.cache.keys()]) if (prefixes.some((prefix) => key.startsWith(prefix))) tx.del(key);
  forgetUserIntent(store, tx, sessionId);
}
