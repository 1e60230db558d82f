import type { Usage } from "@starling/protocol";
import type { z } from "zod";
import { ProviderError } from "./types.js";

/** `json` read with `schema`; a mismatch is the server's fault (kind `server`), naming `what`. */
export function parseWire<T>(schema: z.ZodType<T>, json: unknown, what: string): T {
  const parsed = schema.safeParse(json);
  if (!parsed.success) throw new ProviderError("server", `the model sent a malformed ${what}`);
  return parsed.data;
}

/** A token count from a usage field: a non-negative integer, 0 when absent. */
export function tokenCount(value: number | null | undefined): number {
  return Math.max(0, Math.round(value ?? 0));
}

/** A Usage from raw counts; `cachedTokens` only when the server reported it. */
export function usageFrom(input: number | null | undefined, output: number | null | undefined, cached: number | null | undefined): Usage {
  return {
    inputTokens: tokenCount(input),
    outputTokens: tokenCount(output),
    ...(cached !== undefined && cached !== null ? { cachedTokens: tokenCount(cached) } : {}),
  };
}
