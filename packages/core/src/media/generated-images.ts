import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import type { FileItem } from "@starling/protocol";

/** Where generated images are saved, relative to the workspace. */
export const GENERATED_DIR = "generated";

const EXTENSIONS: Readonly<Record<string, string>> = { "image/png": "png", "image/jpeg": "jpg", "image/webp": "webp", "image/gif": "gif" };

/** A timestamp for generated file names (`20261130T235812`). */
export const generatedStamp = (): string => new Date().toISOString().replace(/[-:]/g, "").replace(/\..*$/, "");

/**
 * Writes one generated image as `generated/image-<stamp>-<n>.<ext>` in the workspace (the extension from its
 * media type, png when unknown; `-2`, `-3`… added when the name is taken, so an image of the same second is
 * never overwritten) and returns it as a file item and its workspace-relative path.
 */
export async function writeGeneratedImage(workspace: string, image: { data: Uint8Array; mediaType: string }, stamp: string, n: number): Promise<{ file: FileItem; path: string }> {
  const dir = join(workspace, GENERATED_DIR);
  await mkdir(dir, { recursive: true });
  const ext = EXTENSIONS[image.mediaType] ?? "png";
  let name = `image-${stamp}-${n}.${ext}`;
  for (let k = 2; ; k++) {
    try {
      await writeFile(join(dir, name), image.data, { flag: "wx" });
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      name = `image-${stamp}-${n}-${k}.${ext}`;
    }
  }
  return { file: { type: "file", uri: pathToFileURL(join(dir, name)).href, name, mediaType: image.mediaType }, path: `${GENERATED_DIR}/${name}` };
}
