import { closeSync, constants, fstatSync, openSync, readSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { imageSize } from "image-size";
import { lazySchema, type FileItem, type ModelConfig } from "@starling/protocol";
import { z } from "zod";
import { configuredImageSides, fittedSize } from "../media/image-fit.js";

/** Tokens for a file when the model config names no `multimodal_estimator.image` strategy. */
export const DEFAULT_FILE_TOKENS = 256;
/** Enough of a file to read any common image header. */
const HEADER_BYTES = 256 * 1024;

/** `multimodal_estimator.image` strategies (reference §5.2); built when a model config names one. */
const strategySchema = lazySchema(() =>
  z.union([
    z.literal("ignore"),
    z.literal("provider_derived"),
    z.object({ fixed_tokens: z.object({ tokens_per_file: z.number().nonnegative() }) }),
    z.object({ patch_grid: z.object({ patch_size: z.number().positive(), patch_budget: z.number().positive(), multiplier: z.number().nonnegative() }) }),
    z.object({
      tile_grid: z.object({
        low_detail_tokens: z.number().nonnegative(),
        base_tokens: z.number().nonnegative(),
        tokens_per_tile: z.number().nonnegative(),
        max_dimension: z.number().positive(),
        target_shortest_side: z.number().positive(),
        tile_size: z.number().positive(),
        detail: z.string().optional(),
      }),
    }),
    z.object({
      area_approx: z.object({
        pixels_per_token: z.number().positive(),
        max_tokens: z.number().nonnegative(),
        max_long_edge: z.number().positive(),
        pad_to_multiple: z.number().positive(),
      }),
    }),
  ]),
);
type Strategy = z.infer<ReturnType<typeof strategySchema>>;

export type FileTokenCounter = (file: FileItem) => number;

/**
 * Token cost of files per `multimodal_estimator.image` (reference §5.2): `ignore` → 0;
 * `fixed_tokens`; `patch_grid`, `tile_grid`, `area_approx` from the image's width and height as sent:
 * read from its header and fitted to the model's `multimodal_input.image` sides as the normaliser fits
 * it (unreadable → 0, as the reference counts images without size).
 * PDFs and audio under a size-based strategy, `provider_derived` and an unreadable strategy
 * count DEFAULT_FILE_TOKENS (the reference errors there; an estimate must not fail a turn).
 * No strategy configured: DEFAULT_FILE_TOKENS per file.
 */
export function fileTokenCounter(config: ModelConfig): FileTokenCounter {
  const raw = config.multimodal_estimator?.image;
  if (raw === undefined || raw === null) return () => DEFAULT_FILE_TOKENS;
  const parsed = strategySchema().safeParse(raw);
  if (!parsed.success || parsed.data === "provider_derived") return () => DEFAULT_FILE_TOKENS;
  const strategy = parsed.data;
  if (strategy === "ignore") return () => 0;
  if ("fixed_tokens" in strategy) return () => strategy.fixed_tokens.tokens_per_file;
  const sizes = new Map<string, { width: number; height: number } | null>();
  // What is sent is the image fitted to the model's sides (normalize.ts), not the original: a 12000 px photo goes out at 8000 px or less.
  const sides = configuredImageSides(config.multimodal_input?.image);
  return (file) => {
    const type = file.mediaType ?? "";
    if (type === "application/pdf" || type.startsWith("audio/")) return DEFAULT_FILE_TOKENS;
    if (!sizes.has(file.uri)) {
      const size = readSize(file.uri);
      sizes.set(file.uri, size && fittedSize(size.width, size.height, sides));
    }
    const size = sizes.get(file.uri);
    return size ? imageTokens(strategy, size.width, size.height) : 0;
  };
}

export function imageTokens(strategy: Exclude<Strategy, string | { fixed_tokens: unknown }>, width: number, height: number): number {
  if ("patch_grid" in strategy) {
    const { patch_size: ps, patch_budget: budget, multiplier } = strategy.patch_grid;
    let patches = Math.ceil(width / ps) * Math.ceil(height / ps);
    if (patches > budget) {
      let scale = Math.sqrt((ps * ps * budget) / (width * height));
      scale *= Math.min(Math.floor((width * scale) / ps) / ((width * scale) / ps), Math.floor((height * scale) / ps) / ((height * scale) / ps));
      const w = Math.max(1, Math.floor(width * scale));
      const h = Math.max(1, Math.floor(height * scale));
      patches = Math.min(Math.ceil(w / ps) * Math.ceil(h / ps), budget);
    }
    return Math.ceil(patches * multiplier);
  }
  if ("tile_grid" in strategy) {
    const t = strategy.tile_grid;
    if (t.detail === "low") return t.low_detail_tokens;
    let w = width;
    let h = height;
    const longest = Math.max(w, h);
    if (longest > t.max_dimension) {
      w = Math.round((w * t.max_dimension) / longest);
      h = Math.round((h * t.max_dimension) / longest);
    }
    const shortest = Math.min(w, h);
    w = Math.round((w * t.target_shortest_side) / shortest);
    h = Math.round((h * t.target_shortest_side) / shortest);
    return t.base_tokens + Math.ceil(w / t.tile_size) * Math.ceil(h / t.tile_size) * t.tokens_per_tile;
  }
  const a = strategy.area_approx;
  let w = width;
  let h = height;
  const longest = Math.max(w, h);
  if (longest > a.max_long_edge) {
    w = (w * a.max_long_edge) / longest;
    h = (h * a.max_long_edge) / longest;
  }
  w = Math.ceil(w / a.pad_to_multiple) * a.pad_to_multiple;
  h = Math.ceil(h / a.pad_to_multiple) * a.pad_to_multiple;
  return Math.min(Math.round((w * h) / a.pixels_per_token), a.max_tokens);
}

/** Width and height from a data: URL or a file:// image header; null when not readable. */
function readSize(uri: string): { width: number; height: number } | null {
  try {
    let bytes: Uint8Array;
    const data = /^data:[^,]*;base64,(.*)$/is.exec(uri);
    if (data) bytes = Buffer.from(data[1] ?? "", "base64");
    else if (uri.startsWith("file:")) bytes = readHead(fileURLToPath(uri));
    else return null;
    const { width, height } = imageSize(bytes);
    return width && height ? { width, height } : null;
  } catch {
    return null;
  }
}

/**
 * The first bytes of the file at `path`. Synchronous (estimates are), so the open must never wait: a FIFO
 * put in the image's place (the workspace is the agent's) would block the event loop until a writer came.
 */
function readHead(path: string): Uint8Array {
  const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    if (!fstatSync(fd).isFile()) throw new Error(`${path} is not a regular file`);
    const buffer = Buffer.alloc(HEADER_BYTES);
    return buffer.subarray(0, readSync(fd, buffer, 0, HEADER_BYTES, 0));
  } finally {
    closeSync(fd);
  }
}
