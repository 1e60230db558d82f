import { z } from "zod";

/**
 * One line of `DIR/audit/<conversation id>.jsonl` (docs/SECURITY.md "Audit log"). Every string in a
 * record has been redacted (secret values → `[redacted:NAME]`) and cut before it is written.
 * `target` says where a tool ran: `worker` (file tools, inside the worker process), `subprocess` or
 * `bubblewrap` (tool processes), `ssh <alias>[:<path>]` (remote workspaces).
 */
const base = {
  v: z.literal(1),
  time: z.string(),
  conversationId: z.string(),
  sessionId: z.string(),
};
const turn = { ...base, turnId: z.number().int().nonnegative() };

export const AuditRecord = z.discriminatedUnion("type", [
  z.object({ type: z.literal("turn_started"), ...turn, messageIds: z.array(z.string()) }),
  /** Written when a call starts, so a call whose end was lost (a crash) still shows, with outcome unknown. */
  z.object({
    type: z.literal("tool_started"),
    ...turn,
    callId: z.string(),
    tool: z.string(),
    target: z.string(),
    arguments: z.string(),
  }),
  z.object({
    type: z.literal("tool_finished"),
    ...turn,
    callId: z.string(),
    tool: z.string(),
    target: z.string(),
    arguments: z.string(),
    result: z.string(),
    durationMs: z.number().nonnegative(),
    isError: z.boolean(),
    exitCode: z.number().int().nullable().optional(),
    errorKind: z.string().optional(),
  }),
  z.object({
    type: z.literal("turn_ended"),
    ...turn,
    outcome: z.enum(["completed", "failed", "cancelled", "superseded", "recovered"]),
    detail: z.string().optional(),
  }),
]);
export type AuditRecord = z.infer<typeof AuditRecord>;

/** Longest arguments / result text kept in a record (the worker sends at most about as much). */
export const AUDIT_ARGUMENT_CHARS = 2000;
export const AUDIT_RESULT_CHARS = 1000;
