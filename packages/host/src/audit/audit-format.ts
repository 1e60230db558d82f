import type { AuditRecord } from "./audit-record.js";

const ARGUMENT_CHARS = 80;

/**
 * One readable line per record: time, conversation, session, what (turn or tool), target, status,
 * duration, argument summary. A `tool_started` whose `tool_finished` is in `records` is left out
 * (the finished line says everything); one without is shown with status "outcome unknown".
 */
export function formatAuditRecords(records: readonly AuditRecord[]): string[] {
  const finished = new Set(records.filter((r) => r.type === "tool_finished").map((r) => `${r.sessionId}\n${r.callId}`));
  const lines: string[] = [];
  for (const r of records) {
    if (r.type === "tool_started" && finished.has(`${r.sessionId}\n${r.callId}`)) continue;
    const session = r.sessionId.startsWith(`${r.conversationId}.`) ? r.sessionId.slice(r.conversationId.length + 1) : r.sessionId;
    const head = `${r.time}  ${r.conversationId}  ${session}  turn ${r.turnId}`;
    switch (r.type) {
      case "turn_started":
        lines.push(`${head}  turn started  (${r.messageIds.length} message${r.messageIds.length === 1 ? "" : "s"})`);
        break;
      case "turn_ended":
        lines.push(`${head}  turn ${r.outcome}${r.detail ? `  ${oneLine(r.detail, ARGUMENT_CHARS)}` : ""}`);
        break;
      case "tool_started":
        lines.push(`${head}  ${r.tool}  @${r.target}  outcome unknown (no end recorded)  ${oneLine(r.arguments, ARGUMENT_CHARS)}`);
        break;
      case "tool_finished":
        lines.push(`${head}  ${r.tool}  @${r.target}  ${status(r)}  ${duration(r.durationMs)}  ${oneLine(r.arguments, ARGUMENT_CHARS)}`);
        break;
    }
  }
  return lines;
}

function status(r: Extract<AuditRecord, { type: "tool_finished" }>): string {
  const code = r.exitCode === undefined ? "" : r.exitCode === null ? " (no exit code)" : ` (exit ${r.exitCode})`;
  return `${r.isError ? `error${r.errorKind ? `:${r.errorKind}` : ""}` : "ok"}${code}`;
}

function duration(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)}ms` : `${(ms / 1000).toFixed(1)}s`;
}

function oneLine(text: string, max: number): string {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length <= max ? flat : `${flat.slice(0, max - 1)}…`;
}
