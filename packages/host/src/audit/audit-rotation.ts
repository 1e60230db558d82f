import { existsSync, readdirSync, renameSync, unlinkSync } from "node:fs";
import { basename, dirname, join } from "node:path";

/**
 * Rotated audit files of a conversation: `<conversation>.<UTC time>.jsonl` beside the live
 * `<conversation>.jsonl` (the time sorts as text; conversation ids never contain such a suffix).
 */
const ROTATED = /^(.+)\.(\d{8}T\d{6}(?:\d{3})?Z)\.jsonl$/;

/** The conversation a file in the audit folder belongs to (live or rotated), or null. */
export function auditConversationOf(fileName: string): string | null {
  const rotated = ROTATED.exec(fileName);
  if (rotated) return rotated[1]!;
  return fileName.endsWith(".jsonl") ? fileName.slice(0, -".jsonl".length) : null;
}

/**
 * Moves the live file aside under its rotation time and deletes the oldest rotated files beyond
 * `keep`. The next record starts a new live file.
 */
export function rotateAuditFile(livePath: string, keep: number): void {
  const dir = dirname(livePath);
  const conversation = basename(livePath, ".jsonl");
  let at = Date.now();
  const target = () => join(dir, `${conversation}.${new Date(at).toISOString().replace(/[-:]/g, "").replace(".", "")}.jsonl`);
  while (existsSync(target())) at++; // two rotations within a millisecond keep both files
  renameSync(livePath, target());
  const rotated = readdirSync(dir)
    .filter((name) => ROTATED.exec(name)?.[1] === conversation)
    .sort();
  for (const name of rotated.slice(0, Math.max(0, rotated.length - keep))) unlinkSync(join(dir, name));
}
