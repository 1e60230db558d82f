import { constants } from "node:fs";
import { realpath } from "node:fs/promises";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { ConfinedDir, MakeDirsError, type FileItem } from "@starling/protocol";

/** Where generated images are saved, relative to the workspace. */
export const GENERATED_DIR = "generated";

const EXTENSIONS: Readonly<Record<string, string>> = { "image/png": "png", "image/jpeg": "jpg", "image/webp": "webp", "image/gif": "gif" };

/** A timestamp for generated file names (`20261130T235812`), of `at` (now by default). */
export const generatedStamp = (at: Date = new Date()): string => at.toISOString().replace(/[-:]/g, "").replace(/\..*$/, "");

/** A saved image: its file item, its workspace-relative path, and whether this call wrote it (false: an identical file was there). */
export interface SavedImage {
  file: FileItem;
  path: string;
  written: boolean;
}

/**
 * Writes one generated image as `generated/image-<stamp>-<n>.<ext>` in the workspace (the extension from its
 * media type, png when unknown; `-2`, `-3`… added when the name is taken, so an existing file is never
 * overwritten) and returns it as a file item and its workspace-relative path. With `reuse`, a file already
 * at one of those names holding exactly these bytes is returned instead of writing another copy: a step
 * retried after a crash names its images alike and finds the ones it wrote. The worker writes outside any
 * sandbox, so `generated/` is made and the file created through descriptors (ConfinedDir): a `generated`
 * a tool replaced with a link out of the workspace is not followed, the write fails instead.
 */
export async function writeGeneratedImage(
  workspace: string,
  image: { data: Uint8Array; mediaType: string },
  stamp: string,
  n: number,
  { reuse = false }: { reuse?: boolean } = {},
): Promise<SavedImage> {
  const root = await realpath(workspace);
  let dir: ConfinedDir;
  try {
    dir = ConfinedDir.open(root, root).makeDirs([GENERATED_DIR]);
  } catch (error) {
    if (!(error instanceof MakeDirsError)) throw error;
    const code = (error.cause as NodeJS.ErrnoException).code;
    throw new Error(`${GENERATED_DIR}/ in the workspace is a link or not a folder (${code ?? String(error.cause)}); remove it so images can be saved there`);
  }
  try {
    const ext = EXTENSIONS[image.mediaType] ?? "png";
    let name = `image-${stamp}-${n}.${ext}`;
    let written = true;
    for (let k = 2; ; k++) {
      try {
        const handle = await dir.openFile(name, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o644);
        try {
          await handle.writeFile(image.data);
        } finally {
          await handle.close();
        }
        break;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
        if (reuse && (await holds(dir, name, image.data))) {
          written = false;
          break;
        }
        name = `image-${stamp}-${n}-${k}.${ext}`;
      }
    }
    const abs = join(dir.abs, name);
    return { file: { type: "file", uri: pathToFileURL(abs).href, name, mediaType: image.mediaType }, path: `${GENERATED_DIR}/${name}`, written };
  } finally {
    dir.close();
  }
}

/**
 * The images in `generated/` named for `stamp` (`image-<stamp>-<n>[-<k>].<ext>`), in name order: before an
 * answer's images are saved, the ones an earlier attempt at the same answer wrote before it was cut short.
 * Only regular files count (a link is passed over); a missing or unreadable `generated/` has none.
 */
export async function earlierImages(workspace: string, stamp: string): Promise<SavedImage[]> {
  let dir: ConfinedDir;
  try {
    const root = await realpath(workspace);
    dir = ConfinedDir.open(join(root, GENERATED_DIR), join(root, GENERATED_DIR));
  } catch {
    return [];
  }
  try {
    const prefix = `image-${stamp}-`;
    const mediaTypes = new Map(Object.entries(EXTENSIONS).map(([type, ext]) => [ext, type]));
    const found: SavedImage[] = [];
    for (const entry of await dir.list()) {
      const ext = /\.([a-z]+)$/.exec(entry.name)?.[1];
      if (!entry.isFile() || !entry.name.startsWith(prefix) || !ext || !mediaTypes.has(ext)) continue;
      if (!/^\d+(-\d+)?$/.test(entry.name.slice(prefix.length, -ext.length - 1))) continue;
      const path = `${GENERATED_DIR}/${entry.name}`;
      const file: FileItem = { type: "file", uri: pathToFileURL(join(dir.abs, entry.name)).href, name: entry.name, mediaType: mediaTypes.get(ext)! };
      found.push({ file, path, written: false });
    }
    return found.sort((a, b) => a.path.localeCompare(b.path, "en", { numeric: true }));
  } finally {
    dir.close();
  }
}

/** Is `name` in `dir` a regular file (not followed if a link) holding exactly `data`? */
async function holds(dir: ConfinedDir, name: string, data: Uint8Array): Promise<boolean> {
  let handle;
  try {
    handle = await dir.openFile(name, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch {
    return false;
  }
  try {
    const stat = await handle.stat();
    if (!stat.isFile() || stat.size !== data.byteLength) return false;
    return Buffer.from(data).equals(await handle.readFile());
  } finally {
    await handle.close();
  }
}
