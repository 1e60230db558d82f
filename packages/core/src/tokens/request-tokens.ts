import type { ToolSchema } from "../tools/types.js";
import type { TokenEstimator } from "./estimator.js";

/** Framing tokens per tool definition (type, function wrapper, field names). */
const TOOL_OVERHEAD = 8;

interface FixedCache {
  /** Per tool: keyed by its `parameters` object, which catalogs hand out unchanged until the tool changes. */
  tools: WeakMap<object, { name: string; description: string; tokens: number }>;
  system: { text: string; tokens: number } | null;
}

const caches = new WeakMap<TokenEstimator, FixedCache>();

/**
 * Tokens of what every model call sends besides the messages: the system prompt and the tool
 * definitions (name, description, JSON schema). Runs before every model call, so nothing is
 * re-tokenised while it stays the same: the system prompt is compared with the last one counted,
 * each tool is looked up by its schema object (a changed MCP tool comes with a new one).
 */
export function fixedRequestTokens(estimator: TokenEstimator, system: string, tools: readonly ToolSchema[]): number {
  let cache = caches.get(estimator);
  if (!cache) caches.set(estimator, (cache = { tools: new WeakMap(), system: null }));
  if (cache.system?.text !== system) cache.system = { text: system, tokens: estimator.textTokens(system) };
  let total = cache.system.tokens;
  for (const tool of tools) {
    let entry = cache.tools.get(tool.parameters);
    if (!entry || entry.name !== tool.name || entry.description !== tool.description) {
      const tokens = TOOL_OVERHEAD + estimator.textTokens(tool.name) + estimator.textTokens(tool.description) + estimator.textTokens(JSON.stringify(tool.parameters));
      entry = { name: tool.name, description: tool.description, tokens };
      cache.tools.set(tool.parameters, entry);
    }
    total += entry.tokens;
  }
  return total;
}
