import { readFile, stat } from "node:fs/promises";
import { extname } from "node:path";
import { fileURLToPath } from "node:url";
import type { FileItem } from "@starling/protocol";

/** Header of a file the model gets as a description instead of content. */
export const TEXT_REFERENCE_HEADER = "[File attached as text reference]";
/** Larger files are described, not inlined. */
export const MAX_INLINE_FILE_BYTES = 20 * 1024 * 1024;

const MEDIA_TYPES: Record<string, string> = {
  ".png": "image/png",
  ".jpg": "image/jpeg",
  ".jpeg": "image/jpeg",
  ".gif": "image/gif",
  ".webp": "image/webp",
  ".pdf": "application/pdf",
  ".mp3": "audio/mpeg",
  ".wav": "audio/wav",
  ".m4a": "audio/mp4",
  ".ogg": "audio/ogg",
  ".flac": "audio/flac",
};

export type MediaKind = "image" | "pdf" | "audio" | "other";

/** The media type of a file: its own, else from a data URL, else by extension. */
export function mediaTypeOf(file: FileItem): string | undefined {
  if (file.mediaType) return file.mediaType.toLowerCase();
  const dataType = /^data:([^;,]+)[;,]/i.exec(file.uri)?.[1];
  if (dataType) return dataType.toLowerCase();
  const path = file.uri.split(/[?#]/)[0] ?? file.uri;
  return MEDIA_TYPES[extname(path).toLowerCase()];
}

export function mediaKind(mediaType: string | undefined): MediaKind {
  if (mediaType?.startsWith("image/")) return "image";
  if (mediaType === "application/pdf") return "pdf";
  if (mediaType?.startsWith("audio/")) return "audio";
  return "other";
}

/** A file's bytes for a request: inline base64, a URL the server fetches itself, or why neither. */
export type FileData =
  | { kind: "inline"; mediaType: string; base64: string }
  | { kind: "url"; url: string }
  | { kind: "unavailable"; reason: string };

/** data: URLs are decoded, http(s) passes as a URL, file:// is read (up to MAX_INLINE_FILE_BYTES). */
export async function fileData(file: FileItem, mediaType: string): Promise<FileData> {
  const data = /^data:([^;,]*)((?:;[^;,]*)*?);base64,(.*)$/is.exec(file.uri);
  if (data) return { kind: "inline", mediaType: data[1] || mediaType, base64: data[3] ?? "" };
  if (/^https?:/i.test(file.uri)) return { kind: "url", url: file.uri };
  if (!file.uri.startsWith("file:")) return { kind: "unavailable", reason: "unsupported file URI scheme" };
  try {
    const path = fileURLToPath(file.uri);
    const size = (await stat(path)).size;
    if (size > MAX_INLINE_FILE_BYTES) return { kind: "unavailable", reason: `file too large to inline (${size} bytes)` };
    return { kind: "inline", mediaType, base64: (await readFile(path)).toString("base64") };
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    return { kind: "unavailable", reason: `file could not be read (${typeof code === "string" ? code : "error"})` };
  }
}

export function dataUrl(data: { mediaType: string; base64: string }): string {
  return `data:${data.mediaType};base64,${data.base64}`;
}

export function textReference(file: FileItem, reason: string): string {
  return [
    TEXT_REFERENCE_HEADER,
    `uri: ${file.uri}`,
    `name: ${file.name ?? "<unknown>"}`,
    `media_type: ${file.mediaType ?? "<unknown>"}`,
    `reason: ${reason}`,
  ].join("\n");
}

/** The `[from <name> at <time>]` line that starts a user message with a known sender. */
export function senderHeader(message: { userName?: string | undefined; time: string }): string | undefined {
  return message.userName ? `[from ${message.userName} at ${message.time}]` : undefined;
}
