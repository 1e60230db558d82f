import { z } from "zod";
import { lazySchema } from "./lazy-schema.js";

const absolute = z
  .string()
  .max(4096)
  .refine((p) => p.startsWith("/"), "must be an absolute path");

/** A real path a hidden path led to, found by a worker's lookup. */
export const FoundReal = z.object({
  /** The hidden path as listed in `initialize.sandbox.hiddenPaths`. */
  listed: absolute,
  /** Where it led when the worker looked (its real path). */
  real: absolute,
});
export type FoundReal = z.infer<typeof FoundReal>;

/**
 * `sandbox/hiddenPaths` (worker → host): real paths the worker's hidden-path lookups found during its life
 * that the host did not hand it (a listed path created, or its link repointed, while the worker ran). The host
 * keeps each one it accepts for later workers (its HiddenPathLedger) before it answers; the worker waits for the
 * answer before the tool, command or MCP server that follows the lookup starts. Untrusted input to the host: it
 * keeps only a real path of a path it listed, reached without links, that the ledger would keep at a worker start.
 */
export const hiddenPathsParams = lazySchema(() => z.object({ found: z.array(FoundReal).min(1).max(64) }));
export type HiddenPathsParams = z.infer<ReturnType<typeof hiddenPathsParams>>;

/** `kept`: the reported real paths the host keeps for later workers (stored now or before); the rest were refused. */
export const hiddenPathsResult = lazySchema(() => z.object({ kept: z.array(z.string()) }));
export type HiddenPathsResult = z.infer<ReturnType<typeof hiddenPathsResult>>;
