import { MediaError } from "./media-bytes.js";

/** Formats the image encoder writes; any other wanted type is written as PNG. */
const ENCODABLE = ["image/png", "image/jpeg", "image/webp"] as const;
type Encodable = (typeof ENCODABLE)[number];

/**
 * The side length an image is shrunk to when the model config sets no `max_width`/`max_height`:
 * Anthropic refuses images over 8000 px on a side (and a refused image is re-sent on every later call);
 * the other providers accept at least that (OpenAI and Gemini downsize larger ones themselves).
 */
export const DEFAULT_MAX_IMAGE_SIDE = 8000;

/** `multimodal_input.image` of a model config, as far as the fit reads it. */
export interface ImageTransport {
  transport?: string;
  max_width?: number | null;
  max_height?: number | null;
}

/**
 * The sides an image is fitted to for a model (before any provider limit of the request): the configured
 * `max_width`/`max_height`, DEFAULT_MAX_IMAGE_SIDE for one not set; none for a `file_reference` transport.
 */
export function configuredImageSides(transport: ImageTransport | null | undefined): { maxWidth: number; maxHeight: number } {
  if (transport?.transport === "file_reference") return { maxWidth: Infinity, maxHeight: Infinity };
  return { maxWidth: transport?.max_width ?? DEFAULT_MAX_IMAGE_SIDE, maxHeight: transport?.max_height ?? DEFAULT_MAX_IMAGE_SIDE };
}

/** The size fitImage shrinks a `width`×`height` image to (inside the sides, aspect kept, never enlarged). */
export function fittedSize(width: number, height: number, sides: { maxWidth: number; maxHeight: number }): { width: number; height: number } {
  const scale = Math.min(1, sides.maxWidth / width, sides.maxHeight / height);
  if (scale >= 1) return { width, height };
  return { width: Math.max(1, Math.round(width * scale)), height: Math.max(1, Math.round(height * scale)) };
}

export interface ImageLimits {
  maxWidth?: number;
  maxHeight?: number;
  /** Accepted media types; empty or absent = any. */
  supported?: readonly string[];
  /** Most bytes of the result: a larger one is re-encoded smaller (see fitBytes). */
  maxBytes?: number;
}

export interface FittedImage {
  data: Buffer;
  mediaType: string;
  width: number;
  height: number;
  /** Whether the pixels or the format changed. */
  changed: boolean;
}

/**
 * Decodes an image (sharp/libvips, loaded on first use), shrinks it to fit `maxWidth`×`maxHeight`
 * keeping its aspect ratio, and keeps its format when the model accepts it, else re-encodes to the
 * first accepted format the encoder writes (PNG by default). An image already within limits and in
 * an accepted format is returned byte for byte, after a full decode check (see checkDecodes).
 */
export async function fitImage(input: Buffer, sourceType: string, limits: ImageLimits): Promise<FittedImage> {
  const supported = limits.supported?.length ? limits.supported.map((t) => t.toLowerCase()) : null;
  const accepted = !supported || supported.includes(sourceType);
  const { default: sharp } = await import("sharp");
  let meta: { width?: number; height?: number };
  try {
    meta = await sharp(input).metadata();
  } catch (error) {
    throw undecodable(error);
  }
  const width = meta.width ?? 0;
  const height = meta.height ?? 0;
  const tooBig = (limits.maxWidth !== undefined && width > limits.maxWidth) || (limits.maxHeight !== undefined && height > limits.maxHeight);
  if (!tooBig && accepted) {
    await checkDecodes(sharp, input);
    const unchanged = { data: input, mediaType: sourceType, width, height, changed: false };
    return limits.maxBytes !== undefined && input.length > limits.maxBytes ? fitBytes(sharp, unchanged, limits.maxBytes, supported) : unchanged;
  }

  const target: Encodable = accepted && isEncodable(sourceType) ? sourceType : (supported?.find(isEncodable) ?? "image/png");
  let pipeline = sharp(input).rotate(); // apply EXIF orientation before measuring the fit
  if (tooBig) {
    pipeline = pipeline.resize({
      width: limits.maxWidth,
      height: limits.maxHeight,
      fit: "inside",
      withoutEnlargement: true,
    });
  }
  pipeline = target === "image/jpeg" ? pipeline.jpeg({ quality: 85 }) : target === "image/webp" ? pipeline.webp({ quality: 85 }) : pipeline.png();
  let encoded: { data: Buffer; info: { width: number; height: number } };
  try {
    // The header decoded, but the pixel data may still be truncated or corrupt.
    encoded = await pipeline.toBuffer({ resolveWithObject: true });
  } catch (error) {
    throw undecodable(error);
  }
  const { data, info } = encoded;
  const fitted = { data, mediaType: target, width: info.width, height: info.height, changed: true };
  return limits.maxBytes !== undefined && data.length > limits.maxBytes ? fitBytes(sharp, fitted, limits.maxBytes, supported) : fitted;
}

/** Quality of the lossy re-encodings fitBytes tries, in order, before it shrinks the image. */
const BYTE_FIT_QUALITIES = [85, 70] as const;
/** Shrinks fitBytes tries at the last quality before it gives up (each to about 0.9 of the area that would fit). */
const BYTE_FIT_SHRINKS = 6;

/**
 * An image within the size limits but over `maxBytes` (a provider's per-image cap, e.g. a 12 Mpx
 * noisy photo for Anthropic): re-encoded lossy (JPEG, or WebP when only that is accepted; transparency
 * flattened onto white) at falling quality, then shrunk, until it fits. A model accepting only PNG/GIF
 * gets a smaller PNG. A MediaError when nothing fits (a crashed note, not a refused request).
 */
async function fitBytes(sharp: Sharp, image: FittedImage, maxBytes: number, supported: readonly string[] | null): Promise<FittedImage> {
  const lossy = !supported || supported.includes("image/jpeg") ? "image/jpeg" : supported.includes("image/webp") ? "image/webp" : "image/png";
  const encode = async (quality: number, width?: number, height?: number): Promise<FittedImage> => {
    let pipeline = sharp(image.data).rotate();
    if (width !== undefined) pipeline = pipeline.resize({ width, height, fit: "inside", withoutEnlargement: true });
    pipeline = lossy === "image/jpeg" ? pipeline.flatten({ background: "#ffffff" }).jpeg({ quality }) : lossy === "image/webp" ? pipeline.webp({ quality }) : pipeline.png({ compressionLevel: 9 });
    try {
      const { data, info } = await pipeline.toBuffer({ resolveWithObject: true });
      return { data, mediaType: lossy, width: info.width, height: info.height, changed: true };
    } catch (error) {
      throw undecodable(error);
    }
  };
  let best = image;
  if (lossy !== "image/png") {
    for (const quality of BYTE_FIT_QUALITIES) {
      best = await encode(quality);
      if (best.data.length <= maxBytes) return best;
    }
  }
  const quality = BYTE_FIT_QUALITIES.at(-1)!;
  for (let i = 0; i < BYTE_FIT_SHRINKS; i++) {
    const scale = Math.min(0.9, Math.sqrt((maxBytes / best.data.length) * 0.9));
    best = await encode(quality, Math.max(1, Math.floor(best.width * scale)), Math.max(1, Math.floor(best.height * scale)));
    if (best.data.length <= maxBytes) return best;
  }
  throw new MediaError(`the image could not be made smaller than ${maxBytes} bytes, the model's limit for one image (${best.data.length} bytes at ${best.width} × ${best.height})`);
}

type Sharp = (typeof import("sharp"))["default"];

/**
 * Decodes every pixel of an image passed on unchanged, so that a file the provider would refuse
 * (pixel data cut short or corrupt, a header declaring more than sharp's default 268 Mpx
 * `limitInputPixels`) becomes a crashed note rather than a request refused for as long as the file stays
 * in history. The pixels go to a 32×32 thumbnail (JPEG shrinks on load), so memory stays small; the
 * normaliser caches the result per file version. About 0.05–0.3 s for a 12 Mpx JPEG.
 */
async function checkDecodes(sharp: Sharp, input: Buffer): Promise<void> {
  try {
    await sharp(input).resize(32, 32, { fit: "inside", withoutEnlargement: true }).raw().toBuffer();
  } catch (error) {
    throw undecodable(error);
  }
}

/** libvips errors span lines ("vipspng: libpng read error\nvips2png: …"): one line for the note. */
function undecodable(error: unknown): MediaError {
  const reason = error instanceof Error ? error.message.trim().replace(/\s*\n\s*/g, "; ") : String(error);
  return new MediaError(`the image could not be decoded (${reason})`);
}

function isEncodable(type: string): type is Encodable {
  return (ENCODABLE as readonly string[]).includes(type);
}
