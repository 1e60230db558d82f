import { existsSync } from "node:fs";
import { formatAuditRecords } from "../audit/audit-format.js";
import { readAuditLogs } from "../audit/audit-reader.js";

export interface AuditCommand {
  workdir: string;
  conversation?: string;
  since?: string;
  json: boolean;
}

const UNITS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `--since`: an ISO time (`2026-05-01T12:00:00Z`, `2026-05-01`) or a duration back from now (`90s`, `30m`, `2h`, `7d`). */
export function parseSince(text: string, now = Date.now()): Date {
  const duration = /^(\d+(?:\.\d+)?)\s*([smhd])$/i.exec(text.trim());
  if (duration) return new Date(now - Number(duration[1]) * UNITS[duration[2]!.toLowerCase()]!);
  if (/^\d{4}-\d{2}-\d{2}/.test(text)) {
    const time = new Date(text);
    if (!Number.isNaN(time.getTime())) return time;
  }
  throw new Error(`--since ${JSON.stringify(text)}: give an ISO time (2026-05-01T12:00:00Z) or a duration such as 30m, 2h or 7d`);
}

/** `starling audit`: prints the audit log readably (or as JSON lines); problems in the files go to stderr. */
export function runAudit(command: AuditCommand, out: (line: string) => void, err: (line: string) => void): number {
  let since: Date | undefined;
  try {
    since = command.since === undefined ? undefined : parseSince(command.since);
  } catch (e) {
    err(`starling: ${(e as Error).message}`);
    return 2;
  }
  if (!existsSync(command.workdir)) {
    err(`starling: audit: no workdir at ${command.workdir} (give the --workdir the host runs with)`);
    return 1;
  }
  const { records, problems } = readAuditLogs(command.workdir, command.conversation);
  for (const problem of problems) err(`starling: audit: ${problem}`);
  const shown = since ? records.filter((r) => new Date(r.time) >= since) : records;
  if (command.json) for (const r of shown) out(JSON.stringify(r));
  else for (const line of formatAuditRecords(shown)) out(line);
  if (!shown.length && !command.json) {
    const which = command.conversation ? `conversation ${command.conversation}` : "any conversation";
    err(`starling: audit: no records for ${which}${since ? ` since ${since.toISOString()}` : ""}`);
  }
  return 0;
}
