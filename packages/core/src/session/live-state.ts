import type { LiveState, SessionStateName } from "@starling/protocol";
import type { SnapshotFrom } from "xstate";
import type { SessionMachine } from "./session-machine.js";
import type { TurnJournal } from "./turn-journal.js";
import type { SessionStore } from "../store/session-store.js";

/** Maps the machine's (possibly nested) state value to the protocol's state name. */
export function stateName(snapshot: SnapshotFrom<SessionMachine>): SessionStateName {
  const value = snapshot.value;
  if (typeof value === "string") {
    switch (value) {
      case "starting":
      case "startBackoff": // a turn about to start again after a failed write
      case "resuming":
        return "callingModel";
      case "afterTurn":
        return "idle";
      case "endingUnfinished":
        return "interrupting";
      default:
        return value as SessionStateName;
    }
  }
  const turn = (value as { turn?: string | Record<string, unknown> }).turn;
  const phase = typeof turn === "string" ? turn : turn ? Object.keys(turn)[0] : undefined;
  switch (phase) {
    case "runningTools":
      return "runningTools";
    case "compacting":
      return "compacting";
    case "interrupting":
    case "interruptRetry":
    case "cancelling":
      return "interrupting";
    default:
      return "callingModel";
  }
}

export function liveState(snapshot: SnapshotFrom<SessionMachine>, store: SessionStore, journal: TurnJournal): LiveState {
  const turn = snapshot.context.turn;
  const running = snapshot.matches("turn");
  const last = store.lastTurn;
  return {
    view: "live_state",
    state: stateName(snapshot),
    turnId: running ? (turn?.turnId ?? null) : null,
    step: running ? (turn?.steps ?? 0) : 0,
    toolName: snapshot.context.control?.currentTool ?? null,
    queuedInputs: store.queue.length,
    turnStartedAt: running ? (turn?.startedAt ?? null) : null,
    unfinishedTurn:
      last && journal.isUnfinished(last) ? { turnId: last.turnId, reason: last.unfinishedReason ?? last.status } : null,
  };
}
