import { z } from "zod";
import { lazySchema } from "./lazy-schema.js";
import { TranscriptItem, TurnError, Usage } from "./values.js";

/** Bounds of the tool event fields meant for audit logs. */
export const TOOL_EVENT_ARGUMENT_CHARS = 2000;
export const TOOL_EVENT_RESULT_CHARS = 1000;

/**
 * The session events' schemas, built on first use. The host parses every event (worker-client.ts); a
 * worker only sends them, so the exports below are pure calls its bundle leaves out and its start-up
 * snapshot holds none of them (`Methods.event.params` is a getter over this group).
 */
const schemas = lazySchema(() => {
  const turn = { turnId: z.number().int().nonnegative() };
  /**
   * On turn-ending events: inputs queued in the worker when the turn's end was stored (a turn starts with
   * them next; 0: the worker rests until a new message or continue). The host uses it for events of the
   * running worker life instead of asking `live_state` (a re-sent event's value is stale). Absent from
   * older workers.
   */
  const queued = { queuedInputs: z.number().int().nonnegative().optional() };
  /**
   * On turn-ending events and `turn_recovered`: the messageIds of the inputs the turn took (its
   * `turn_started` ones; a continued turn keeps them), so a client can tell which messages an answer
   * answers (`turn_started` is not durable). Absent from older workers.
   */
  const answered = { messageIds: z.array(z.string()).optional() };
  const turnEnd = { ...queued, ...answered };
  /**
   * On the events of a turn ending without a final answer (failed, cancelled, superseded): workspace paths
   * (`generated/…`) of images the turn's answers saved that no reply carried (ones returned with tool
   * calls ride on the final answer, which this turn did not get). The host sends them with its notice;
   * each is announced once (a continue's final answer leaves them out). Absent when there are none.
   */
  const unsent = { attachments: z.array(z.string()).optional() };

  const TurnStartedEvent = z.object({
    type: z.literal("turn_started"),
    ...turn,
    /** messageIds of the inputs this turn answers. */
    messageIds: z.array(z.string()),
  });
  const ProgressEvent = z.object({
    type: z.literal("progress"),
    ...turn,
    phase: z.enum(["calling_model", "running_tool", "compacting", "retrying", "interrupting"]),
    toolName: z.string().optional(),
    text: z.string().optional(),
    step: z.number().int().optional(),
  });
  const AssistantDeltaEvent = z.object({ type: z.literal("assistant_delta"), ...turn, text: z.string() });
  const ToolStartedEvent = z.object({
    type: z.literal("tool_started"),
    ...turn,
    callId: z.string(),
    toolName: z.string(),
    /** Short, human-readable summary of the arguments. */
    summary: z.string().optional(),
    /** The call's arguments as the model wrote them (JSON text), cut to TOOL_EVENT_ARGUMENT_CHARS (for audit logs). */
    arguments: z.string().optional(),
  });
  const ToolFinishedEvent = z.object({
    type: z.literal("tool_finished"),
    ...turn,
    callId: z.string(),
    toolName: z.string(),
    isError: z.boolean(),
    durationMs: z.number().nonnegative(),
    /** The result text the model sees, cut to TOOL_EVENT_RESULT_CHARS (head and tail), secrets the worker knows redacted. */
    resultSummary: z.string().optional(),
    /** A command's exit code (shell), null when it was killed by a signal or has not exited (background session). */
    exitCode: z.number().int().nullable().optional(),
    /** Why the call failed (`unknown_tool`, `invalid_arguments`, `path_escape`, `aborted`, …) when `isError`. */
    errorKind: z.string().optional(),
  });

  const TurnCompletedEvent = z.object({
    type: z.literal("turn_completed"),
    ...turn,
    message: z.object({ role: z.literal("assistant"), content: z.array(TranscriptItem) }),
    usage: Usage.optional(),
    /**
     * The model stopped at its output limit (finish reason `length`, `max_tokens`, or a Responses reply
     * `incomplete` for `max_output_tokens`): the answer is probably cut off. Absent when it finished normally (and from older workers).
     */
    outputLimited: z.literal(true).optional(),
    /**
     * The provider's content filter stopped the answer (chat `content_filter`, Anthropic `refusal`, a Responses
     * reply `incomplete` for `content_filter`): what is there is all there is. Absent otherwise (and from older workers).
     */
    contentFiltered: z.literal(true).optional(),
    ...turnEnd,
  });
  const TurnFailedEvent = z.object({
    type: z.literal("turn_failed"),
    ...turn,
    error: TurnError,
    canContinue: z.boolean(),
    ...turnEnd,
    ...unsent,
  });
  const TurnCancelledEvent = z.object({ type: z.literal("turn_cancelled"), ...turn, reason: z.string().optional(), ...turnEnd, ...unsent });
  /** A running turn yielded to a newer user message; the newer message starts the next turn on the same history. */
  const TurnSupersededEvent = z.object({ type: z.literal("turn_superseded"), ...turn, ...turnEnd, ...unsent });
  /**
   * A turn found unfinished when the worker started. `action`: `awaiting_continue` (send `session/continue`
   * or a new message), or `none` when nothing was left to do.
   */
  const TurnRecoveredEvent = z.object({
    type: z.literal("turn_recovered"),
    ...turn,
    action: z.enum(["awaiting_continue", "none"]),
    detail: z.string().optional(),
    ...answered,
  });
  const ControlRejectedEvent = z.object({
    type: z.literal("control_rejected"),
    control: z.enum(["cancel", "continue"]),
    reason: z.string(),
  });
  const RuntimeCrashedEvent = z.object({ type: z.literal("runtime_crashed"), message: z.string() });
  const CompactedEvent = z.object({
    type: z.literal("compacted"),
    summarisedMessages: z.number().int(),
    tokensBefore: z.number().int(),
    tokensAfter: z.number().int(),
  });
  /**
   * How a compaction the host asked for (`session/compact`, the chat's /compact) ended: `compacted` (then as
   * `compacted` says), `skipped` (nothing to summarise) or `failed` (the summary request failed; the history is
   * unchanged). Durable: the chat is told once. A compaction stopped by /cancel or a shutdown sends none.
   */
  const ManualCompactionEvent = z.object({
    type: z.literal("manual_compaction"),
    outcome: z.enum(["compacted", "skipped", "failed"]),
    summarisedMessages: z.number().int().nonnegative(),
    tokensBefore: z.number().int().nonnegative(),
    tokensAfter: z.number().int().nonnegative(),
    reason: z.string().optional(),
  });

  const SessionEvent = z.discriminatedUnion("type", [
    TurnStartedEvent,
    ProgressEvent,
    AssistantDeltaEvent,
    ToolStartedEvent,
    ToolFinishedEvent,
    TurnCompletedEvent,
    TurnFailedEvent,
    TurnCancelledEvent,
    TurnSupersededEvent,
    TurnRecoveredEvent,
    ControlRejectedEvent,
    RuntimeCrashedEvent,
    CompactedEvent,
    ManualCompactionEvent,
  ]);

  /** `seq` ≥ 1 for session events; 0 only for `runtime_crashed`, sent out of band when the store may be unusable (never acknowledged). */
  const SessionEventParams = z.object({ seq: z.number().int().nonnegative(), event: SessionEvent });

  return { SessionEvent, SessionEventParams };
});
type Schemas = ReturnType<typeof schemas>;
const pick = <K extends keyof Schemas>(name: K): Schemas[K] => schemas()[name];

export const SessionEvent = /* @__PURE__ */ pick("SessionEvent");
/** `seq` ≥ 1 for session events; 0 only for `runtime_crashed`, sent out of band when the store may be unusable (never acknowledged). */
export const SessionEventParams = /* @__PURE__ */ pick("SessionEventParams");

export type SessionEvent = z.infer<typeof SessionEvent>;
export type SessionEventType = SessionEvent["type"];
export type SessionEventOf<T extends SessionEventType> = Extract<SessionEvent, { type: T }>;
export type SessionEventParams = z.infer<typeof SessionEventParams>;
/** The schema of `session/event` params, built on first use (methods.ts). */
export const sessionEventParams = (): Schemas["SessionEventParams"] => schemas().SessionEventParams;

/**
 * Events the host must act on for delivery. They stay in the worker's durable outbox until
 * `session/ackEvents` covers their seq and are re-sent with the same seq after a restart.
 */
export const DURABLE_EVENT_TYPES = [
  "turn_completed",
  "turn_failed",
  "turn_cancelled",
  "turn_superseded",
  "turn_recovered",
  "manual_compaction",
] as const satisfies readonly SessionEventType[];

export function isDurableEvent(event: SessionEvent): boolean {
  return (DURABLE_EVENT_TYPES as readonly string[]).includes(event.type);
}
