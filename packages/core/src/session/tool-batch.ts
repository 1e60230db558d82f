import type { TurnRecord } from "../store/records.js";
import type { SessionDeps } from "./session-deps.js";
import type { TurnControl } from "./turn-control.js";

/**
 * Runs the pending tool calls of a turn one after another, in call order. A side-effecting call gets an
 * intent record before it starts; every call that runs gets its result stored when it returns. When the
 * turn is stopped the loop ends after the running call; the state that stopped it pairs the rest.
 */
export async function runToolBatch(deps: SessionDeps, turn: TurnRecord, control: TurnControl): Promise<void> {
  for (const call of deps.journal.pendingCalls()) {
    if (control.stopped) return;
    const readOnly = deps.tools.isReadOnly(call.name);
    if (!readOnly) await deps.journal.recordIntent(turn.turnId, call);
    control.currentTool = call.name;
    void deps.store.emitEphemeral({
      type: "tool_started",
      turnId: turn.turnId,
      callId: call.id,
      toolName: call.name,
      summary: call.arguments.slice(0, 200),
    });
    void deps.store.emitEphemeral({ type: "progress", turnId: turn.turnId, phase: "running_tool", toolName: call.name });
    const started = Date.now();
    const { signal, dispose } = control.toolSignal();
    try {
      const result = await deps.tools.run(call, { turnId: turn.turnId, signal });
      await deps.journal.recordResult(turn.turnId, call, result.content, result.isError);
      void deps.store.emitEphemeral({
        type: "tool_finished",
        turnId: turn.turnId,
        callId: call.id,
        toolName: call.name,
        isError: result.isError,
        durationMs: Date.now() - started,
      });
    } finally {
      dispose();
      control.currentTool = null;
    }
  }
}
