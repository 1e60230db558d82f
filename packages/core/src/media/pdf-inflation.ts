import { constants, inflateSync } from "node:zlib";
import { MediaError } from "./media-bytes.js";

/**
 * Most bytes a PDF's Flate streams (other than images) may inflate to before its text is extracted.
 * pdf.js inflates a content stream whole, in memory and without a limit: a 1 MB file inflating to
 * 1 GB took 2.1 GB of memory and 16 s, and the 20 MB a file may have would take the worker down.
 */
export const MAX_PDF_INFLATED_BYTES = 128 * 1024 * 1024;

/**
 * Inflates each Flate stream of a PDF (chained filters layer by layer) within one shared budget and
 * throws a MediaError naming the bomb when it runs out. Image streams are skipped: text extraction
 * does not decode them. Streams that fail to inflate are left to pdf.js (it reports or repairs them).
 * Not covered: LZW streams (pdf.js inflates those unchecked too) and a stream whose /Length is an
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
    const layers = dict.match(/\/(FlateDecode|Fl)\b/g)?.length ?? 0;
    let data: Buffer = bytes.subarray(start, end);
    for (let i = 0; i < layers; i++) {
      try {
        data = inflateSync(data, { maxOutputLength: Math.max(1, budget - used), finishFlush: constants.Z_SYNC_FLUSH });
      } catch (error) {
        if ((error as { code?: unknown }).code === "ERR_BUFFER_TOO_LARGE") {
          throw new MediaError(`its compressed streams expand to more than ${budget / 1024 / 1024} MB (a decompression bomb?); it was not read`);
        }
        break;
      }
      used += data.length;
    }
  }
}
