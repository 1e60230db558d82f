import { lstatSync, readlinkSync } from "node:fs";
import { ConfinedDir } from "@starling/protocol";
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
    if (code === "ELOOP" || code === "ENOTDIR") throw changed(`"${path}" was changed into a link after it was checked`);
    if (code === "ENOENT") throw changed(`"${path}" was moved or removed after it was checked`);
    throw error;
  }
  if (folder.procPath !== null && readlinkSync(folder.procPath) !== dir) {
    folder.close();
    throw changed(`"${path}": a folder on its path was changed into a link after it was checked`);
  }
  return folder;
}

function changed(what: string): HttpError {
  return new HttpError(409, "changed", `${what}; try again`, "path");
}
