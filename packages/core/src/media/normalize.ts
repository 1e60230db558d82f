import { fileURLToPath } from "node:url";
import type { FileItem, ModelConfig, TranscriptItem, TranscriptMessage } from "@starling/protocol";
import { mediaKind, mediaTypeOf, textReference } from "../providers/file-parts.js";
import { ByteLru } from "./byte-lru.js";
import { configuredImageSides, fitImage } from "./image-fit.js";
import { contentKey, type FileOpener, isPdf, MediaError, readMediaBytes, sniffAudio, sniffImage, toDataUrl, uriKey } from "./media-bytes.js";
import { audioInfo, extractPdfText, formatDuration, pdfPageCount } from "./media-text.js";
import { providerCountsPdfPages, providerFetchesPdfUrls, providerImageLimits, providerMaxImages, type ProviderImageLimits } from "./provider-image-limits.js";
import { capInlinedMedia, MAX_REQUEST_MEDIA_BYTES, type NormalizedMessage } from "./request-media-cap.js";

export const CRASHED_FILE_HEADER = "[Crashed file omitted from multimodal input]";
export const PDF_TEXT_HEADER = "[PDF attached as extracted text]";
export const AUDIO_TEXT_HEADER = "[Audio attached as text description]";

type Transport = NonNullable<NonNullable<ModelConfig["multimodal_input"]>["image"]>;

/**
 * Media normalisation (reference §2.5), applied to the context before every model call, whatever the
 * provider. Files in user and tool messages become what this model can take:
 * - images: `image_in` → inlined as a data URL, shrunk to `multimodal_input.image` max_width/height
 *   (each DEFAULT_MAX_IMAGE_SIDE when not set), then to the provider's own limits for this request
 *   (providerImageLimits: Anthropic's 5 MB per image and 2000 px when the request has over 20 images),
 *   and re-encoded when its type is not in `supported_media_types`; else a text reference;
 * - PDFs: `pdf_in` → inlined (`%PDF-` checked), and where the provider counts their pages against its
 *   media (Anthropic) counted with pdf.js, a PDF with more pages than the provider takes in one request
 *   becoming its extracted text; else their extracted text;
 * - audio: `audio_in` → inlined (signature checked); else a description (path, type, duration);
 * - other files: kept with `file_in`, else a text reference.
 * A `file_reference` transport and `file_in` send the file as it is, read here (through `open`) into a
 * data URL rather than by its path in the provider; a `file_reference` image the provider would refuse
 * (providerImageLimits) is fitted as an inline one. A file that cannot be read or
 * decoded becomes a "[Crashed file …]" note with the reason, never a failed turn. Assistant-side
 * files are kept only when the model can take them back (`image_out` for images).
 * Results are cached per file content and model settings (NORMALIZED_CACHE_BYTES in all, least
 * recently used dropped first), so a long turn reads each file once; the newest messages are
 * normalised first, so when a conversation's media outgrow the cache it is the oldest that are read again.
 * Inlined files past MAX_REQUEST_MEDIA_BYTES in all, and images past the provider's count per request
 * (providerMaxImages: 100 for Anthropic, images and inlined PDF pages together, a PDF by URL counting
 * as 100; 500 images for OpenAI), oldest first, become a "[File left out …]" note.
 * `open` opens file:// paths (a session passes its workspace's checked open; see FileOpener).
 */
export async function normalizeMessages(config: ModelConfig, messages: readonly TranscriptMessage[], open?: FileOpener): Promise<TranscriptMessage[]> {
  // Most contexts carry no file: nothing to normalise or cap, and no wrapper per message per model call.
  if (!messages.some(hasFile)) return messages.slice();
  const limits = providerImageLimits(config, messages);
  const out: NormalizedMessage[] = new Array(messages.length);
  for (let m = messages.length - 1; m >= 0; m--) {
    const message = messages[m]!;
    if (!hasFile(message)) {
      out[m] = { message, sources: [] };
      continue;
    }
    const content: TranscriptItem[] = [];
    const pages: (number | undefined)[] = [];
    for (const item of message.content) {
      const normalized = item.type === "file" ? await normalizeFile(config, item, message.role === "assistant" ? "assistant" : "input", open, limits) : { item };
      content.push(normalized.item);
      pages.push(normalized.pages);
    }
    out[m] = { message: { ...message, content }, sources: message.content.map((i) => (i.type === "file" ? i : undefined)), pages };
  }
  return capInlinedMedia(out, { bytes: MAX_REQUEST_MEDIA_BYTES, media: providerMaxImages(config), pdfPages: providerCountsPdfPages(config), pdfUrls: providerFetchesPdfUrls(config) });
}

function hasFile(message: TranscriptMessage): boolean {
  return message.content.some((i) => i.type === "file");
}

/**
 * Bytes of normalised results a process keeps (data URLs count one byte a character, text two): about
 * two requests' worth of inlined files (27 MB of base64 each), so a conversation's newest media are read
 * once, while a worker holds at most this much however many files pass through it (before: 64 results
 * of up to 27 MB each, 1.7 GB).
 */
export const NORMALIZED_CACHE_BYTES = 64 * 1024 * 1024;
const cache = new ByteLru<NormalizedFile>(NORMALIZED_CACHE_BYTES, ({ item }) => (item.type === "file" ? item.uri.length : item.type === "text" ? item.text.length * 2 : 0));

/** A file as the model gets it and, for an inlined PDF whose pages the provider counts, its pages. */
export interface NormalizedFile {
  item: TranscriptItem;
  pages?: number;
}

/** One file as this model should get it (see normalizeMessages); `limits`: the provider's for this request. */
export async function normalizeFile(config: ModelConfig, file: FileItem, side: "assistant" | "input", open?: FileOpener, limits: ProviderImageLimits = {}): Promise<NormalizedFile> {
  const kind = mediaKind(mediaTypeOf(file));
  const settings = settingsKey(config, file, side, limits);
  const key = `${settings}|${await contentKey(file)}`;
  const hit = cache.get(key);
  const result = hit ?? (await normalizeUncached(config, file, side, open, limits));
  if (!hit) cache.set(key, result);
  if (kind === "pdf" && side === "input" && result.item.type === "text") pdfTextKeys.set(`${settings}|${uriKey(file)}`, key);
  return result;
}

async function normalizeUncached(config: ModelConfig, file: FileItem, side: "assistant" | "input", open: FileOpener | undefined, limits: ProviderImageLimits): Promise<NormalizedFile> {
  const read = () => readMediaBytes(file, open);
  const item = await compute(config, file, side, read, limits);
  return side === "input" && providerCountsPdfPages(config) && isInlinedPdf(item) ? await countedPdf(config, file, item, read) : { item };
}

/** What, besides the file's content, decides how this model gets it. */
function settingsKey(config: ModelConfig, file: FileItem, side: "assistant" | "input", limits: ProviderImageLimits): string {
  const kind = mediaKind(mediaTypeOf(file));
  const settings = [config.capabilities, config.multimodal_input ?? null, file.mediaType ?? null, file.name ?? null, kind === "image" ? limits : null, kind === "pdf" ? providerCountsPdfPages(config) : null];
  return `${side}|${JSON.stringify(settings)}`;
}

/**
 * The cache key of each PDF last sent to a model as text (its extracted text, or a crashed note), by
 * settings and URI: token estimates look it up synchronously (pdfTextSent) without reading the file.
 */
const pdfTextKeys = new ByteLru<string>(1024 * 1024, (key) => key.length * 2);

/**
 * The text a user or tool message's PDF was last sent to this model as, when it was (and is still
 * cached): token estimates count it instead of a file's flat cost, as a PDF's extracted text can be
 * tens of thousands of tokens. Undefined for other files, a PDF sent inline, or one not normalised yet.
 */
export function pdfTextSent(config: ModelConfig, file: FileItem): string | undefined {
  if (mediaKind(mediaTypeOf(file)) !== "pdf") return undefined;
  const key = pdfTextKeys.get(`${settingsKey(config, file, "input", {})}|${uriKey(file)}`);
  const hit = key === undefined ? undefined : cache.get(key);
  return hit?.item.type === "text" ? hit.item.text : undefined;
}

function isInlinedPdf(item: TranscriptItem): item is FileItem {
  return item.type === "file" && item.uri.startsWith("data:application/pdf");
}

/**
 * An inlined PDF with its pages, for a provider that counts them against its media per request. One
 * with more pages than that alone could never be sent: it becomes its extracted text (what a model
 * without `pdf_in` gets), so its content stays in the conversation; a left-out note would send the model
 * to load it again, into the same refusal.
 */
async function countedPdf(config: ModelConfig, file: FileItem, item: FileItem, read: ReadBytes): Promise<NormalizedFile> {
  let pages: number;
  try {
    pages = await pdfPageCount(Buffer.from(item.uri.slice(item.uri.indexOf(",") + 1), "base64"));
  } catch (error) {
    return { item: crashed(file, error instanceof MediaError ? error.message : `the PDF could not be read (${error instanceof Error ? error.message : String(error)})`) };
  }
  const cap = providerMaxImages(config);
  if (pages <= cap) return { item, pages };
  try {
    return { item: await pdfAsText(file, read, `the PDF has ${pages} pages and the model's provider takes at most ${cap} pages and images in one request; this is the text extracted from it (layout and images are lost)`) };
  } catch (error) {
    if (error instanceof MediaError) return { item: crashed(file, error.message) };
    throw error;
  }
}

/** `read`: the file's bytes (readMediaBytes with the caller's opener). */
type ReadBytes = () => Promise<Buffer>;

async function compute(config: ModelConfig, file: FileItem, side: "assistant" | "input", read: ReadBytes, limits: ProviderImageLimits): Promise<TranscriptItem> {
  const caps = new Set(config.capabilities);
  const mediaType = mediaTypeOf(file);
  const kind = mediaKind(mediaType);
  const ref = (reason: string): TranscriptItem => ({ type: "text", text: textReference(file, reason) });
  if (side === "assistant") {
    if (kind === "image" && caps.has("image_out")) return file;
    if (kind === "other" && caps.has("file_in")) return file;
    return ref(`the model does not take ${kind === "other" ? "files" : kind === "pdf" ? "PDFs" : `${kind}s`} in assistant history`);
  }
  try {
    switch (kind) {
      case "other":
        return caps.has("file_in") ? await inlinedForProvider(file, read) : ref("the model does not take files as direct input; read it with file_read or the shell");
      case "image":
        if (!caps.has("image_in")) return ref("the model does not support image input");
        return await inlineImage(file, config.multimodal_input?.image, read, limits);
      case "pdf":
        if (!caps.has("pdf_in")) return await pdfAsText(file, read);
        return await inlineChecked(file, config.multimodal_input?.pdf, (bytes) => (isPdf(bytes) ? "application/pdf" : null), "PDF", read);
      case "audio":
        if (!caps.has("audio_in")) return await audioAsText(file, mediaType, read);
        return await inlineChecked(file, config.multimodal_input?.audio, sniffAudio, "audio", read);
    }
  } catch (error) {
    if (error instanceof MediaError) return crashed(file, error.message);
    throw error;
  }
}

/**
 * A file item the provider sends as it is: a `file://` one becomes a data URL read here, through the
 * session's checked open. Providers read what a `file://` item names by path (inlining it all the same),
 * and a folder on that path may have been swapped for a symlink out of the workspace since the file
 * was attached; the request they build from the data URL is the same.
 */
async function inlinedForProvider(file: FileItem, read: ReadBytes): Promise<TranscriptItem> {
  if (!file.uri.startsWith("file:")) return file;
  const mediaType = mediaTypeOf(file) ?? "application/octet-stream";
  return { type: "file", uri: toDataUrl(mediaType, await read()), ...(file.name ? { name: file.name } : {}), mediaType };
}

function crashed(file: FileItem, reason: string): TranscriptItem {
  return { type: "text", text: textReference(file, reason).replace(/^[^\n]*/, CRASHED_FILE_HEADER) };
}

/**
 * A side without a configured limit gets DEFAULT_MAX_IMAGE_SIDE, and neither may pass the provider's
 * `maxSide`; an image within both, and within the provider's bytes, is inlined as is once it decodes.
 * A `file_reference` transport sends the file as it is (its own bytes and type, no configured sizes or
 * types applied) to a provider that refuses no image; for one that does (Anthropic), it is fitted to
 * the provider's limits only, still byte for byte when within them.
 */
async function inlineImage(file: FileItem, transport: Transport | undefined, read: ReadBytes, limits: ProviderImageLimits): Promise<TranscriptItem> {
  if (/^https?:/i.test(file.uri)) return file;
  const asIs = transport?.transport === "file_reference";
  if (asIs && limits.maxSide === undefined && limits.maxBytes === undefined) return inlinedForProvider(file, read);
  const bytes = await read();
  const detected = sniffImage(bytes);
  if (!detected) throw new MediaError("the file is not an image in a known format (png, jpeg, gif, webp, bmp, tiff)");
  const configured = asIs ? undefined : transport;
  const sides = configuredImageSides(transport);
  const fitted = await fitImage(bytes, detected, {
    maxWidth: Math.min(sides.maxWidth, limits.maxSide ?? Infinity),
    maxHeight: Math.min(sides.maxHeight, limits.maxSide ?? Infinity),
    supported: configured?.supported_media_types,
    ...(limits.maxBytes !== undefined ? { maxBytes: limits.maxBytes } : {}),
  });
  return { type: "file", uri: toDataUrl(fitted.mediaType, fitted.data), name: file.name, mediaType: fitted.mediaType };
}

/** PDF/audio for a model that takes them: inlined after checking the bytes are what they claim. */
async function inlineChecked(
  file: FileItem,
  transport: Transport | undefined,
  sniff: (bytes: Uint8Array) => string | null,
  what: string,
  read: ReadBytes,
): Promise<TranscriptItem> {
  if (/^https?:/i.test(file.uri)) return file;
  if (transport?.transport === "file_reference") return inlinedForProvider(file, read);
  const bytes = await read();
  const detected = sniff(bytes);
  if (!detected) throw new MediaError(`failed to validate the ${what} signature: the content is not ${what}`);
  const supported = transport?.supported_media_types ?? [];
  if (supported.length && !supported.includes(detected)) {
    throw new MediaError(`${detected} is not among the model's supported types (${supported.join(", ")})`);
  }
  return { type: "file", uri: toDataUrl(detected, bytes), name: file.name, mediaType: detected };
}

const NO_PDF_IN = "the model does not support PDF input; this is the text extracted from it (layout and images are lost)";

async function pdfAsText(file: FileItem, read: ReadBytes, reason = NO_PDF_IN): Promise<TranscriptItem> {
  const bytes = await read();
  if (!isPdf(bytes)) throw new MediaError("failed to validate the PDF signature: the content is not a PDF");
  let extracted;
  try {
    extracted = await extractPdfText(bytes);
  } catch (error) {
    throw new MediaError(`the PDF could not be read (${error instanceof Error ? error.message : String(error)})`);
  }
  const lines = [PDF_TEXT_HEADER, ...describe(file, "application/pdf"), `pages: ${extracted.pages}${extracted.pagesRead < extracted.pages ? ` (text of the first ${extracted.pagesRead} read)` : ""}`, `reason: ${reason}`];
  const body = extracted.text.replace(/--- page \d+ ---\n\s*/g, "").trim() === "" ? "(no extractable text: the PDF may be scanned images)" : extracted.text;
  return { type: "text", text: `${lines.join("\n")}\n\n${body}${extracted.truncated ? "\n\n[... text cut; read the rest with the shell, e.g. pdftotext]" : ""}` };
}

async function audioAsText(file: FileItem, mediaType: string | undefined, read: ReadBytes): Promise<TranscriptItem> {
  const bytes = await read();
  const info = await audioInfo(bytes, mediaType);
  const lines = [AUDIO_TEXT_HEADER, ...describe(file, mediaType)];
  if (info.durationSeconds !== undefined) lines.push(`duration: ${formatDuration(info.durationSeconds)}`);
  const format = [info.container, info.codec, info.sampleRate ? `${info.sampleRate} Hz` : undefined, info.channels ? `${info.channels} ch` : undefined].filter(Boolean);
  if (format.length) lines.push(`format: ${format.join(", ")}`);
  if (info.title || info.artist) lines.push(`tags: ${[info.artist, info.title].filter(Boolean).join(" – ")}`);
  lines.push(`size: ${bytes.length} bytes`, "reason: the model does not support audio input; its content is not available as text");
  return { type: "text", text: lines.join("\n") };
}

function describe(file: FileItem, mediaType: string | undefined): string[] {
  const path = file.uri.startsWith("file:") ? fileURLToPath(file.uri) : undefined;
  return [path ? `path: ${path}` : `uri: ${file.uri.startsWith("data:") ? "(inline data)" : file.uri}`, `name: ${file.name ?? "<unknown>"}`, `media_type: ${mediaType ?? "<unknown>"}`];
}
