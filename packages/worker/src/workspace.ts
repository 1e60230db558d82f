import { statSync } from "node:fs";

/**
 * Changes into `initialize`'s workspace, or says why it cannot be used. A missing workspace is refused,
 * not created: a mistyped path would otherwise start a fresh, empty session in the wrong place. The
 * worker makes only its session folder inside the workspace (the Starling host makes the workspace
 * before it starts a worker).
 */
export function enterWorkspace(workspace: string): string | null {
  let isFolder: boolean;
  try {
    isFolder = statSync(workspace).isDirectory();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") return `workspace ${workspace} does not exist; create it first (the worker makes only the session folder inside it)`;
    return `cannot look at workspace ${workspace}: ${(err as Error).message}`;
  }
  if (!isFolder) return `workspace ${workspace} is a file, not a folder`;
  try {
    process.chdir(workspace);
  } catch (err) {
    return `cannot enter workspace ${workspace}: ${(err as Error).message}`;
  }
  return null;
}
