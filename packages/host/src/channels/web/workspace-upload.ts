import { randomBytes } from "node:crypto";
import { constants } from "node:fs";
import type { FileHandle } from "node:fs/promises";
import { rename, rm } from "node:fs/promises";
import { relative, sep } from "node:path";
import type { Readable } from "node:stream";
import { ConfinedDir, MakeDirsError } from "@starling/protocol";
import { HttpError } from "./http-error.js";

export interface Upload {
  /** The real workspace root. */
  root: string;
  /** Where the file goes: inside `root`, already checked (`WebConversations.workspaceFile`). */
  target: string;
  /** The path as the client named it, for messages. */
  path: string;
  body: Readable;
  limit: number;
}

const MB = 1024 * 1024;

/**
 * Writes an upload to disk as its bytes arrive, so the host holds one chunk of it at a time, not the file.
 * They go into a hidden partial file next to the target, renamed into place once complete (the old file,
 * if any, stays as it was until then) and removed when the upload fails: over the limit, the client gone,
 * a disk error. The folders are made and opened one at a time from the workspace root, each through the
 * descriptor of the one above without following a symlink (ConfinedDir): a folder swapped for a symlink
 * after the path was checked is not followed out of the workspace. Returns the file's size.
 */
export async function writeUpload(upload: Upload): Promise<number> {
  const folders = relative(upload.root, upload.target).split(sep);
  const name = folders.pop()!;
  const dir = openFolders(upload.root, folders, upload.path);
  const partName = `.upload-${randomBytes(6).toString("hex")}.part`;
  let file: FileHandle | null = null;
  try {
    file = await dir.openFile(partName, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o644);
    let size = 0;
    // Not destroyed when the loop stops early: over the limit, the 413 still has to reach the client.
    for await (const chunk of upload.body.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > upload.limit) {
        discardRest(upload.body, upload.limit);
        throw uploadTooLarge(upload.limit, `more than ${size} bytes`);
      }
      for (let offset = 0; offset < chunk.length; ) offset += (await file.write(chunk, offset)).bytesWritten;
    }
    await file.close();
    file = null;
    await rename(dir.entry(partName), dir.entry(name)).catch((error: unknown) => {
      if (hasCode(error, "EISDIR", "ENOTEMPTY", "EEXIST")) throw new HttpError(400, "invalid_path", `path: "${upload.path}" is a folder; name a file in it`, "path");
      throw error;
    });
    return size;
  } catch (error) {
    await file?.close();
    await rm(dir.entry(partName), { force: true });
    if (hasCode(error, "ECONNRESET")) {
      throw new HttpError(400, "upload_aborted", "the connection closed before the whole file arrived; nothing was written");
    }
    // The folder held open was removed or replaced meanwhile (a tool process may change the workspace).
    if (hasCode(error, "ENOENT")) throw new HttpError(400, "invalid_path", `path: the folder of "${upload.path}" was moved or removed while the upload was written; nothing was written`, "path");
    throw error;
  } finally {
    dir.close();
  }
}

export function uploadTooLarge(limit: number, got: string): HttpError {
  return new HttpError(413, "too_large", `body: the upload is over the ${limit / MB} MB limit (${got}); send a smaller file, or copy a larger one into the workspace on the host`);
}

/**
 * Over the limit: the rest is read and dropped, so a client still sending gets the 413 (closing with its
 * bytes unread resets the connection, and clients then report a write error instead). One that sends more
 * than `limit` further bytes is cut off.
 */
export function discardRest(body: Readable, limit: number): void {
  let dropped = 0;
  body.on("data", (chunk: Buffer) => {
    dropped += chunk.length;
    if (dropped > limit) body.destroy();
  });
  body.resume();
}

/** The folder `folders` below `root`, made where missing; a file or symlink on the way is a 400 naming it. */
function openFolders(root: string, folders: string[], path: string): ConfinedDir {
  try {
    return ConfinedDir.open(root, root).makeDirs(folders);
  } catch (error) {
    if (!(error instanceof MakeDirsError) || !hasCode(error.cause, "ELOOP", "ENOTDIR", "ENOENT")) throw error instanceof MakeDirsError ? error.cause : error;
    const where = folders.slice(0, error.index + 1).join("/");
    throw new HttpError(400, "invalid_path", `path: "${path}" goes through "${where}", which is not a folder or was changed after the path was checked (a file or a symlink there, or moved); nothing was written`, "path");
  }
}

function hasCode(error: unknown, ...codes: string[]): boolean {
  return error instanceof Error && codes.includes((error as NodeJS.ErrnoException).code ?? "");
}
