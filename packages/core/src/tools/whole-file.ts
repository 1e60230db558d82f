import { ToolError } from "./errors.js";
import type { ResolvedPath, WorkspacePaths } from "./workspace-paths.js";

/**
 * Largest file the file tools hold whole in memory: `edit` and `apply_patch` refuse a bigger one (locally
 * and over ssh), `file_read` reads a bigger one in a streamed window instead.
 */
export const WHOLE_FILE_BYTES = 8 * 1024 * 1024;

/** Why `edit`/`apply_patch` leave a file alone; `size` may be a placeholder the remote helper fills in. */
export function tooLargeToEdit(display: string, size: number | string, remoteAlias?: string): string {
  return (
    `${display} is ${size} bytes; edit and apply_patch${remoteAlias ? " over ssh" : ""} take files up to ${WHOLE_FILE_BYTES / 1024 / 1024} MB (${WHOLE_FILE_BYTES} bytes). ` +
    `Nothing was changed. To change it, use shell${remoteAlias ? ` on ${remoteAlias}` : ""} (e.g. sed -i, or patch with the diff); file_read with offset and limit reads any part of it.`
  );
}

/**
 * The text of a local file for `edit`/`apply_patch`, read through a checked descriptor whose size is
 * checked first: a file over WHOLE_FILE_BYTES (a 2 GB log) is refused before a byte of it is read.
 */
export async function readForEdit(paths: WorkspacePaths, target: ResolvedPath): Promise<string> {
  const handle = await paths.open(target.abs, "r");
  try {
    const { size } = await handle.stat();
    if (size > WHOLE_FILE_BYTES) throw new ToolError("failed", tooLargeToEdit(target.display, size));
    return (await handle.readFile()).toString("utf8");
  } finally {
    await handle.close();
  }
}
