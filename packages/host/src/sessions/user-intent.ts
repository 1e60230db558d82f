import type { HostStore, HostTransaction } from "../state/host-store.js";

/**
 * What the user asked of a session's turn that must outlive a crash of the host or the worker
 * (ARCHITECTURE §5.4). Supervisor-owned keys; HostKeys has no slot for them.
 *
 * - `sessions:cancelled:<session>` = turn id: the user /cancel-ed that turn. A worker that dies before
 *   it stores the cancellation brings the turn back as recovered; this mark keeps the host from
 *   resuming it automatically (the user was told "Send /continue"). A /continue the user sends clears it.
 *   `"at_start"`: the /cancel came while the session's worker was still starting after a crash, before the
 *   host could learn the interrupted turn's id; the start's reconciliation puts that id in its place.
 * - `sessions:continue:<session>` = { sessionId, turnId }: the user's /continue was acknowledged but not sent yet
 *   (waiting for a turn slot or a worker). A host restarted meanwhile sends it, instead of leaving the
 *   turn waiting for a user who was told it continues. Cleared once the worker answered it.
 * Both are dropped when the session's database turns out new or reset (`forgetUserIntent`).
 */
const CANCELLED_PREFIX = "sessions:cancelled:";
const CONTINUE_PREFIX = "sessions:continue:";

export function markCancelledByUser(tx: HostTransaction, sessionId: string, turnId: number): void {
  tx.put(CANCELLED_PREFIX + sessionId, turnId);
}

const AT_START = "at_start";

export function cancelledByUser(store: HostStore, sessionId: string, turnId: number): boolean {
  const mark = store.get<number | typeof AT_START>(CANCELLED_PREFIX + sessionId);
  return mark === turnId || mark === AT_START;
}

/** The user's /cancel reached a worker still starting after a crash: whatever turn it finds interrupted is not resumed automatically. */
export function markCancelledAtStart(tx: HostTransaction, sessionId: string): void {
  tx.put(CANCELLED_PREFIX + sessionId, AT_START);
}

/**
 * A started worker reported its unfinished turn (or none): an "at start" cancel mark becomes that turn's, or goes.
 * Checked inside the commit's build (it sees in-flight writes); false when there was no such mark.
 */
export function settleCancelAtStart(store: HostStore, tx: HostTransaction, sessionId: string, unfinishedTurnId: number | null): boolean {
  if (store.get(CANCELLED_PREFIX + sessionId) !== AT_START) return false;
  if (unfinishedTurnId === null) tx.del(CANCELLED_PREFIX + sessionId);
  else tx.put(CANCELLED_PREFIX + sessionId, unfinishedTurnId);
  return true;
}

export function cancelledAtStart(store: HostStore, sessionId: string): boolean {
  return store.get(CANCELLED_PREFIX + sessionId) === AT_START;
}

export interface WantedContinue {
  sessionId: string;
  turnId: number | null;
}

/** The user's /continue, acknowledged and not yet sent; it supersedes their earlier /cancel of the turn. */
export function storeWantedContinue(store: HostStore, tx: HostTransaction, sessionId: string, turnId: number | null): void {
  tx.put(CONTINUE_PREFIX + sessionId, { sessionId, turnId } satisfies WantedContinue);
  deleteIfPresent(store, tx, CANCELLED_PREFIX + sessionId);
}

/** Deletes the stored continue if there is one (checked inside the commit's build, which sees writes in flight). */
export function clearWantedContinue(store: HostStore, tx: HostTransaction, sessionId: string): void {
  deleteIfPresent(store, tx, CONTINUE_PREFIX + sessionId);
}

export function wantedContinues(store: HostStore): WantedContinue[] {
  return store.list<WantedContinue>(CONTINUE_PREFIX);
}

/** The session's database is new or reset (turn ids start again): its marks no longer name its turns. */
export function forgetUserIntent(store: HostStore, tx: HostTransaction, sessionId: string): void {
  deleteIfPresent(store, tx, CANCELLED_PREFIX + sessionId);
  deleteIfPresent(store, tx, CONTINUE_PREFIX + sessionId);
}

function deleteIfPresent(store: HostStore, tx: HostTransaction, key: string): void {
  if (store.get(key) !== undefined) tx.del(key);
}
