import { lstatSync, readdirSync, statSync, type BigIntStats } from "node:fs";
import { join } from "node:path";
import { SKILL_DIR } from "./skill-scan.js";

/**
 * Files whose timestamps are this close to the stamp's own time may still change within the same
 * timestamp tick (the kernel's coarse clock) without their stats showing it ("racy git"): such a stamp
 * is never trusted, so the next turn reads the skills again.
 */
const RACY_MS = 1000n;

/**
 * What the skills folder looks like to `stat`, without reading any SKILL.md: the folder, each entry
 * in it (or each of `names`: the folder's own stat shows entries added, removed or renamed) and each entry's SKILL.md (followed and not: a retargeted link shows), by inode, size,
 * mtime and ctime in nanoseconds. A skill added, removed, renamed or edited (in place, by rename, by
 * chmod) changes the stamp; null when it cannot be trusted (a file changed within RACY_MS of now, or
 * a stat failed with anything but "not found").
 *
 * Synchronous on purpose: it runs once per turn in place of a `readdir` and its thread-pool round
 * trip, and an unchanged folder with no skills costs one `stat`.
 */
export function skillStamp(root: string, nowMs = Date.now(), names?: readonly string[]): string | null {
  const dir = join(root, SKILL_DIR);
  try {
    const parts: string[] = [];
    const limit = BigInt(nowMs) - RACY_MS;
    const add = (stats: BigIntStats | undefined): boolean => {
      if (!stats) {
        parts.push("-");
        return true;
      }
      if (stats.mtimeMs >= limit || stats.ctimeMs >= limit) return false;
      parts.push(`${stats.dev}:${stats.ino}:${stats.size}:${stats.mode}:${stats.mtimeNs}:${stats.ctimeNs}`);
      return true;
    };
    if (!add(statSync(dir, { bigint: true, throwIfNoEntry: false }))) return null;
    if (parts[0] === "-") return parts[0];
    for (const name of names ?? readdirSync(dir).sort()) {
      const entry = join(dir, name);
      const file = join(entry, "SKILL.md");
      parts.push(name);
      if (!add(statSync(entry, { bigint: true, throwIfNoEntry: false }))) return null;
      if (!add(lstatSync(file, { bigint: true, throwIfNoEntry: false }))) return null;
      if (!add(statSync(file, { bigint: true, throwIfNoEntry: false }))) return null;
    }
    return parts.join("\n");
  } catch {
    return null;
  }
}
