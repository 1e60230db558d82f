import type { CoordinateAction, CoordinateActionResult, CoordinatePayload } from "@starling/protocol";
import type { HostTransaction } from "../state/host-store.js";
import type { ConversationRecord } from "../state/records.js";
import type { ConversationService } from "./conversation-service.js";

/** What a handler gets: the caller, and hooks run once the action's batch is durable. */
export interface ActionContext {
  service: ConversationService;
  conversation: ConversationRecord;
  sessionId: string;
  turnId: number | null;
  /** The plan of a session changed (progress panel refresh). */
  planChanged(sessionId: string, turnId: number | null): void;
  /** Aborts when the caller no longer waits for the answer (its worker cancelled the call or exited). */
  callerGone: AbortSignal;
}

/** A refusal with a message for the model (names the field and what to do). */
export class ActionError extends Error {}

/**
 * One host action. `apply` runs inside the action's commit (commit point `coordinate`): it reads the
 * store, stages its side effects on `tx` and returns the result; it throws ActionError to refuse
 * (nothing is written then). `readOnly` actions are not recorded.
 * An action whose side effects are files or processes (skills: copies, git) has `perform` instead:
 * it runs first and its outcome is recorded after it (commit point `coordinate`); a crash between
 * the two leaves no record, so the re-asked call performs again and `perform` must be safe to repeat.
 */
export type ActionHandler<A extends CoordinateAction> = { readOnly?: boolean } & (
  | { apply(payload: CoordinatePayload<A>, tx: HostTransaction, ctx: ActionContext): CoordinateActionResult<A>; perform?: never }
  | { perform(payload: CoordinatePayload<A>, ctx: ActionContext): Promise<CoordinateActionResult<A>>; apply?: never }
);
export type ActionHandlers = { [A in CoordinateAction]?: ActionHandler<A> };

