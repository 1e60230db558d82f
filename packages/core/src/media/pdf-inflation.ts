import { constants, inflateSync } from "node:zlib";
import { lzwDecode, lzwDecodedSize } from "./lzw.js";
import { ascii85Decode, asciiHexDecode, runLengthDecode, runLengthDecodedSize } from "./pdf-filters.js";
import { MediaError } from "./media-bytes.js";

/**
 * Most bytes a PDF's streams (other than images) may decode to before its text is extracted.
 * pdf.js inflates a content stream whole, in memory and without a limit: a 1 MB file inflating to
 * 1 GB took 2.1 GB of memory and 16 s, and the 20 MB a file may have would take the worker down.
 */
export const MAX_PDF_INFLATED_BYTES = 128 * 1024 * 1024;

/**
 * Decodes each stream of a PDF as pdf.js would for its text (Flate, LZW, ASCIIHex, ASCII85, RunLength,
 * chained in their order) within one shared budget, and throws a MediaError naming the bomb when it runs
 * out. Image streams are skipped: text extraction does not decode them. A stream that fails to decode, or
 * the rest of a chain after a filter not decoded here, is left to pdf.js (it reports or repairs them).
 * Not covered: a stream whose /Length is an indirect reference and whose data contains the bytes
 * "endstream" (cut short here); see docs/SECURITY.md.
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
    const filters = filtersOf(dict);
    let data: Buffer = bytes.subarray(start, end);
    for (const [i, filter] of filters.entries()) {
      const left = Math.max(1, budget - used);
      // A last layer that can be measured is not written: nothing decodes its output here.
      const measure = i === filters.length - 1 ? MEASURES[filter] : undefined;
      const decoded = measure ? measure(data, left, earlyChange) : DECODERS[filter](data, left, earlyChange);
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

type Filter = "flate" | "lzw" | "hex" | "a85" | "rl";
const FILTER_NAMES: Record<string, Filter> = {
  "/FlateDecode": "flate",
  "/Fl": "flate",
  "/LZWDecode": "lzw",
  "/LZW": "lzw",
  "/ASCIIHexDecode": "hex",
  "/AHx": "hex",
  "/ASCII85Decode": "a85",
  "/A85": "a85",
  "/RunLengthDecode": "rl",
  "/RL": "rl",
};

/** A filter's output within `maxBytes`: null past it, undefined when the data does not decode (left to pdf.js). */
const DECODERS: Record<Filter, (data: Buffer, maxBytes: number, earlyChange: number) => Buffer | null | undefined> = {
  flate: (data, maxBytes) => inflated(data, maxBytes),
  lzw: (data, maxBytes, earlyChange) => lzwDecode(data, earlyChange, maxBytes),
  hex: asciiHexDecode,
  a85: ascii85Decode,
  rl: runLengthDecode,
};

/** The size a filter's output would have, without writing it (null past `maxBytes`): the filters whose bombs repeat bytes. */
const MEASURES: Partial<Record<Filter, (data: Buffer, maxBytes: number, earlyChange: number) => number | null>> = {
  lzw: (data, maxBytes, earlyChange) => lzwDecodedSize(data, earlyChange, maxBytes),
  rl: runLengthDecodedSize,
};

/** The stream's filters, in order, up to the first one not decoded here (DCT, JBIG2, …: image data). */
function filtersOf(dict: string): Filter[] {
  const entry = /\/Filter\s*(\[[^\]]*\]|\/[^\s/[\]<>()]+)/.exec(dict)?.[1] ?? "";
  const out: Filter[] = [];
  for (const name of entry.match(/\/[^\s/[\]<>()]+/g) ?? []) {
    const filter = FILTER_NAMES[name];
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
