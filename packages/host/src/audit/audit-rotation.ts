import { readdirSync, renameSync, unlinkSync } from "node:fs";
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
  const rotatedNames = () =>
    readdirSync(dir)
      .filter((name) => ROTATED.exec(name)?.[1] === conversation)
      .sort();
  // The new name sorts after every rotated file (two rotations within a millisecond, or a clock set
  // back, must not give the newest file an older name: the pruning below would delete it).
  const newest = rotatedNames().at(-1);
  const at = Math.max(Date.now(), newest ? stampMs(ROTATED.exec(newest)![2]!) + 1 : 0);
  renameSync(livePath, join(dir, `${conversation}.${new Date(at).toISOString().replace(/[-:]/g, "").replace(".", "")}.jsonl`));
  const rotated = rotatedNames();
  for (const old of rotated.slice(0, Math.max(0, rotated.length - keep))) unlinkSync(join(dir, old));
}

/** `20261129T113700123Z` (or without the milliseconds) as epoch milliseconds. */
function stampMs(stamp: string): number {
  const m = /^(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)(\d{3})?Z$/.exec(stamp)!;
  return Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]), Number(m[7] ?? 0));
}
