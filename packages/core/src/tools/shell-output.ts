import { readSync } from "node:fs";
import { headTail, omissionMarker } from "./bounded-text.js";

/** A bounded preview of a slice of a shell output file. */
export interface OutputPreview {
  text: string;
  truncated: boolean;
  /** Byte offset just after what the preview covers (where the next read starts). */
  end: number;
}

/**
 * Reads bytes `[start, end)` of the file open as `fd` as a head + tail preview of at most about `maxChars`
 * characters (plus the marker). Large slices are not read whole: only enough bytes for the head and
 * the tail. With `holdPartial`, an incomplete UTF-8 sequence at the end is left for the next read.
 */
export function previewFile(fd: number, start: number, end: number, maxChars: number, display: string, holdPartial: boolean): OutputPreview {
  const size = end - start;
  if (size <= 0) return { text: "", truncated: false, end: start };
  const budget = Math.max(maxChars * 4, 4096);
  if (size <= budget * 2) {
    const buf = readAt(fd, start, size);
    const usable = holdPartial ? completeUtf8Length(buf) : buf.length;
    const bounded = headTail(buf.subarray(0, usable).toString("utf8"), maxChars, (n) => omissionMarker(n, "characters", display));
    return { text: bounded.text, truncated: bounded.truncated, end: start + usable };
  }
  const headText = readAt(fd, start, budget).toString("utf8").slice(0, Math.ceil(maxChars / 2));
  const tailBuf = readAt(fd, end - budget, budget);
  const usable = holdPartial ? completeUtf8Length(tailBuf) : tailBuf.length;
  const tailFull = tailBuf.subarray(0, usable).toString("utf8").replace(/^\uFFFD+/, "");
  const tailText = maxChars > 0 ? tailFull.slice(-Math.floor(maxChars / 2)) : "";
  const omitted = size - Buffer.byteLength(headText) - Buffer.byteLength(tailText) - (tailBuf.length - usable);
  const marker = omissionMarker(omitted, "bytes", display);
  const text = maxChars > 0 ? `${headText}${headText.endsWith("\n") ? "" : "\n"}${marker}\n${tailText}` : "";
  return { text, truncated: true, end: end - budget + usable };
}

function readAt(fd: number, position: number, length: number): Buffer {
  const buf = Buffer.alloc(length);
  let read = 0;
  while (read < length) {
    const n = readSync(fd, buf, read, length - read, position + read);
    if (n === 0) break;
    read += n;
  }
  return buf.subarray(0, read);
}

/** Length of `buf` without a trailing incomplete UTF-8 sequence. */
export function completeUtf8Length(buf: Buffer): number {
  for (let back = 1; back <= Math.min(4, buf.length); back += 1) {
    const byte = buf[buf.length - back] ?? 0;
    if ((byte & 0xc0) === 0x80) continue; // continuation byte: keep looking for the lead byte
    const needed = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : byte >= 0xc0 ? 2 : 1;
    return needed > back ? buf.length - back : buf.length;
  }
  return buf.length;
}
