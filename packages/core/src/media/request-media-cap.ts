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

/**
 * A normalised message and, for each of its items, the file item it came from (when it was one) and,
 * for an inlined PDF whose pages the provider counts, its pages.
 */
export interface NormalizedMessage {
  message: TranscriptMessage;
  sources: readonly (FileItem | undefined)[];
  pages?: readonly (number | undefined)[];
}

/**
 * What one request may carry: `bytes` of inlined files in all, and at most `media` images (inlined or by
 * URL) plus, when `pdfPages`, pages of inlined PDFs (Anthropic counts both against one cap) and, when
 * `pdfUrls`, `media` for each PDF given by URL (the provider fetches it; its pages are not known here, and
 * whatever they are, with nothing else it fits or is refused alone).
 */
export interface RequestMediaCap {
  bytes: number;
  media: number;
  pdfPages: boolean;
  pdfUrls?: boolean;
}

/**
 * Keeps the files of the newest messages within `cap` (inlined bytes, and images counted whatever their
 * transport, with PDF pages where counted), and puts a note in place of each older one that does not
 * fit any more: a conversation full of images or PDFs stays under the provider's request size and media
 * count, and the model learns which file is missing and how to see it again. Files sent by URL take no
 * bytes. An older file that fits in what newer ones left is kept.
 */
export function capInlinedMedia(normalized: readonly NormalizedMessage[], cap: RequestMediaCap = { bytes: MAX_REQUEST_MEDIA_BYTES, media: Infinity, pdfPages: false }): TranscriptMessage[] {
  let bytesLeft = cap.bytes;
  let mediaLeft = cap.media;
  const out: TranscriptMessage[] = [];
  for (let m = normalized.length - 1; m >= 0; m--) {
    const { message, sources, pages } = normalized[m]!;
    let content: TranscriptItem[] | undefined;
    for (let i = message.content.length - 1; i >= 0; i--) {
      const item = message.content[i]!;
      const bytes = inlinedBytes(item);
      const byUrl = cap.pdfUrls === true && isPdfUrl(item);
      const pdfPages = byUrl ? cap.media : cap.pdfPages ? (pages?.[i] ?? 0) : 0;
      const media = isImageFile(item) ? 1 : pdfPages;
      if (bytes === 0 && media === 0) continue;
      const reason = media > mediaLeft ? tooMuchMedia(cap, byUrl ? "url" : pdfPages) : bytes > bytesLeft ? tooManyBytes(bytes, cap.bytes) : undefined;
      if (reason === undefined) {
        bytesLeft -= bytes;
        mediaLeft -= media;
        continue;
      }
      content ??= [...message.content];
      content[i] = { type: "text", text: leftOutNote(sources[i] ?? (item as FileItem), reason) };
    }
    out.push(content ? { ...message, content } : message);
  }
  return out.reverse();
}

/** A file item that is an image (what providers count per request). */
export function isImageFile(item: TranscriptItem): boolean {
  return item.type === "file" && mediaKind(mediaTypeOf(item)) === "image";
}

const tooManyBytes = (bytes: number, cap: number): string =>
  `files inlined into one request are limited to ${Math.round(cap / (1024 * 1024))} MB and newer ones took the room (this one is ${(bytes / (1024 * 1024)).toFixed(1)} MB)`;
/** `pdf`: the pages of the PDF left out, or "url" for one given by URL. */
const tooMuchMedia = (cap: RequestMediaCap, pdf: number | "url"): string =>
  cap.pdfPages
    ? `the model's provider takes at most ${cap.media} images and PDF pages in one request and newer ones took the room${
        pdf === "url" ? ` (a PDF given by URL counts as ${cap.media}: its pages are not known before the provider fetches it)` : pdf ? ` (this PDF has ${pdf} pages)` : ""
      }`
    : `the model's provider takes at most ${cap.media} images in one request and newer ones took the room`;

function isPdfUrl(item: TranscriptItem): boolean {
  return item.type === "file" && /^https?:/i.test(item.uri) && mediaKind(mediaTypeOf(item)) === "pdf";
}

/** The decoded size of an item's data URL; 0 for anything not inlined. */
function inlinedBytes(item: TranscriptItem): number {
  if (item.type !== "file" || !item.uri.startsWith("data:")) return 0;
  const base64 = item.uri.slice(item.uri.indexOf(",") + 1);
  return Math.floor((base64.length * 3) / 4);
}

/** The "[File left out …]" note for `file`: where it is, why it was left out, and how to look at it again. */
export function leftOutNote(file: FileItem, reason: string): string {
  const where = file.uri.startsWith("file:") ? `path: ${fileURLToPath(file.uri)}` : file.uri.startsWith("data:") ? "uri: (inline data)" : `uri: ${file.uri}`;
  const again = file.uri.startsWith("file:")
    ? "; load it again (image_load, pdf_load, audio_load) to look at it in a later step"
    : isPdfUrl(file)
      ? "; download it (file_download_start) and load it with pdf_load to have its pages counted"
      : /^https?:/i.test(file.uri) && isImageFile(file)
        ? "; download it (file_download_start) and load it with image_load to look at it"
        : "";
  return [
    LEFT_OUT_HEADER,
    where,
    `name: ${file.name ?? "<unknown>"}`,
    `media_type: ${file.mediaType ?? "<unknown>"}`,
    `reason: ${reason}${again}`,
  ].join("\n");
}
