import { TOOL_EVENT_ARGUMENT_CHARS, TOOL_EVENT_RESULT_CHARS } from "@starling/protocol";
import type { TurnRecord } from "../store/records.js";
import { headTail } from "../tools/bounded-text.js";
import type { ToolRunResult } from "../tools/types.js";
import type { SessionDeps } from "./session-deps.js";
import type { TurnControl } from "./turn-control.js";

/**
 * Runs the pending tool calls of a turn one after another, in call order. A side-effecting call gets an
 * intent record before it starts; every call that runs gets its result stored when it returns. When the
 * turn is stopped the loop ends after the running call; the state that stopped it pairs the rest. A read-only
 * call cut off by a shutdown stays unpaired: the next worker recovers the turn and runs it again.
 */
export async function runToolBatch(deps: SessionDeps, turn: TurnRecord, control: TurnControl): Promise<void> {
  for (const call of deps.journal.pendingCalls()) {
    if (control.stopped) return;
    const readOnly = deps.tools.isReadOnly(call.name);
    if (!readOnly) await deps.journal.recordIntent(turn.turnId, call);
    control.currentTool = call.name;
    control.otherPhaseShown = true;
    void deps.store.emitEphemeral({
      type: "tool_started",
      turnId: turn.turnId,
      callId: call.id,
      toolName: call.name,
      summary: call.arguments.slice(0, 200),
      arguments: call.arguments.slice(0, TOOL_EVENT_ARGUMENT_CHARS),
    });
    void deps.store.emitEphemeral({ type: "progress", turnId: turn.turnId, phase: "running_tool", toolName: call.name });
    const started = Date.now();
    const { signal, dispose } = control.toolSignal();
    try {
      const result = await deps.tools.run(call, { turnId: turn.turnId, signal });
      // Cut off by the worker's shutdown (host restart or crash): a read-only call is left without a result,
      // so the recovered turn runs it again (a host tool with the same call id: the host's recorded outcome)
      // rather than telling the model it was interrupted (subagent_join would lose the answer it waited for),
      // or that the subagent it stopped waiting for at the cut was still running.
      if (readOnly && control.shuttingDown && (result.isError || signal.aborted)) return;
      await deps.journal.recordResult(turn.turnId, call, result.content, result.isError, result.files);
      void deps.store.emitEphemeral({
        type: "tool_finished",
        turnId: turn.turnId,
        callId: call.id,
        toolName: call.name,
        isError: result.isError,
        durationMs: Date.now() - started,
        ...auditFacts(result),
      });
    } finally {
      dispose();
      control.currentTool = null;
    }
  }
}

/** What `tool_finished` tells an audit log: the bounded result, a command's exit code, the error class. */
function auditFacts(result: ToolRunResult): { resultSummary: string; exitCode?: number | null; errorKind?: string } {
  const details = result.details ?? {};
  const exitCode = details.exitCode;
  const kind = details.kind;
  return {
    resultSummary: headTail(result.content, TOOL_EVENT_RESULT_CHARS, (n) => `[... ${n} characters omitted ...]`).text,
    ...(typeof exitCode === "number" || exitCode === null ? { exitCode } : {}),
    ...(result.isError && typeof kind === "string" ? { errorKind: kind } : {}),
  };
}
