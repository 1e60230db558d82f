import type { ModelConfig, TranscriptMessage } from "@starling/protocol";
import { servedByAnthropic } from "../providers/claude-models.js";
import { isImageFile } from "./request-media-cap.js";

/**
 * Anthropic's hard image limits (docs "Vision": "Images and vision" / "General limits", and the API's
 * refusals "image.source.base64: image exceeds 5 MB maximum: N bytes > 5242880 bytes", "Too much media:
 * 0 document pages + 103 images > 100"): a refused image stays in history and is re-sent on every later
 * call, so they are met before the request is sent.
 * - one image's base64 data: at most 5 MiB of characters (the raw bytes may be 3/4 of that);
 * - each side at most 8000 px, or 2000 px when the request carries more than 20 images;
 * - at most 100 images in one request for models with a 200k-token context, 600 for the others: 100 is
 *   applied to all (a model's window is not known for sure from the config: a 1M-token beta of a 200k model
 *   would still be held to 100, and a refusal sticks the conversation while a left-out image only costs room).
 * They apply to `claude_code` and to a Claude model reached through OpenRouter (servedByAnthropic),
 * which forwards the images to Anthropic. OpenAI (chat completions, Responses) takes at most 500 images
 * in one request and refuses nothing else a normalised request can carry (20 MB per image, 50 MB of
 * images per request, larger pictures downscaled by the service): see docs/SECURITY.md "Media files".
 */
export const ANTHROPIC_MAX_IMAGE_BASE64_CHARS = 5 * 1024 * 1024;
export const ANTHROPIC_MAX_IMAGE_SIDE = 8000;
export const ANTHROPIC_MANY_IMAGES = 20;
export const ANTHROPIC_MANY_IMAGES_SIDE = 2000;
export const ANTHROPIC_MAX_IMAGES = 100;
/** OpenAI's cap, applied to every other provider (the smallest documented among them). */
export const OPENAI_MAX_IMAGES = 500;

/**
 * What a provider refuses about the images of this request; the normaliser fits each image to it, also
 * one a `file_reference` transport would send as it is. Empty: the provider refuses none of them.
 */
export interface ProviderImageLimits {
  /** A ceiling on each side, whatever the config says (Anthropic's 8000 px, 2000 px for many images). */
  maxSide?: number;
  /** Most raw bytes of one image. */
  maxBytes?: number;
}

/**
 * The image limits of `config`'s provider for a request carrying `messages`. For a model served by
 * Anthropic the image count is that of the images the request can carry (user and tool messages, when
 * the model has `image_in`), counted before any is turned into a note: an upper bound, so the many-image
 * rule may apply to a request that ends with 20 or fewer (harmless: Anthropic scales images to 1568 px
 * on the long side anyway).
 */
export function providerImageLimits(config: ModelConfig, messages: readonly TranscriptMessage[]): ProviderImageLimits {
  if (!servedByAnthropic(config)) return {};
  const many = imagesCarried(config, messages) > ANTHROPIC_MANY_IMAGES;
  return {
    maxSide: many ? ANTHROPIC_MANY_IMAGES_SIDE : ANTHROPIC_MAX_IMAGE_SIDE,
    maxBytes: Math.floor((ANTHROPIC_MAX_IMAGE_BASE64_CHARS * 3) / 4),
  };
}

/**
 * Most images one request to `config`'s provider may carry: 100, which every Claude model takes, or
 * OpenAI's 500. Anthropic counts the pages of inlined PDFs in the same 100 ("Too much media: 150
 * document pages + 3 images > 100"; docs "PDF support": at most 100 pages per request): see
 * providerCountsPdfPages.
 */
export function providerMaxImages(config: ModelConfig): number {
  return servedByAnthropic(config) ? ANTHROPIC_MAX_IMAGES : OPENAI_MAX_IMAGES;
}

/** Whether each inlined PDF page takes one of providerMaxImages as an image does (Anthropic). */
export function providerCountsPdfPages(config: ModelConfig): boolean {
  return servedByAnthropic(config);
}

function imagesCarried(config: ModelConfig, messages: readonly TranscriptMessage[]): number {
  if (!config.capabilities.includes("image_in")) return 0;
  let count = 0;
  for (const message of messages) {
    if (message.role !== "user" && message.role !== "tool") continue;
    for (const item of message.content) if (isImageFile(item)) count++;
  }
  return count;
}

/**
 * Whether a PDF given by URL reaches `config`'s provider as a document Anthropic fetches and counts
 * (`claude_code` `source: url`, OpenRouter Responses `file_url`; chat completions sends the URL as text).
 * Its pages are not known before that fetch: the cap counts it as all of providerMaxImages.
 */
export function providerFetchesPdfUrls(config: ModelConfig): boolean {
  return servedByAnthropic(config) && config.provider_type !== "open_router_completion";
}
