import { stat } from "node:fs/promises";
import { basename, extname } from "node:path";
import { pathToFileURL } from "node:url";
import type { FileItem } from "@starling/protocol";
import { isPdf, sniffAudio, sniffImage } from "../../media/media-bytes.js";
import type { ToolContext } from "../define-tool.js";
import { ToolError } from "../errors.js";
import { localReadNote } from "../remote/local-note.js";

export type LoadKind = "image" | "pdf" | "audio";

const BY_EXTENSION: Record<string, string> = {
  ".png": "image/png",
  ".jpg": "image/jpeg",
  ".jpeg": "image/jpeg",
  ".webp": "image/webp",
  ".gif": "image/gif",
  ".bmp": "image/bmp",
  ".tif": "image/tiff",
  ".tiff": "image/tiff",
  ".pdf": "application/pdf",
  ".mp3": "audio/mpeg",
  ".wav": "audio/wav",
  ".m4a": "audio/mp4",
  ".ogg": "audio/ogg",
  ".oga": "audio/ogg",
  ".opus": "audio/ogg",
  ".flac": "audio/flac",
};
const FALLBACK: Record<LoadKind, string> = { image: "image/*", pdf: "application/pdf", audio: "audio/*" };

export interface LoadedMedia {
  file: FileItem;
  /** Workspace-relative path. */
  display: string;
  /** Why the content is not a valid file of this kind; null when it is. */
  problem: string | null;
}

/**
 * A workspace file as a media FileItem: the path is confined, must be a regular file, and its first
 * bytes are checked against the kind (the detected type wins over the extension). A mismatch is not
 * thrown: it is reported as `problem` so the tool can say the file is unusable.
 */
export async function loadMediaFile(ctx: ToolContext, path: string, kind: LoadKind): Promise<LoadedMedia> {
  const target = await ctx.paths.resolve(path);
  const info = await stat(target.abs).catch(() => null);
  if (!info?.isFile()) throw new ToolError("not_found", `${kind} path is not a file: ${target.display}${localReadNote(ctx.fixedRemote)}`);
  const head = Buffer.alloc(16);
  // Through a checked descriptor: a folder swapped for a symlink after the path check is not sniffed.
  const handle = await ctx.paths.open(target.abs, "r");
  try {
    await handle.read(head, 0, 16, 0);
  } finally {
    await handle.close();
  }
  const detected = kind === "image" ? sniffImage(head) : kind === "pdf" ? (isPdf(head) ? "application/pdf" : null) : sniffAudio(head);
  const mediaType = detected ?? BY_EXTENSION[extname(target.abs).toLowerCase()] ?? FALLBACK[kind];
  const file: FileItem = { type: "file", uri: pathToFileURL(target.abs).href, name: basename(target.abs), mediaType };
  const problem = detected ? null : `the content is not a${kind === "image" ? "n image in a known format" : kind === "pdf" ? " PDF" : " known audio format"}`;
  return { file, display: target.display, problem };
}
