import { lstatSync, readlinkSync } from "node:fs";
import { ConfinedDir } from "@starling/protocol";
import { changedSinceCheck, PATH_SWAPPED } from "../attachments.js";
import { HttpError } from "./http-error.js";

/** One entry of a workspace folder as the web API lists it. */
export interface ListedEntry {
  name: string;
  type: "dir" | "file" | "other";
  size?: number;
}

/**
 * The entries of the checked folder `dir` (its real path, inside the workspace; `path` as the client named it);
 * `atRoot` leaves `.starling` out. A tool process can swap the folder, or one above it, for a link after the check:
 * the folder is opened without following a final link and must still be `dir` (`/proc/self/fd/N`), else the
 * request fails with 409 "changed"; names and sizes are read through that descriptor, never by following a link.
 */
export async function listWorkspaceFolder(dir: string, atRoot: boolean, path: string): Promise<ListedEntry[]> {
  const folder = openChecked(dir, path);
  try {
    const entries = await folder.list();
    return entries
      .filter((e) => !(atRoot && e.name === ".starling"))
      .map((e) => {
        if (!e.isFile()) return { name: e.name, type: e.isDirectory() ? "dir" : "other" };
        // Not followed: a file swapped for a link since the listing shows no size, never its target's.
        const info = lstatSync(folder.entry(e.name), { throwIfNoEntry: false });
        return info?.isFile() ? { name: e.name, type: "file", size: info.size } : { name: e.name, type: "other" };
      });
  } finally {
    folder.close();
  }
}

function openChecked(dir: string, path: string): ConfinedDir {
  let folder: ConfinedDir;
  try {
    folder = ConfinedDir.open(dir, dir);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== "ELOOP" && code !== "ENOTDIR" && code !== "ENOENT") throw error;
    throw changedHttpError(path, changedSinceCheck(error));
  }
  if (folder.procPath !== null && readlinkSync(folder.procPath) !== dir) {
    folder.close();
    throw changedHttpError(path, new Error(PATH_SWAPPED));
  }
  return folder;
}

/** 409 `changed`: the checked `path` is not what was checked any more (`why` says how); the client may try again. */
export function changedHttpError(path: string, why: unknown): HttpError {
  return new HttpError(409, "changed", `"${path}": ${why instanceof Error ? why.message : String(why)}; try again`, "path");
}
