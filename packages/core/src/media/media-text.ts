/** Longest extracted PDF text put into a request; the rest is left to file tools. */
export const MAX_PDF_TEXT_CHARS = 60_000;

export interface PdfText {
  pages: number;
  text: string;
  truncated: boolean;
}

/** Text of a PDF, page by page (unpdf's serverless build of Mozilla pdf.js, loaded on first use). */
export async function extractPdfText(bytes: Uint8Array, maxChars = MAX_PDF_TEXT_CHARS): Promise<PdfText> {
  const { extractText, getDocumentProxy } = await import("unpdf");
  // pdf.js takes ownership of (detaches) the buffer it is given: hand it a copy.
  const pdf = await getDocumentProxy(new Uint8Array(bytes));
  try {
    const { totalPages, text } = await extractText(pdf, { mergePages: false });
    const pages = (text as string[]).map((t, i) => `--- page ${i + 1} ---\n${t.trim()}`);
    const joined = pages.join("\n\n");
    const truncated = joined.length > maxChars;
    return { pages: totalPages, text: truncated ? joined.slice(0, maxChars) : joined, truncated };
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
