import { mkdirSync, statSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { FolderError } from "./errors.js";

/**
 * Creates `dir` and its missing parents one at a time, naming what stands in the way. Node's
 * recursive mkdir reports a file in the path as a bare `ENOTDIR … mkdir` and a read-only parent as
 * `ENOENT`, and under /proc (where mkdir answers ENOENT) it retries forever at full CPU. Returns
 * whether `dir` was created.
 */
export function makeFolder(dir: string): boolean {
  const missing: string[] = [];
  for (let at = resolve(dir); ; at = dirname(at)) {
    const found = existing(at);
    if (found === "folder") break;
    if (found === "other") throw new FolderError(dir, `${at} is a file, not a folder`);
    missing.unshift(at);
    if (dirname(at) === at) break;
  }
  for (const folder of missing) {
    try {
      mkdirSync(folder);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "EEXIST" && existing(folder) === "folder") continue;
      throw new FolderError(dir, `cannot create ${folder}: ${why(code, dirname(folder), err)}`);
    }
  }
  return missing.length > 0;
}

function existing(path: string): "folder" | "other" | "none" {
  try {
    return statSync(path).isDirectory() ? "folder" : "other";
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // ENOTDIR: a parent is a file; the walk upwards reaches it and names it.
    if (code === "ENOENT" || code === "ENOTDIR") return "none";
    throw new FolderError(path, `cannot look at ${path}: ${(err as Error).message}`);
  }
}

function why(code: string | undefined, parent: string, err: unknown): string {
  switch (code) {
    case "EROFS":
      return "read-only file system";
    case "EACCES":
    case "EPERM":
      return `permission denied (${parent} is not writable for this user)`;
    case "ENOSPC":
      return "no space left on device";
    case "ENOENT":
      // The parent is there, yet mkdir says it is not: a virtual file system such as /proc or /sys.
      return `${parent} takes no new folders (a virtual file system such as /proc or /sys?)`;
    default:
      return (err as Error).message;
  }
}
