import { type FileHandle, open, stat } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import type { FileItem } from "@starling/protocol";

/** Files larger than this are never read into a request (images, PDFs, audio). */
export const MAX_MEDIA_BYTES = 20 * 1024 * 1024;

/** A media problem the normaliser reports to the model as a crashed-file note. */
export class MediaError extends Error {
  override readonly name = "MediaError";
}

/**
 * Opens a `file://` item's path for reading. A session passes its workspace's checked open
 * (WorkspacePaths.open): the path is read again before every model call, and a tool process may have
 * swapped a folder on it for a symlink out of the workspace since the file was attached.
 */
export type FileOpener = (abs: string) => Promise<FileHandle>;

const openPlain: FileOpener = (abs) => open(abs, "r");

/** The bytes of a `data:` or `file://` item (other schemes cannot be read locally). */
export async function readMediaBytes(file: FileItem, openFile: FileOpener = openPlain): Promise<Buffer> {
  const data = /^data:[^,]*?;base64,(.*)$/is.exec(file.uri);
  if (data) return Buffer.from(data[1] ?? "", "base64");
  if (!file.uri.startsWith("file:")) throw new MediaError(`cannot read ${file.uri.split(":")[0]}: URIs; only file:// and data: files can be sent inline`);
  const path = fileURLToPath(file.uri);
  let handle: FileHandle;
  try {
    handle = await openFile(path);
  } catch (error) {
    const code = (error as { code?: unknown } | null)?.code;
    if (code === "ENOENT") throw new MediaError(`the file does not exist any more (${path})`);
    throw new MediaError(`the file could not be opened (${error instanceof Error ? error.message : String(error)})`);
  }
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw new MediaError(`not a regular file (${path})`);
    if (info.size > MAX_MEDIA_BYTES) throw new MediaError(`the file is ${info.size} bytes, more than the ${MAX_MEDIA_BYTES}-byte limit for direct input`);
    return await handle.readFile();
  } finally {
    await handle.close();
  }
}

/** Identity of a file's current content for caching: size + mtime for files, length + edges for data URLs. */
export async function contentKey(file: FileItem): Promise<string> {
  if (file.uri.startsWith("file:")) {
    const info = await stat(fileURLToPath(file.uri)).catch(() => null);
    return info ? `${file.uri}|${info.size}|${info.mtimeMs}` : `${file.uri}|missing`;
  }
  return uriKey(file);
}

/** A short key for a file's URI: a data: URL by its length and ends (it may be megabytes long), others as they are. */
export function uriKey(file: FileItem): string {
  if (file.uri.startsWith("data:")) return `data|${file.uri.length}|${file.uri.slice(0, 64)}|${file.uri.slice(-64)}`;
  return file.uri;
}

/** `application/pdf` when the bytes start with `%PDF-`. */
export function isPdf(bytes: Uint8Array): boolean {
  return Buffer.from(bytes.subarray(0, 5)).toString("latin1") === "%PDF-";
}

/** Audio container by signature (reference §2.5): mpeg, flac, ogg, wav, mp4; null when unknown. */
export function sniffAudio(bytes: Uint8Array): string | null {
  const head = Buffer.from(bytes.subarray(0, 12));
  const ascii = head.toString("latin1");
  if (ascii.startsWith("ID3") || (head[0] === 0xff && ((head[1] ?? 0) & 0xe0) === 0xe0)) return "audio/mpeg";
  if (ascii.startsWith("fLaC")) return "audio/flac";
  if (ascii.startsWith("OggS")) return "audio/ogg";
  if (ascii.startsWith("RIFF") && ascii.slice(8, 12) === "WAVE") return "audio/wav";
  if (ascii.slice(4, 8) === "ftyp") return "audio/mp4";
  return null;
}

/** Image format by signature: png, jpeg, gif, webp, bmp, tiff; null when unknown. */
export function sniffImage(bytes: Uint8Array): string | null {
  const head = Buffer.from(bytes.subarray(0, 12));
  const ascii = head.toString("latin1");
  if (head[0] === 0x89 && ascii.slice(1, 4) === "PNG") return "image/png";
  if (head[0] === 0xff && head[1] === 0xd8 && head[2] === 0xff) return "image/jpeg";
  if (ascii.startsWith("GIF8")) return "image/gif";
  if (ascii.startsWith("RIFF") && ascii.slice(8, 12) === "WEBP") return "image/webp";
  if (ascii.startsWith("BM")) return "image/bmp";
  if (ascii.startsWith("II*\0") || ascii.startsWith("MM\0*")) return "image/tiff";
  return null;
}

export function toDataUrl(mediaType: string, bytes: Uint8Array): string {
  return `data:${mediaType};base64,${Buffer.from(bytes).toString("base64")}`;
}
