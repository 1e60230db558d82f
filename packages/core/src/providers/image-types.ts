import type { ModelConfig } from "@starling/protocol";
import type { RetryNotice } from "./types.js";

/** An input image for an edit, already read (and resized) by the caller. */
export interface ImageInput {
  data: Uint8Array;
  /** e.g. `image/png`; default `image/png`. */
  mediaType?: string;
  /** File name sent in the multipart form; default `image.<ext>`. */
  name?: string;
}

export interface ImageGenerationRequest {
  prompt: string;
  signal: AbortSignal;
  onRetry?: (notice: RetryNotice) => void;
}

export interface ImageEditRequest extends ImageGenerationRequest {
  /** At least one image; the API edits the first (more are sent as extra `image[]` parts). */
  images: readonly ImageInput[];
}

/** One generated image: bytes (from `b64_json`, always PNG) or a URL the server host keeps. */
export type GeneratedImage =
  | { kind: "bytes"; data: Uint8Array; mediaType: "image/png" }
  | { kind: "url"; url: string };

export interface ImageResult {
  images: GeneratedImage[];
  /** Non-blank `revised_prompt`s the server returned, in order. */
  revisedPrompts: string[];
}

/**
 * `openai_image` (alias `openai_image_edit`): POST `<base>/images/generations` (JSON) or
 * `<base>/images/edits` (multipart). Writing bytes to files is the caller's job. Retries follow
 * `retry_mode`; errors are ProviderErrors (429/5xx/network retryable, other 4xx not).
 */
export interface ImageProvider {
  readonly config: ModelConfig;
  generate(request: ImageGenerationRequest): Promise<ImageResult>;
  edit(request: ImageEditRequest): Promise<ImageResult>;
}
