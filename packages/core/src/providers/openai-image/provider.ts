import { lazySchema, type ModelConfig } from "@starling/protocol";
import { z } from "zod";
import { redactSecret, resolveApiKey } from "../api-key.js";
import { extractErrorMessage, HttpExchange, statusError } from "../http.js";
import { limitsOf } from "../http-chat-provider.js";
import type { GeneratedImage, ImageEditRequest, ImageGenerationRequest, ImageInput, ImageProvider, ImageResult } from "../image-types.js";
import { withRetries } from "../retry.js";
import { ProviderError } from "../types.js";
import { parseWire } from "../wire-parse.js";

/** The image API's reply, read loosely; built when a session first generates an image. */
const wireImages = lazySchema(() =>
  z.looseObject({
    data: z.array(z.looseObject({ b64_json: z.string().nullish(), url: z.string().nullish(), revised_prompt: z.string().nullish() })).nullish(),
    error: z.unknown().optional(),
  }),
);

const EXTENSIONS: Record<string, string> = { "image/png": "png", "image/jpeg": "jpg", "image/webp": "webp", "image/gif": "gif" };

/** `<base>/images/<kind>` from `url`: a trailing `/`, `/images/edits` or `/images/generations` is dropped first. */
export function imageEndpoint(url: string, kind: "generations" | "edits"): string {
  const base = url.replace(/\/+$/, "").replace(/\/images\/(edits|generations)$/, "");
  return `${base}/images/${kind}`;
}

/**
 * `openai_image` (alias `openai_image_edit`): generations as JSON `{model, prompt, n: 1}`, edits
 * as multipart (`model`, `prompt`, `n`, `image`), bearer auth. `conn_timeout` bounds the wait for
 * response headers (image models can take a minute: keep it generous); retries follow
 * `retry_mode`.
 */
export function createOpenAIImageProvider(config: ModelConfig, env: NodeJS.ProcessEnv): ImageProvider {
  const limits = limitsOf(config, {});

  async function call(kind: "generations" | "edits", request: ImageGenerationRequest, body: () => string | FormData): Promise<ImageResult> {
    if (request.prompt.trim() === "") throw new ProviderError("bad_request", "image generation requires a prompt");
    const apiKey = resolveApiKey(config, env);
    const url = imageEndpoint(config.url, kind);
    const attempt = async (): Promise<ImageResult> => {
      const exchange = new HttpExchange(request.signal, limits);
      try {
        const headers: Record<string, string> = { accept: "application/json", ...(apiKey !== undefined ? { authorization: `Bearer ${apiKey}` } : {}) };
        const payload = body();
        if (typeof payload === "string") headers["content-type"] = "application/json";
        const response = await exchange.send(url, { method: "POST", headers, body: payload });
        const text = await exchange.text(response);
        if (!response.ok) throw statusError(response.status, response.headers, text, url);
        return mapImages(text);
      } catch (cause) {
        throw exchange.toError(cause, "image request failed");
      } finally {
        exchange.cancel();
        exchange.dispose();
      }
    };
    try {
      return await withRetries(attempt, { signal: request.signal, retryMode: config.retry_mode, onRetry: request.onRetry });
    } catch (error) {
      throw redactSecret(error, apiKey);
    }
  }

  return {
    config,
    generate: (request) => call("generations", request, () => JSON.stringify({ model: config.model_name, prompt: request.prompt, n: 1 })),
    async edit(request: ImageEditRequest) {
      if (request.images.length === 0) throw new ProviderError("bad_request", "an image edit needs at least one input image");
      return call("edits", request, () => {
        const form = new FormData();
        form.set("model", config.model_name);
        form.set("prompt", request.prompt);
        form.set("n", "1");
        const field = request.images.length === 1 ? "image" : "image[]";
        request.images.forEach((image, i) => form.append(field, blobOf(image), fileName(image, i)));
        return form;
      });
    },
  };
}

function blobOf(image: ImageInput): Blob {
  return new Blob([image.data], { type: image.mediaType ?? "image/png" });
}

function fileName(image: ImageInput, index: number): string {
  return image.name ?? `image${index === 0 ? "" : `-${index + 1}`}.${EXTENSIONS[image.mediaType ?? "image/png"] ?? "png"}`;
}

/** `{data: [{b64_json | url, revised_prompt}]}` → ImageResult; an `error` or no image at all fails. */
function mapImages(text: string): ImageResult {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new ProviderError("server", "the image service sent a reply that is not JSON");
  }
  const body = parseWire(wireImages(), json, "image reply");
  if (body.error !== undefined && body.error !== null) {
    throw new ProviderError("bad_request", `the image service reported an error: ${extractErrorMessage(json) ?? "unknown error"}`);
  }
  const images: GeneratedImage[] = [];
  const revisedPrompts: string[] = [];
  for (const item of body.data ?? []) {
    if (item.revised_prompt?.trim()) revisedPrompts.push(item.revised_prompt.trim());
    if (item.b64_json) images.push({ kind: "bytes", data: Buffer.from(item.b64_json, "base64"), mediaType: "image/png" });
    else if (item.url) images.push({ kind: "url", url: item.url });
  }
  if (images.length === 0) throw new ProviderError("server", "the image service returned no image");
  return { images, revisedPrompts };
}
