// The image limits the Anthropic Messages API enforces, as the fake refuses them (docs "Images and
// vision", General limits; messages as the API words them): each image's base64 data at most 5 MiB of
// characters, each side at most 8000 px, or 2000 px when the request carries more than 20 images.
import { imageSize } from "image-size";

const MAX_BASE64_CHARS = 5 * 1024 * 1024;
const MANY_IMAGES = 20;

interface Block {
  type?: string;
  source?: { type?: string; data?: string };
  content?: unknown;
}

/** The refusal message for the first image over a limit in an Anthropic request body; null when none is. */
export function imageLimitRefusal(body: Record<string, unknown>): string | null {
  const images: Array<{ path: string; data: string }> = [];
  const messages = Array.isArray(body["messages"]) ? (body["messages"] as Array<{ content?: unknown }>) : [];
  messages.forEach((message, m) => collect(message.content, `messages.${m}.content`, images));
  const maxSide = images.length > MANY_IMAGES ? 2000 : 8000;
  for (const { path, data } of images) {
    if (data.length > MAX_BASE64_CHARS) return `${path}.image.source.base64: image exceeds 5 MB maximum: ${data.length} bytes > ${MAX_BASE64_CHARS} bytes`;
    const { width = 0, height = 0 } = imageSize(Buffer.from(data, "base64"));
    if (width > maxSide || height > maxSide) {
      return images.length > MANY_IMAGES
        ? `${path}.image.source.base64.data: At least one of the image dimensions exceed max allowed size for many-image requests: 2000 pixels`
        : `${path}.image.source.base64.data: At least one of the image dimensions exceed max allowed size: 8000 pixels`;
    }
  }
  return null;
}

function collect(content: unknown, path: string, into: Array<{ path: string; data: string }>): void {
  if (!Array.isArray(content)) return;
  (content as Block[]).forEach((block, i) => {
    if (block.type === "image" && block.source?.type === "base64" && typeof block.source.data === "string") into.push({ path: `${path}.${i}`, data: block.source.data });
    if (block.type === "tool_result") collect(block.content, `${path}.${i}.content`, into);
  });
}
