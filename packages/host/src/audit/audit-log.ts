import { appendFileSync, mkdirSync } from "node:fs";
import { dirname } from "node:path";
import type pino from "pino";
import type { Redactor, SessionEvent } from "@starling/protocol";
import { auditLogPath } from "@starling/workdir-migrations";
import type { ConversationRecord } from "../state/records.js";
import { AUDIT_ARGUMENT_CHARS, AUDIT_RESULT_CHARS, type AuditRecord } from "./audit-record.js";

/** Where a session's tools run, as the conversation is set up now. */
export interface AuditTargets {
  conversationId: string;
  /** `subprocess` or `bubblewrap`. */
  sandbox: string;
  /** The conversation's `/remote` setting (fixed: every file tool and shell runs there). */
  remote: { mode: "fixed"; host: string; path: string } | { mode: "selectable" } | null;
}

/** The audit targets of a conversation's sessions (null: unknown session, nothing recorded). */
export function auditTargets(settings: { sandbox: { mode: string } }, conversation: ConversationRecord | undefined): AuditTargets | null {
  if (!conversation) return null;
  return { conversationId: conversation.id, sandbox: conversation.sandboxOverride ?? settings.sandbox.mode, remote: conversation.remote };
}

/** The event types that leave a record (onEvent's cases). */
const AUDITED: ReadonlySet<SessionEvent["type"]> = new Set([
  "turn_started",
  "tool_started",
  "tool_finished",
  "turn_completed",
  "turn_failed",
  "turn_cancelled",
  "turn_superseded",
  "turn_recovered",
]);

/** Tools that start processes (they run in the sandbox, or over SSH); the others run inside the worker. */
const PROCESS_TOOLS = new Set(["shell", "shell_close"]);

/**
 * The host's audit trail (docs/SECURITY.md "Audit log"): one JSON line per turn start, tool start,
 * tool end and turn end, appended (O_APPEND, one write per line) to `DIR/audit/<conversation>.jsonl`.
 * Records are built from the session events the host sees, after it processed them, so they are
 * best effort: tool events are not replayed after a crash (a `tool_started` without its
 * `tool_finished` is a call whose outcome was lost), durable turn endings are written once, when
 * first processed. A failed write is logged and never stops a turn.
 */
export class AuditLog {
  /** Arguments of running calls by session and call id, for the `tool_finished` record. */
  private readonly running = new Map<string, string>();
  /** Each conversation's file, once its folder was made (a folder removed meanwhile is made again on ENOENT). */
  private readonly paths = new Map<string, string>();

  constructor(
    private readonly workdir: string,
    private readonly redactor: Redactor,
    private readonly targetsOf: (sessionId: string) => AuditTargets | null,
    private readonly log: pino.Logger,
  ) {}

  /** Records what `event` means for the audit trail (most events mean nothing). */
  onEvent(sessionId: string, event: SessionEvent): void {
    if (!AUDITED.has(event.type)) return; // text deltas, progress …: looked at before anything else is done
    const targets = this.targetsOf(sessionId);
    if (!targets) return;
    const time = new Date().toISOString();
    const base = { v: 1 as const, time, conversationId: targets.conversationId, sessionId };
    switch (event.type) {
      case "turn_started":
        return this.append({ ...base, type: "turn_started", turnId: event.turnId, messageIds: event.messageIds });
      case "tool_started": {
        const args = this.clean(event.arguments ?? event.summary ?? "", AUDIT_ARGUMENT_CHARS);
        this.running.set(`${sessionId}\n${event.callId}`, args);
        return this.append({ ...base, type: "tool_started", turnId: event.turnId, callId: event.callId, tool: event.toolName, target: targetOf(event.toolName, args, targets), arguments: args });
      }
      case "tool_finished": {
        const key = `${sessionId}\n${event.callId}`;
        const args = this.running.get(key) ?? "";
        this.running.delete(key);
        return this.append({
          ...base,
          type: "tool_finished",
          turnId: event.turnId,
          callId: event.callId,
          tool: event.toolName,
          target: targetOf(event.toolName, args, targets),
          arguments: args,
          result: this.clean(event.resultSummary ?? "", AUDIT_RESULT_CHARS),
          durationMs: event.durationMs,
          isError: event.isError,
          ...(event.exitCode !== undefined ? { exitCode: event.exitCode } : {}),
          ...(event.errorKind ? { errorKind: event.errorKind } : {}),
        });
      }
      case "turn_completed":
        return this.append({ ...base, type: "turn_ended", turnId: event.turnId, outcome: "completed" });
      case "turn_failed":
        return this.append({ ...base, type: "turn_ended", turnId: event.turnId, outcome: "failed", detail: `${event.error.kind}: ${event.error.message}` });
      case "turn_cancelled":
        return this.append({ ...base, type: "turn_ended", turnId: event.turnId, outcome: "cancelled", ...(event.reason ? { detail: event.reason } : {}) });
      case "turn_superseded":
        return this.append({ ...base, type: "turn_ended", turnId: event.turnId, outcome: "superseded" });
      case "turn_recovered":
        return this.append({ ...base, type: "turn_ended", turnId: event.turnId, outcome: "recovered", detail: event.detail ?? event.action });
      default:
        return;
    }
  }

  /** Redacted first, then cut: a cut must not leave part of a secret the redactor no longer recognises. */
  private clean(text: string, max: number): string {
    return bound(this.redactor.redact(text), max);
  }

  private append(record: AuditRecord): void {
    try {
      const line = `${JSON.stringify(this.redactor.redactDeep(record))}\n`;
      const known = this.paths.get(record.conversationId);
      if (known !== undefined) {
        try {
          return appendLine(known, line);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
        }
      }
      const path = auditLogPath(this.workdir, record.conversationId);
      mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
      appendLine(path, line);
      this.paths.set(record.conversationId, path);
    } catch (err) {
      this.log.warn({ conversationId: record.conversationId, error: err instanceof Error ? err.message : String(err) }, "audit record could not be written");
    }
  }
}

/** One write of a whole line with O_APPEND: concurrent lines never interleave; a crash can only tear the last one. */
function appendLine(path: string, line: string): void {
  appendFileSync(path, line, { flag: "a", mode: 0o600 });
}

/** Where a call ran: over SSH (fixed remote, or the `remote` argument of a selectable one), the sandbox, or the worker. */
function targetOf(tool: string, args: string, targets: AuditTargets): string {
  const alias = /"remote"\s*:\s*"([^"]+)"/.exec(args)?.[1];
  if (alias) return `ssh ${alias}`;
  if (targets.remote?.mode === "fixed") return `ssh ${targets.remote.host}:${targets.remote.path}`;
  return PROCESS_TOOLS.has(tool) ? targets.sandbox : "worker";
}

function bound(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)}… [${text.length - max} more characters]`;
}
