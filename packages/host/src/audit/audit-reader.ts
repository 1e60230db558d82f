import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { workdirPaths } from "@starling/workdir-migrations";
import { AuditRecord } from "./audit-record.js";
import { auditConversationOf } from "./audit-rotation.js";

export interface AuditReadResult {
  records: AuditRecord[];
  /** Lines that could not be used, each with file and line number and why; never fatal. */
  problems: string[];
}

/**
 * Reads one conversation's audit log, or all of them (every `audit/*.jsonl`, rotated files included), oldest record first. A
 * last line without its newline is a write torn by a crash: it is left out and reported. Any other
 * unreadable line is reported and skipped too.
 */
export function readAuditLogs(workdir: string, conversationId?: string): AuditReadResult {
  const dir = workdirPaths(workdir).audit;
  const out: AuditReadResult = { records: [], problems: [] };
  if (!existsSync(dir)) return out;
  const files = readdirSync(dir)
    .filter((name) => {
      const owner = auditConversationOf(name);
      return owner !== null && (conversationId === undefined || owner === conversationId);
    })
    .sort();
  for (const name of files) readFile(join(dir, name), out);
  out.records.sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : 0));
  return out;
}

function readFile(path: string, out: AuditReadResult): void {
  const text = readFileSync(path, "utf8");
  const lines = text.split("\n");
  const torn = lines.pop() ?? ""; // "" when the file ends with a newline, as every complete write does
  lines.forEach((line, index) => {
    if (!line.trim()) return;
    const record = parse(line);
    if (record) out.records.push(record);
    else out.problems.push(`${path}:${index + 1}: not an audit record; skipped`);
  });
  if (torn.trim()) {
    out.problems.push(`${path}:${lines.length + 1}: the last line is incomplete (a write cut short by a crash); ignored`);
  }
}

function parse(line: string): AuditRecord | null {
  try {
    const parsed = AuditRecord.safeParse(JSON.parse(line));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}
