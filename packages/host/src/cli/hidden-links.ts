import { hiddenEntries, linkedFilesUnder, MAX_HIDDEN_FOLDER_ENTRIES } from "@starling/protocol";
import type { Check } from "./doctor.js";

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
  const budget = { left: MAX_HIDDEN_FOLDER_ENTRIES };
  for (const entry of hiddenEntries(paths)) {
    if (entry.kind === "file") {
      if (entry.nlink > 1) linked.push({ path: entry.real, others: entry.nlink - 1 });
    } else {
      for (const file of linkedFilesUnder(entry.real, budget)) linked.push({ path: file.path, others: file.nlink - 1 });
    }
  }
  if (linked.length === 0) return null;
  return {
    name: "hidden files",
    status: "warn",
    detail:
      `${firstTen(linked.map((l) => `${l.path} has ${l.others} other link${l.others === 1 ? "" : "s"}`))}: ` +
      "a link under a folder tools can read is not masked (bubblewrap masks by path; shell commands can read the file through it)",
    next: `find each link (find / -xdev -samefile ${linked[0]!.path}) and remove the ones under the workspace, shared/, software_dir or /etc, or list them in sandbox.hidden_paths`,
  };
}

/** The first ten of `items`, joined with "; ", and how many more. */
export function firstTen(items: readonly string[]): string {
  return `${items.slice(0, 10).join("; ")}${items.length > 10 ? `; and ${items.length - 10} more` : ""}`;
}
