import { COORDINATE_ACTIONS, type CoordinateAction, type CoordinateActionResult, type CoordinatePayload } from "@starling/protocol";
import type { ToolContext } from "../define-tool.js";
import { ToolError } from "../errors.js";

/**
 * One `host/coordinate` call for a tool, with the tool's turn and call id: the host performs the
 * action once per call id, so a call re-run after a crash gets the recorded outcome. The answer is
 * checked against the action's result schema; a refusal or timeout becomes a tool error naming it.
 */
export async function askHost<A extends CoordinateAction>(ctx: ToolContext, action: A, payload: CoordinatePayload<A>): Promise<CoordinateActionResult<A>> {
  let raw: unknown;
  try {
    raw = await ctx.coordinate(action, payload, ctx.signal, { turnId: ctx.turnId, callId: ctx.callId });
  } catch (error) {
    if (ctx.signal.aborted) throw error;
    throw new ToolError("failed", error instanceof Error ? error.message : String(error));
  }
  const parsed = COORDINATE_ACTIONS[action].result.safeParse(raw);
  if (!parsed.success) throw new ToolError("failed", `the host answered ${action} with an unexpected result: ${parsed.error.message}`);
  return parsed.data as CoordinateActionResult<A>;
}
