import { crashPoint, type TranscriptItem } from "@starling/protocol";
import { earlierImages, writeGeneratedImage } from "./generated-images.js";
import { MAX_MEDIA_BYTES } from "./media-bytes.js";

const IMAGE_DATA_URL = /^data:(image\/[a-z0-9.+-]+);base64,(.*)$/is;

/**
 * Saves the images a chat model returned in its reply (file items carrying the URL it sent) into the
 * workspace's `generated/` folder, as the image_generation tool saves its images, and adds an
 * `<attachment>` line for each so the chat receives it. Only `data:image/…;base64,` URLs of at most
 * MAX_MEDIA_BYTES decoded are saved; any other becomes a note in the reply saying why it was not.
 * Items that are not files pass through unchanged. `stamp` names the files (`image-<stamp>-<n>`): the
 * caller derives it from the answer's place in the turn, so a step retried after a crash (its answer was
 * never stored) finds the files it wrote, when they hold the same bytes, instead of saving copies.
 * With `retried` (the answer may be a retry: the first model call of a continue), images
 * an earlier attempt saved under `stamp` that this answer did not return again (the model answered
 * otherwise the second time) are added too, with a line saying where they came from: the user sees
 * every image the turn made, and the model knows it was sent.
 */
export async function saveModelImages(content: readonly TranscriptItem[], workspace: string, stamp: string, { retried = false } = {}): Promise<TranscriptItem[]> {
  const earlier = retried ? await earlierImages(workspace, stamp) : [];
  if (!content.some((item) => item.type === "file") && !earlier.length) return [...content];
  const out: TranscriptItem[] = [];
  const lines: string[] = [];
  const paths: string[] = [];
  let written = false;
  let n = 0;
  for (const item of content) {
    if (item.type !== "file") {
      out.push(item);
      continue;
    }
    n += 1;
    const refused = refusal(item.uri);
    if (refused) {
      lines.push(`(Image ${n} returned by the model was not saved: ${refused}.)`);
      continue;
    }
    const [, mediaType, payload] = IMAGE_DATA_URL.exec(item.uri)!;
    try {
      const saved = await writeGeneratedImage(workspace, { data: Buffer.from(payload!, "base64"), mediaType: mediaType!.toLowerCase() }, stamp, n, { reuse: true });
      written ||= saved.written;
      out.push(saved.file);
      paths.push(saved.path);
      lines.push(`<attachment>${saved.path}</attachment>`);
    } catch (error) {
      lines.push(`(Image ${n} returned by the model was not saved: ${error instanceof Error ? error.message : String(error)}.)`);
    }
  }
  // Passed only when a file was written: a retry that found its files again goes on (and is not killed again).
  if (written) crashPoint("model_images");
  const unreturned = earlier.filter((image) => !paths.includes(image.path));
  if (unreturned.length) {
    out.push(...unreturned.map((image) => image.file));
    lines.push("(Also returned by an earlier attempt at this answer that was cut short:)", ...unreturned.map((image) => `<attachment>${image.path}</attachment>`));
  }
  if (lines.length) out.push({ type: "text", text: lines.join("\n") });
  return out;
}

/** Why a returned image URL is not saved, or undefined when it is an image data URL within the size limit. */
function refusal(uri: string): string | undefined {
  if (!/^data:/i.test(uri)) return `it is not inline data (${uri.split(":")[0]}: URL); only data:image/… URLs are saved`;
  const match = IMAGE_DATA_URL.exec(uri);
  if (!match) return `it is not a base64 image (${uri.slice(5, uri.indexOf(",") === -1 ? 45 : Math.min(uri.indexOf(","), 45))}); only data:image/…;base64 URLs are saved`;
  const payload = match[2]!;
  const bytes = Math.floor((payload.replace(/=+$/, "").length * 3) / 4);
  if (bytes > MAX_MEDIA_BYTES) return `it is ${bytes} bytes, over the ${MAX_MEDIA_BYTES}-byte limit for media files`;
  if (!/^[A-Za-z0-9+/\s]*={0,2}\s*$/.test(payload)) return "its base64 data is malformed";
  return undefined;
}
