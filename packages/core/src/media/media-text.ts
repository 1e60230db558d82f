import { checkPdfInflation } from "./pdf-inflation.js";

/** Longest extracted PDF text put into a request; the rest is left to file tools. */
export const MAX_PDF_TEXT_CHARS = 60_000;
/** Reading stops at this many pages or this long, whichever comes first (pdf.js finds page n in a flat 50 000-page tree in ~13 ms). */
export const MAX_PDF_TEXT_PAGES = 1_000;
export const MAX_PDF_TEXT_MS = 10_000;

export interface PdfText {
  pages: number;
  /** Pages whose text was read (fewer than `pages` when a limit stopped the reading). */
  pagesRead: number;
  text: string;
  truncated: boolean;
}

/**
 * Text of a PDF, page by page (unpdf's serverless build of Mozilla pdf.js, loaded on first use), up to
 * `maxChars`, MAX_PDF_TEXT_PAGES pages or MAX_PDF_TEXT_MS: later pages are not read (a 50 000-page file
 * read whole ran the worker out of memory after 280 s).
 * Throws a MediaError for a file whose streams inflate past MAX_PDF_INFLATED_BYTES (checkPdfInflation).
 */
export async function extractPdfText(bytes: Buffer, maxChars = MAX_PDF_TEXT_CHARS): Promise<PdfText> {
  checkPdfInflation(bytes);
  const { getDocumentProxy } = await import("unpdf");
  // pdf.js takes ownership of (detaches) the buffer it is given: hand it a copy.
  const pdf = await getDocumentProxy(new Uint8Array(bytes));
  try {
    const pages: string[] = [];
    let length = 0;
    const deadline = Date.now() + MAX_PDF_TEXT_MS;
    for (let n = 1; n <= Math.min(pdf.numPages, MAX_PDF_TEXT_PAGES) && length <= maxChars && Date.now() < deadline; n++) {
      const page = await pdf.getPage(n);
      const content = await page.getTextContent();
      page.cleanup();
      const text = content.items.map((item) => ("str" in item ? item.str + (item.hasEOL ? "\n" : "") : "")).join("");
      const entry = `--- page ${n} ---\n${text.trim()}`;
      pages.push(entry);
      length += entry.length + 2;
    }
    const joined = pages.join("\n\n");
    const truncated = joined.length > maxChars || pages.length < pdf.numPages;
    return { pages: pdf.numPages, pagesRead: pages.length, text: joined.slice(0, maxChars), truncated };
  } finally {
    await pdf.destroy();
  }
}

/**
 * Pages of a PDF as pdf.js counts them (the page tree's, without reading any page), for the providers
 * that count inlined PDF pages against a request's media. Throws a MediaError for a file whose streams
 * inflate past MAX_PDF_INFLATED_BYTES (checkPdfInflation: pdf.js inflates object streams to find the tree).
 */
export async function pdfPageCount(bytes: Buffer): Promise<number> {
  checkPdfInflation(bytes);
  const { getDocumentProxy } = await import("unpdf");
  const pdf = await getDocumentProxy(new Uint8Array(bytes));
  try {
    return pdf.numPages;
  } finally {
    await pdf.destroy();
  }
}

export interface AudioInfo {
  container?: string;
  codec?: string;
  durationSeconds?: number;
  sampleRate?: number;
  channels?: number;
  title?: string;
  artist?: string;
}

/** Format, duration and tags of an audio file (music-metadata, loaded on first use); {} when unknown. */
export async function audioInfo(bytes: Uint8Array, mediaType: string | undefined): Promise<AudioInfo> {
  const { parseBuffer } = await import("music-metadata");
  try {
    const meta = await parseBuffer(bytes, mediaType ? { mimeType: mediaType } : undefined, { duration: true, skipCovers: true });
    return {
      container: meta.format.container,
      codec: meta.format.codec,
      durationSeconds: meta.format.duration,
      sampleRate: meta.format.sampleRate,
      channels: meta.format.numberOfChannels,
      title: meta.common.title,
      artist: meta.common.artist,
    };
  } catch {
    return {};
  }
}

/** `12.3 s`, `4 min 05 s`. */
export function formatDuration(seconds: number): string {
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const m = Math.floor(seconds / 60);
  return `${m} min ${String(Math.round(seconds - m * 60)).padStart(2, "0")} s`;
}
