import { fileURLToPath } from "node:url";
import type { FileItem, TranscriptItem, TranscriptMessage } from "@starling/protocol";
import { mediaKind, mediaTypeOf } from "../providers/file-parts.js";
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

/** What one request may carry: `bytes` of inlined files in all, and at most `images` images (inlined or by URL). */
export interface RequestMediaCap {
  bytes: number;
  images: number;
}

/**
 * Keeps the files of the newest messages within `cap` (inlined bytes, and images counted whatever their
 * transport), and puts a note in place of each older one that does not fit any more: a conversation full
 * of images stays under the provider's request size and image count, and the model learns which file is
 * missing and how to see it again. Files sent by URL take no bytes.
 */
export function capInlinedMedia(normalized: readonly NormalizedMessage[], cap: RequestMediaCap = { bytes: MAX_REQUEST_MEDIA_BYTES, images: Infinity }): TranscriptMessage[] {
  let bytesLeft = cap.bytes;
  let imagesLeft = cap.images;
  const out: TranscriptMessage[] = [];
  for (let m = normalized.length - 1; m >= 0; m--) {
    const { message, sources } = normalized[m]!;
    let content: TranscriptItem[] | undefined;
    for (let i = message.content.length - 1; i >= 0; i--) {
      const item = message.content[i]!;
      const bytes = inlinedBytes(item);
      const image = isImage(item);
      if (bytes === 0 && !image) continue;
      const reason = image && imagesLeft === 0 ? tooManyImages(cap.images) : bytes > bytesLeft ? tooManyBytes(bytes, cap.bytes) : undefined;
      if (reason === undefined) {
        bytesLeft -= bytes;
        if (image) imagesLeft--;
        continue;
      }
      content ??= [...message.content];
      content[i] = { type: "text", text: leftOutNote(sources[i] ?? (item as FileItem), reason) };
    }
    out.push(content ? { ...message, content } : message);
  }
  return out.reverse();
}

function isImage(item: TranscriptItem): boolean {
  return item.type === "file" && mediaKind(mediaTypeOf(item)) === "image";
}

const tooManyBytes = (bytes: number, cap: number): string =>
  `files inlined into one request are limited to ${Math.round(cap / (1024 * 1024))} MB and newer ones took the room (this one is ${(bytes / (1024 * 1024)).toFixed(1)} MB)`;
const tooManyImages = (cap: number): string => `the model's provider takes at most ${cap} images in one request and newer ones took the room`;

/** The decoded size of an item's data URL; 0 for anything not inlined. */
function inlinedBytes(item: TranscriptItem): number {
  if (item.type !== "file" || !item.uri.startsWith("data:")) return 0;
  const base64 = item.uri.slice(item.uri.indexOf(",") + 1);
  return Math.floor((base64.length * 3) / 4);
}

function leftOutNote(file: FileItem, reason: string): string {
  const where = file.uri.startsWith("file:") ? `path: ${fileURLToPath(file.uri)}` : file.uri.startsWith("data:") ? "uri: (inline data)" : `uri: ${file.uri}`;
  const again = file.uri.startsWith("file:") ? "; load it again (image_load, pdf_load, audio_load) to look at it in a later step" : "";
  return [
    LEFT_OUT_HEADER,
    where,
    `name: ${file.name ?? "<unknown>"}`,
    `media_type: ${file.mediaType ?? "<unknown>"}`,
    `reason: ${reason}${again}`,
  ].join("\n");
}
