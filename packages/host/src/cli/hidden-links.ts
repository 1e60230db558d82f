import { lstatSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { hiddenEntries } from "@starling/protocol";
import type { Check } from "./doctor.js";

/** Entries looked at inside hidden folders (a big folder someone hid is not walked to its end). */
const MAX_FOLDER_ENTRIES = 5000;

interface Linked {
  path: string;
  /** Links to it besides this path. */
  others: number;
}

/**
 * `starling doctor`'s "hidden files" line: the masked files (`paths`: the config and env file,
 * `sandbox.hidden_paths`, the well-known secrets) that other hard links reach. Bubblewrap masks by path,
 * so a link under a folder a tool can read (the workspace, shared/, software_dir, /etc) shows the file;
 * the file tools refuse a link by inode, shell commands do not. Null when there is none.
 */
export function hiddenLinksCheck(paths: readonly string[]): Check | null {
  const linked: Linked[] = [];
  const budget = { left: MAX_FOLDER_ENTRIES };
  for (const entry of hiddenEntries(paths)) {
    if (entry.kind === "file") {
      if (entry.nlink > 1) linked.push({ path: entry.real, others: entry.nlink - 1 });
    } else {
      walk(entry.real, linked, budget);
    }
  }
  if (linked.length === 0) return null;
  const shown = linked.slice(0, 10).map((l) => `${l.path} has ${l.others} other link${l.others === 1 ? "" : "s"}`);
  return {
    name: "hidden files",
    status: "warn",
    detail:
      `${shown.join("; ")}${linked.length > shown.length ? `; and ${linked.length - shown.length} more` : ""}: ` +
      "a link under a folder tools can read is not masked (bubblewrap masks by path; shell commands can read the file through it)",
    next: `find each link (find / -xdev -samefile ${linked[0]!.path}) and remove the ones under the workspace, shared/, software_dir or /etc, or list them in sandbox.hidden_paths`,
  };
}

/** Regular files with more than one link under the hidden folder `dir` (not following symlinks). */
function walk(dir: string, linked: Linked[], budget: { left: number }): void {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    if (--budget.left < 0) return;
    const path = join(dir, name);
    const info = lstatSync(path, { throwIfNoEntry: false });
    if (!info) continue;
    if (info.isDirectory()) walk(path, linked, budget);
    else if (info.isFile() && info.nlink > 1) linked.push({ path, others: info.nlink - 1 });
  }
}
