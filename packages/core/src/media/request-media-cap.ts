import { fileURLToPath } from "node:url";
import type { FileItem, TranscriptItem, TranscriptMessage } from "@starling/protocol";
import { MAX_MEDIA_BYTES } from "./media-bytes.js";

/**
 * Most file bytes inlined into one model request: as much as one file may be (so the newest always
 * fits), and 27 MB once base64-encoded, under the smallest provider request limit (Anthropic's 32 MB).
 */
export const MAX_REQUEST_MEDIA_BYTES = MAX_MEDIA_BYTES;
export const LEFT_OUT_HEADER = "[File left out of this request]";

/** A normalised message and, for each of its items, the file item it came from (when it was one). */
export interface NormalizedMessage {
  message: TranscriptMessage;
  sources: readonly (FileItem | undefined)[];
}

/**
 * Keeps the inlined files (data URLs) of the newest messages, up to `cap` bytes in all, and puts a
 * note in place of each older one that does not fit any more: a conversation full of images stays
 * under the provider's request size, and the model learns which file is missing and how to see it
 * again. Files sent by URL are not counted.
 */
export function capInlinedMedia(normalized: readonly NormalizedMessage[], cap = MAX_REQUEST_MEDIA_BYTES): TranscriptMessage[] {
  let left = cap;
  const out: TranscriptMessage[] = [];
  for (let m = normalized.length - 1; m >= 0; m--) {
    const { message, sources } = normalized[m]!;
    let content: TranscriptItem[] | undefined;
    for (let i = message.content.length - 1; i >= 0; i--) {
      const bytes = inlinedBytes(message.content[i]!);
      if (bytes === 0) continue;
      if (bytes <= left) {
        left -= bytes;
        continue;
      }
      content ??= [...message.content];
      content[i] = { type: "text", text: leftOutNote(sources[i] ?? (message.content[i] as FileItem), bytes, cap) };
    }
    out.push(content ? { ...message, content } : message);
  }
  return out.reverse();
}

/** The decoded size of an item's data URL; 0 for anything not inlined. */
function inlinedBytes(item: TranscriptItem): number {
  if (item.type !== "file" || !item.uri.startsWith("data:")) return 0;
  const base64 = item.uri.slice(item.uri.indexOf(",") + 1);
  return Math.floor((base64.length * 3) / 4);
}

function leftOutNote(file: FileItem, bytes: number, cap: number): string {
  const where = file.uri.startsWith("file:") ? `path: ${fileURLToPath(file.uri)}` : "uri: (inline data)";
  const again = file.uri.startsWith("file:") ? "; load it again (image_load, pdf_load, audio_load) to look at it in a later step" : "";
  return [
    LEFT_OUT_HEADER,
    where,
    `name: ${file.name ?? "<unknown>"}`,
    `media_type: ${file.mediaType ?? "<unknown>"}`,
    `reason: files inlined into one request are limited to ${Math.round(cap / (1024 * 1024))} MB and newer ones took the room (this one is ${(bytes / (1024 * 1024)).toFixed(1)} MB)${again}`,
  ].join("\n");
}
