import {
  COORDINATE_ACTIONS,
  CoordinateRequest,
  describeIssues,
  isCoordinateAction,
  type CoordinateAction,
  type CoordinateActionResult,
  type CoordinateParams,
  type CoordinateResult,
} from "@starling/protocol";
import { cronHandlers } from "../cron/cron-actions.js";
import { skillHandlers } from "../skills/skill-actions.js";
import { agentHandlers } from "../agents/agent-actions.js";
import { chatHandlers } from "./chat-actions.js";
import type { ConversationService } from "./conversation-service.js";
import { ActionError, type ActionContext, type ActionHandler, type ActionHandlers } from "./host-action.js";

/** The actions this host serves (sent to workers as `initialize.hostActions`). */
const HANDLERS: ActionHandlers = { ...chatHandlers, ...cronHandlers, ...skillHandlers, ...agentHandlers };
export const HOST_ACTIONS: CoordinateAction[] = Object.keys(HANDLERS) as CoordinateAction[];

/** A recorded outcome of one call id (ARCHITECTURE §5: the side effect and its outcome in one batch). */
interface CallRecord {
  action: string;
  outcome: CoordinateResult;
  at: string;
}
const callKey = (sessionId: string, callId: string) => `coord:${sessionId}:${callId}`;
/** The caller of a call made in-process (tests, embedders) never goes away. */
const STAYS = new AbortController().signal;
/** Recorded outcomes are kept this long: a worker re-asks within seconds or minutes of a crash. */
const RECORD_TTL_MS = 3 * 24 * 3600_000;

/**
 * `host/coordinate` from a worker: the payload is validated per action (CoordinateRequest), the
 * action is carried out once per call id, and a repeated call id gets the recorded outcome.
 */
export async function handleCoordinate(
  service: ConversationService,
  sessionId: string,
  params: CoordinateParams,
  hooks: Partial<Pick<ActionContext, "planChanged" | "callerGone">> = {},
): Promise<CoordinateResult> {
  const conversation = service.conversationOfSession(sessionId);
  if (!conversation) return { ok: false, error: `no conversation for session ${sessionId}` };
  if (!isCoordinateAction(params.action)) return { ok: false, error: `unsupported host action ${params.action}` };
  const handler = HANDLERS[params.action] as ActionHandler<CoordinateAction> | undefined;
  if (!handler) return { ok: false, error: `this host does not serve ${params.action} yet` };
  const parsed = CoordinateRequest.safeParse(params);
  if (!parsed.success) return { ok: false, error: `invalid ${params.action} arguments: ${describeIssues(parsed.error)}` };
  const request = parsed.data;
  const ctx: ActionContext = {
    service,
    conversation,
    sessionId,
    turnId: request.turnId,
    planChanged: hooks.planChanged ?? (() => undefined),
    callerGone: hooks.callerGone ?? STAYS,
  };
  const key = request.callId !== null && !handler.readOnly ? callKey(sessionId, request.callId) : null;
  try {
    const { perform, apply } = handler;
    if (perform) {
      const recorded = key ? service.store.get<CallRecord>(key) : undefined;
      if (recorded) return recorded.outcome;
      const outcome: CoordinateResult = { ok: true, result: COORDINATE_ACTIONS[request.action].result.parse(await perform(request.payload as never, ctx)) };
      if (key) await service.store.commit("coordinate", (tx) => tx.put(key, { action: request.action, outcome, at: new Date().toISOString() } satisfies CallRecord));
      return outcome;
    }
    return await service.store.commit(key ? "coordinate" : null, (tx): CoordinateResult => {
      const recorded = key ? service.store.get<CallRecord>(key) : undefined;
      if (recorded) return recorded.outcome;
      const result = COORDINATE_ACTIONS[request.action].result.parse(apply!(request.payload as never, tx, ctx));
      const outcome: CoordinateResult = { ok: true, result };
      if (key) tx.put(key, { action: request.action, outcome, at: new Date().toISOString() } satisfies CallRecord);
      return outcome;
    });
  } catch (err) {
    if (err instanceof ActionError) return { ok: false, error: err.message };
    service.log.error({ action: request.action, err: err instanceof Error ? err.message : String(err) }, "host action failed");
    return { ok: false, error: `${request.action} failed on the host: ${err instanceof Error ? err.message : String(err)}` };
  }
}

/** Drops recorded call outcomes older than RECORD_TTL_MS (at host start). */
export async function pruneCallRecords(service: ConversationService, now = Date.now()): Promise<void> {
  const old = [...service.store.cache.entries()].filter(
    ([k, v]) => k.startsWith("coord:") && now - Date.parse((v as CallRecord).at) > RECORD_TTL_MS,
  );
  if (old.length) await service.store.commit(null, (tx) => old.forEach(([k]) => tx.del(k)));
}
