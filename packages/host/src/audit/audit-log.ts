import { closeSync, fstatSync, mkdirSync, openSync, statSync, writeSync } from "node:fs";
import { rotateAuditFile } from "./audit-rotation.js";
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
 * tool end and turn end, appended (O_APPEND, one write per line) to `DIR/audit/<conversation>.jsonl`
 * through a file kept open (the most recently written OPEN_FILES; a file deleted or moved away is
 * noticed at the next record, which starts a new one).
 * Records are built from the session events the host sees, after it processed them, so they are
 * best effort: tool events are not replayed after a crash (a `tool_started` without its
 * `tool_finished` is a call whose outcome was lost), durable turn endings are written once, when
 * first processed. A failed write is logged and never stops a turn.
 */
export class AuditLog {
  /** Arguments of running calls by session and call id, for the `tool_finished` record. */
  private readonly running = new Map<string, string>();
  /** Open files by conversation, least recently written first. */
  private readonly files = new Map<string, AuditFile>();

  constructor(
    private readonly workdir: string,
    private readonly redactor: Redactor,
    private readonly targetsOf: (sessionId: string) => AuditTargets | null,
    private readonly log: pino.Logger,
    private readonly rotation: AuditRotation = DEFAULT_ROTATION,
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
    const id = record.conversationId;
    try {
      const line = Buffer.from(`${JSON.stringify(this.redactor.redactDeep(record))}\n`);
      let file = this.files.get(id);
      if (file && !file.current()) {
        file.close();
        file = undefined;
      }
      this.files.delete(id);
      file ??= AuditFile.open(auditLogPath(this.workdir, id));
      this.files.set(id, file);
      if (this.files.size > OPEN_FILES) {
        const [oldest, f] = this.files.entries().next().value as [string, AuditFile];
        f.close();
        this.files.delete(oldest);
      }
      file.write(line);
      if (file.size >= this.rotation.maxFileBytes) {
        file.close();
        this.files.delete(id);
        rotateAuditFile(auditLogPath(this.workdir, id), this.rotation.keepRotated);
      }
    } catch (err) {
      this.files.get(id)?.close();
      this.files.delete(id);
      this.log.warn({ conversationId: id, error: err instanceof Error ? err.message : String(err) }, "audit record could not be written");
    }
  }

  /** Closes the open files (at host stop; a later record opens its file again). */
  close(): void {
    for (const file of this.files.values()) file.close();
    this.files.clear();
  }
}

/**
 * Audit files kept open at once (each holds one fd). Above the number of conversations busy at once: with
 * more of them in turn than files kept open, every record reopens its file (mkdir, open, fstat and the
 * close of another; docs/PERFORMANCE.md "Kernel time and helper threads at 100 conversations").
 */
export const OPEN_FILES = 256;

/** When a conversation's audit file is rotated, and how many rotated files of it are kept. */
export interface AuditRotation {
  maxFileBytes: number;
  keepRotated: number;
}

/** 16 MB per file, 4 rotated files kept: at most ~80 MB of audit log per conversation (config `log.audit`'s defaults). */
export const DEFAULT_ROTATION: AuditRotation = { maxFileBytes: 16 * 1024 * 1024, keepRotated: 4 };

/** The rotation config `log.audit` asks for. */
export function auditRotation(config: { max_file_mb: number; keep_files: number }): AuditRotation {
  return { maxFileBytes: Math.max(1, Math.round(config.max_file_mb * 1024 * 1024)), keepRotated: config.keep_files };
}

/** One conversation's audit file, open for appending. */
class AuditFile {
  private constructor(
    private readonly path: string,
    private readonly fd: number,
    private readonly ino: number,
    private readonly dev: number,
    /** Bytes in the file (its size at open plus what this process appended). */
    public size: number,
  ) {}

  /** Opens (creating the folder and the file as needed) with O_APPEND. */
  static open(path: string): AuditFile {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    const fd = openSync(path, "a", 0o600);
    const st = fstatSync(fd);
    return new AuditFile(path, fd, st.ino, st.dev, st.size);
  }

  /** The path still names this file (not deleted, moved away or replaced by hand). */
  current(): boolean {
    const st = statSync(this.path, { throwIfNoEntry: false });
    return st !== undefined && st.ino === this.ino && st.dev === this.dev;
  }

  /** One write of a whole line with O_APPEND: concurrent lines never interleave; a crash can only tear the last one. */
  write(line: Buffer): void {
    let done = 0;
    while (done < line.length) done += writeSync(this.fd, line, done);
    this.size += line.length;
  }

  close(): void {
    try {
      closeSync(this.fd);
    } catch {
      // already closed
    }
  }
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
