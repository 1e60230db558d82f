import { MediaError } from "./media-bytes.js";

/** Formats the image encoder writes; any other wanted type is written as PNG. */
const ENCODABLE = ["image/png", "image/jpeg", "image/webp"] as const;
type Encodable = (typeof ENCODABLE)[number];

export interface ImageLimits {
  maxWidth?: number;
  maxHeight?: number;
  /** Accepted media types; empty or absent = any. */
  supported?: readonly string[];
}

export interface FittedImage {
  data: Buffer;
  mediaType: string;
  width: number;
  height: number;
  /** Whether the pixels or the format changed. (width/height are 0 when nothing had to be checked.) */
  changed: boolean;
}

/**
 * Decodes an image (sharp/libvips, loaded on first use), shrinks it to fit `maxWidth`×`maxHeight`
 * keeping its aspect ratio, and keeps its format when the model accepts it, else re-encodes to the
 * first accepted format the encoder writes (PNG by default). An image already within limits and in
 * an accepted format is returned byte for byte.
 */
export async function fitImage(input: Buffer, sourceType: string, limits: ImageLimits): Promise<FittedImage> {
  const supportedList = limits.supported?.length ? limits.supported.map((t) => t.toLowerCase()) : null;
  if (limits.maxWidth === undefined && limits.maxHeight === undefined && (!supportedList || supportedList.includes(sourceType))) {
    // Nothing to enforce: pass the bytes on without decoding them.
    return { data: input, mediaType: sourceType, width: 0, height: 0, changed: false };
  }
  const { default: sharp } = await import("sharp");
  let meta: { width?: number; height?: number; format?: string; orientation?: number };
  try {
    meta = await sharp(input).metadata();
  } catch (error) {
    throw undecodable(error);
  }
  const width = meta.width ?? 0;
  const height = meta.height ?? 0;
  const tooBig = (limits.maxWidth !== undefined && width > limits.maxWidth) || (limits.maxHeight !== undefined && height > limits.maxHeight);
  const supported = supportedList;
  const accepted = !supported || supported.includes(sourceType);
  if (!tooBig && accepted) return { data: input, mediaType: sourceType, width, height, changed: false };

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
  return { data, mediaType: target, width: info.width, height: info.height, changed: true };
}

/** libvips errors span lines ("vipspng: libpng read error\nvips2png: …"): one line for the note. */
function undecodable(error: unknown): MediaError {
  const reason = error instanceof Error ? error.message.trim().replace(/\s*\n\s*/g, "; ") : String(error);
  return new MediaError(`the image could not be decoded (${reason})`);
}

function isEncodable(type: string): type is Encodable {
  return (ENCODABLE as readonly string[]).includes(type);
}
