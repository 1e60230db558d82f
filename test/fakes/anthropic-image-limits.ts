// The image limits the Anthropic Messages API enforces, as the fakes refuse them (docs "Images and
// vision", General limits; messages as the API words them): at most 100 images in one request (the limit
// for 200k-context models; the API says "Too much media: 0 document pages + 103 images > 100"), each
// image's base64 data at most 5 MiB of characters, each side at most 8000 px, or 2000 px when the request
// carries more than 20 images. OpenRouter forwards a Claude model's images to Anthropic, so the OpenAI-
// shaped fakes apply the same rules to `anthropic/claude-*` models (see openRouterClaudeRefusal).
// The pages of base64 PDF documents count against the same 100 ("Too much media: 150 document pages +
// 3 images > 100"; docs "PDF support": at most 100 pages per request); pages are counted here as the
// page objects in the file (`/Type /Page`), independently of the pdf.js count the normaliser uses.
// A PDF given by URL (`source: {type: "url"}`, or OpenRouter's `file_url`) is fetched, as Anthropic does,
// and its pages counted the same way; an image given by URL is fetched and held to the same limits (the
// refusal names `image.source.url` where an inlined one's names `image.source.base64`; the real wording for a
// fetched image was not found).
import { imageSize } from "image-size";

const MAX_BASE64_CHARS = 5 * 1024 * 1024;
const MANY_IMAGES = 20;
export const ANTHROPIC_MAX_IMAGES = 100;

/** One base64 image of a request and where it is (for the refusal message). */
export interface WireImage {
  path: string;
  data: string;
  /** Fetched from this URL (an image given by URL). */
  url?: string;
}

interface Block {
  type?: string;
  source?: { type?: string; data?: string; url?: string };
  content?: unknown;
}

/** The refusal message for the first image over a limit in an Anthropic request body; null when none is. */
export async function imageLimitRefusal(body: Record<string, unknown>): Promise<string | null> {
  const images: WireImage[] = [];
  const documents: string[] = [];
  const documentUrls: string[] = [];
  const messages = Array.isArray(body["messages"]) ? (body["messages"] as Array<{ content?: unknown }>) : [];
  messages.forEach((message, m) => collect(message.content, `messages.${m}.content`, images, documents, documentUrls));
  const fetched = await fetchDocuments(documentUrls);
  if (typeof fetched === "string") return fetched;
  const imageRefusal = await fetchImages(images);
  return imageRefusal ?? anthropicImagesRefusal(images, [...documents, ...fetched]);
}

/** Fills in the data of the images given by URL (`url` set, `data` empty), fetched as Anthropic fetches them; the refusal message when one cannot be. */
export async function fetchImages(images: WireImage[]): Promise<string | null> {
  for (const image of images) {
    if (image.url === undefined) continue;
    const fetched = await fetchDocuments([image.url]);
    if (typeof fetched === "string") return fetched;
    image.data = fetched[0]!;
  }
  return null;
}

/** The base64 of PDFs given by URL, fetched as Anthropic fetches them; the refusal message when one cannot be. */
export async function fetchDocuments(urls: readonly string[]): Promise<string[] | string> {
  const out: string[] = [];
  for (const url of urls) {
    const response = await fetch(url).catch(() => null);
    if (!response?.ok) return `Unable to download the file from ${url}. Please verify the URL and try again.`;
    out.push(Buffer.from(await response.arrayBuffer()).toString("base64"));
  }
  return out;
}

/** Pages of a PDF as the fake counts them: its page objects. */
export function pdfPages(base64: string): number {
  return Buffer.from(base64, "base64").toString("latin1").match(/\/Type\s*\/Page(?![A-Za-z])/g)?.length ?? 0;
}

/** What Anthropic says about these images and base64 PDFs (`documents`) of one request; null when it takes them. */
export function anthropicImagesRefusal(images: readonly WireImage[], documents: readonly string[] = []): string | null {
  const pages = documents.reduce((sum, data) => sum + pdfPages(data), 0);
  if (pages + images.length > ANTHROPIC_MAX_IMAGES) return `Too much media: ${pages} document pages + ${images.length} images > ${ANTHROPIC_MAX_IMAGES}`;
  const maxSide = images.length > MANY_IMAGES ? 2000 : 8000;
  for (const { path, data, url } of images) {
    const source = `${path}.image.source.${url === undefined ? "base64" : "url"}`;
    if (data.length > MAX_BASE64_CHARS) return `${source}: image exceeds 5 MB maximum: ${data.length} bytes > ${MAX_BASE64_CHARS} bytes`;
    const { width = 0, height = 0 } = imageSize(Buffer.from(data, "base64"));
    if (width > maxSide || height > maxSide) {
      return images.length > MANY_IMAGES
        ? `${source}.data: At least one of the image dimensions exceed max allowed size for many-image requests: 2000 pixels`
        : `${source}.data: At least one of the image dimensions exceed max allowed size: 8000 pixels`;
    }
  }
  return null;
}

/**
 * OpenRouter's answer when the Anthropic request it made for a Claude model was refused: HTTP 400 with
 * `{"error":{"message":"Provider returned error","code":400,"metadata":{"raw":<Anthropic's body>,"provider_name":"Anthropic"}}}`.
 * `images`: the data-URL images of the OpenAI-shaped request, in order; `documents`: the base64 of its data-URL PDFs.
 */
export function openRouterClaudeRefusal(model: unknown, images: readonly WireImage[], documents: readonly string[] = []): Record<string, unknown> | null {
  if (typeof model !== "string" || !model.startsWith("anthropic/claude-")) return null;
  const message = anthropicImagesRefusal(images, documents);
  return message ? openRouterAnthropicError(message) : null;
}

/** OpenRouter's HTTP 400 body when Anthropic refused the request it made with this `invalid_request_error` message. */
export function openRouterAnthropicError(message: string): Record<string, unknown> {
  const raw = JSON.stringify({ type: "error", error: { type: "invalid_request_error", message } });
  return { error: { message: "Provider returned error", code: 400, metadata: { raw, provider_name: "Anthropic" } } };
}

/** The base64 part of an image data URL; null for anything else (a URL is not inlined data). */
export function dataUrlBase64(url: unknown): string | null {
  if (typeof url !== "string" || !url.startsWith("data:image/")) return null;
  return url.slice(url.indexOf(",") + 1);
}

/** An image the provider fetches (http or https URL), to fetch before checking it; null for anything else. */
export function urlImage(path: string, url: unknown): WireImage | null {
  return typeof url === "string" && /^https?:/i.test(url) ? { path, data: "", url } : null;
}

function collect(content: unknown, path: string, into: WireImage[], documents: string[], documentUrls: string[]): void {
  if (!Array.isArray(content)) return;
  (content as Block[]).forEach((block, i) => {
    if (block.type === "image" && block.source?.type === "base64" && typeof block.source.data === "string") into.push({ path: `${path}.${i}`, data: block.source.data });
    const byUrl = block.type === "image" && block.source?.type === "url" ? urlImage(`${path}.${i}`, block.source.url) : null;
    if (byUrl) into.push(byUrl);
    if (block.type === "document" && block.source?.type === "base64" && typeof block.source.data === "string") documents.push(block.source.data);
    if (block.type === "document" && block.source?.type === "url" && typeof block.source.url === "string") documentUrls.push(block.source.url);
    if (block.type === "tool_result") collect(block.content, `${path}.${i}.content`, into, documents, documentUrls);
  });
}
