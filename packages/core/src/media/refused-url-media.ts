import type { FileItem, TranscriptItem, TranscriptMessage } from "@starling/protocol";
import { shorten } from "../providers/error-message.js";
import { mediaKind, mediaTypeOf } from "../providers/file-parts.js";
import { ProviderError } from "../providers/types.js";
import { leftOutNote } from "./request-media-cap.js";

/** A file given by URL that the provider refused, and the refusal (its message as the error shows it). */
export interface RefusedUrl {
  url: string;
  reason: string;
}

/** Refusals about the media of a request (Anthropic's wording, directly or in OpenRouter's `metadata.raw`). */
const IMAGE_REFUSAL = /image exceeds|image dimensions|dimensions exceed|invalid image|could not process image|image\.source|image format/i;
const PDF_REFUSAL = /document pages|pdf pages|document\.source|pdf specified was not valid/i;
const FETCH_REFUSAL = /unable to download|could not (?:fetch|download)|failed to (?:fetch|download)|unable to fetch/i;
const MEDIA_REFUSAL = /too much media/i;

/**
 * The file given by URL a refusal of this request (`messages`, as sent) is about, or null when the
 * refusal is not about media or the request has no file by URL. The provider fetches those files, so
 * their size and pages are known only to it, and a refused one would be refused on every later call.
 * A refusal that names the URL points at it; else the kind of the refusal (an image's size, a PDF's
 * pages) narrows the candidates (none when no URL file is of that kind: the refused file was sent inline; a failed
 * fetch and "too much media" keep all), and of those the one there is, or the newest: the newest was sent last, so it
 * is the one most likely new to the provider.
 */
export function refusedUrlMedia(err: unknown, messages: readonly TranscriptMessage[]): RefusedUrl | null {
  // Only a refusal of the request itself (4xx): a 5xx or a network failure that mentions a failed fetch says
  // nothing certain about the file, and the note would replace it for good.
  if (!(err instanceof ProviderError) || err.kind !== "bad_request") return null;
  // Without the "HTTP 400 from <endpoint>: " of the error: the model reads the note, and the endpoint tells it nothing.
  const reason = shorten(err.message.replace(/^HTTP \d+ from \S+: /, ""));
  const image = IMAGE_REFUSAL.test(reason);
  const pdf = PDF_REFUSAL.test(reason) || MEDIA_REFUSAL.test(reason);
  if (!image && !pdf && !FETCH_REFUSAL.test(reason)) return null;
  const urls = messages.filter((m) => m.role === "user" || m.role === "tool").flatMap((m) => m.content.filter(isUrlMedia));
  const named = urls.filter((f) => reason.includes(f.uri));
  const ofKind = urls.filter((f) => (image && kindOf(f) === "image") || (pdf && kindOf(f) === "pdf"));
  // "Too much media" counts both kinds: the images given by URL when no PDF is.
  const media = MEDIA_REFUSAL.test(reason) ? urls : [];
  // A refusal of an image (or a PDF) with none of that kind given by URL is about one sent inline (a local image the
  // provider could not process): no file given by URL is to blame. Only a failed fetch, of no kind, may be any of them.
  const chosen = (named.length ? named : ofKind.length ? ofKind : media.length ? media : !image && !pdf ? urls : []).at(-1);
  return chosen ? { url: chosen.uri, reason } : null;
}

/**
 * `messages` with every file whose URL the provider refused (`refused`: URL to refusal) replaced by a
 * note saying so and how to look at it instead (download it, then load it, which counts and fits it).
 */
export function withoutRefusedUrls(messages: TranscriptMessage[], refused: ReadonlyMap<string, string>): TranscriptMessage[] {
  if (refused.size === 0) return messages;
  return messages.map((message) => {
    if (!message.content.some((i) => isUrlMedia(i) && refused.has(i.uri))) return message;
    const content = message.content.map((item): TranscriptItem => {
      const reason = isUrlMedia(item) ? refused.get(item.uri) : undefined;
      return reason === undefined ? item : { type: "text", text: leftOutNote(item as FileItem, `the model's provider refused it (${reason})`) };
    });
    return { ...message, content };
  });
}

const kindOf = (file: FileItem) => mediaKind(mediaTypeOf(file));

function isUrlMedia(item: TranscriptItem): item is FileItem {
  return item.type === "file" && /^https?:/i.test(item.uri) && (kindOf(item) === "image" || kindOf(item) === "pdf");
}
