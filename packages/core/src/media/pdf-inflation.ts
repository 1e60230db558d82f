import { constants, inflateSync } from "node:zlib";
import { lzwDecode, lzwDecodedSize } from "./lzw.js";
import { MediaError } from "./media-bytes.js";

/**
 * Most bytes a PDF's Flate and LZW streams (other than images) may decode to before its text is extracted.
 * pdf.js inflates a content stream whole, in memory and without a limit: a 1 MB file inflating to
 * 1 GB took 2.1 GB of memory and 16 s, and the 20 MB a file may have would take the worker down.
 */
export const MAX_PDF_INFLATED_BYTES = 128 * 1024 * 1024;

/**
 * Decodes each Flate and LZW stream of a PDF (chained filters in their order) within one shared budget
 * and throws a MediaError naming the bomb when it runs out. Image streams are skipped: text extraction
 * does not decode them. A stream that fails to decode, or the rest of a chain after a filter not decoded
 * here, is left to pdf.js (it reports or repairs them). Not covered: a stream whose /Length is an
 * indirect reference and whose data contains the bytes "endstream" (cut short here); see docs/SECURITY.md.
 */
export function checkPdfInflation(bytes: Buffer, budget = MAX_PDF_INFLATED_BYTES): void {
  let used = 0;
  let from = 0;
  for (;;) {
    const keyword = bytes.indexOf("stream", from, "latin1");
    if (keyword < 0) return;
    from = keyword + 6;
    if (bytes.toString("latin1", keyword - 3, keyword) === "end") continue;
    let start = from;
    if (bytes[start] === 0x0d) start++;
    if (bytes[start] === 0x0a) start++;
    const dict = bytes.toString("latin1", Math.max(0, bytes.lastIndexOf("obj", keyword, "latin1")), keyword);
    const length = /\/Length\s+(\d+)(?!\s+\d+\s+R)/.exec(dict);
    const declaredEnd = length ? start + Number(length[1]) : -1;
    const end = declaredEnd > start && declaredEnd <= bytes.length ? declaredEnd : bytes.indexOf("endstream", start, "latin1");
    if (end < 0) return;
    from = end;
    if (/\/Subtype\s*\/Image\b/.test(dict)) continue;
    const earlyChange = /\/EarlyChange\s+0\b/.test(dict) ? 0 : 1;
    let data: Buffer = bytes.subarray(start, end);
    const filters = filtersOf(dict);
    for (const [i, filter] of filters.entries()) {
      const left = Math.max(1, budget - used);
      // The last LZW layer is only measured: nothing decodes its output here.
      const decoded = filter === "flate" ? inflated(data, left) : i === filters.length - 1 ? lzwDecodedSize(data, earlyChange, left) : lzwDecode(data, earlyChange, left);
      if (decoded === null) throw new MediaError(`its compressed streams expand to more than ${budget / 1024 / 1024} MB (a decompression bomb?); it was not read`);
      if (decoded === undefined) break;
      if (typeof decoded === "number") {
        used += decoded;
        break;
      }
      used += decoded.length;
      data = decoded;
    }
  }
}

/** The stream's leading Flate and LZW filters, in order, up to the first other one. */
function filtersOf(dict: string): ("flate" | "lzw")[] {
  const entry = /\/Filter\s*(\[[^\]]*\]|\/[^\s/[\]<>()]+)/.exec(dict)?.[1] ?? "";
  const out: ("flate" | "lzw")[] = [];
  for (const name of entry.match(/\/[^\s/[\]<>()]+/g) ?? []) {
    const filter = name === "/FlateDecode" || name === "/Fl" ? "flate" : name === "/LZWDecode" || name === "/LZW" ? "lzw" : undefined;
    if (!filter) break;
    out.push(filter);
  }
  return out;
}

/** The inflated data; null past `maxBytes`; undefined when it does not inflate (left to pdf.js). */
function inflated(data: Buffer, maxBytes: number): Buffer | null | undefined {
  try {
    return inflateSync(data, { maxOutputLength: maxBytes, finishFlush: constants.Z_SYNC_FLUSH });
  } catch (error) {
    return (error as { code?: unknown }).code === "ERR_BUFFER_TOO_LARGE" ? null : undefined;
  }
}
