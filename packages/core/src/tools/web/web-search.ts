import { deadline, lazyArguments } from "@starling/protocol";
import { z } from "zod";
import { ProviderError } from "../../providers/types.js";
import type { SearchResult } from "../../providers/search-types.js";
import { defineTool } from "../define-tool.js";
import { ToolError } from "../errors.js";
import { DEFAULT_KEYLESS_SEARCH_URL, keylessSearch } from "./keyless-search.js";

export const DEFAULT_SEARCH_RESULTS = 5;
export const DEFAULT_SEARCH_TIMEOUT_SECONDS = 30;
/** Brave allows 1..20; the keyless fallback gives at most 10 (reference §3.8). */
const MAX_PROVIDER_RESULTS = 20;
const MAX_KEYLESS_RESULTS = 10;

export const webSearchParameters = lazyArguments(() => z.object({
  query: z.string().trim().min(1, "the query is empty").describe("What to search the web for."),
  max_results: z
    .number()
    .int()
    .min(1)
    .optional()
    .describe(`How many results (default ${DEFAULT_SEARCH_RESULTS}; larger values are reduced to ${MAX_PROVIDER_RESULTS} with a search model, ${MAX_KEYLESS_RESULTS} without).`),
  timeout_seconds: z
    .number()
    .positive()
    .max(120)
    .optional()
    .describe(`Time limit in seconds (default ${DEFAULT_SEARCH_TIMEOUT_SECONDS}).`),
}));

export const webSearchTool = defineTool({
  name: "web_search",
  description:
    "Search the web. Returns JSON with the results (title, url, description or snippet). " +
    "Use web_fetch on a result's url to read the page.",
  parameters: webSearchParameters,
  readOnly: true,
  async execute(args, ctx) {
    const seconds = args.timeout_seconds ?? DEFAULT_SEARCH_TIMEOUT_SECONDS;
    const wanted = Math.min(args.max_results ?? DEFAULT_SEARCH_RESULTS, MAX_PROVIDER_RESULTS);
    const provider = ctx.helpers?.search();
    if (provider) {
      try {
        const results = await provider.search({ query: args.query, maxResults: wanted, signal: ctx.signal, timeoutSeconds: seconds });
        return { content: JSON.stringify(braveShape(args.query, results), null, 2), details: { backend: provider.config.model_name, results: results.length } };
      } catch (error) {
        if (error instanceof ProviderError && error.kind === "aborted") throw error;
        const what = error instanceof ProviderError && error.kind === "config" ? "is not usable" : "failed";
        throw new ToolError("failed", `web_search ${what}: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
    const endpoint = process.env.STARLING_WEB_SEARCH_URL || DEFAULT_KEYLESS_SEARCH_URL;
    const limit = deadline(ctx.signal, Math.ceil(seconds * 1000));
    try {
      const hits = await keylessSearch(endpoint, args.query, Math.min(wanted, MAX_KEYLESS_RESULTS), limit.signal);
      return { content: JSON.stringify({ query: args.query, results: hits }, null, 2), details: { backend: "keyless", results: hits.length } };
    } catch (error) {
      if (ctx.signal.aborted) throw error;
      if (limit.timedOut) throw new ToolError("failed", `web_search timed out after ${seconds} s. Try again, or with a larger timeout_seconds.`);
      throw new ToolError(
        "failed",
        `web_search (keyless fallback, ${new URL(endpoint).host}) failed: ${error instanceof Error ? error.message : String(error)}. ` +
          "A brave_search model as session_defaults.search_tool_model gives reliable search.",
      );
    } finally {
      limit.dispose();
    }
  },
});

/** The reference's Brave result value: query, a readable answer, citations and the results. */
function braveShape(query: string, results: SearchResult[]) {
  const answer = results.length
    ? results
        .map((r, i) =>
          [
            `${i + 1}. ${r.title || "Untitled result"}`,
            ...(r.url ? [`URL: ${r.url}`] : []),
            ...(r.description ? [`Snippet: ${r.description}`] : []),
            ...(r.extraSnippets.length ? [`Extra snippets: ${r.extraSnippets.join(" | ")}`] : []),
          ].join("\n"),
        )
        .join("\n\n")
    : "No web results returned.";
  return {
    query,
    answer,
    citations: results.map((r) => r.url).filter(Boolean),
    results: results.map((r) => ({
      title: r.title,
      url: r.url,
      description: r.description,
      ...(r.extraSnippets.length ? { extra_snippets: r.extraSnippets } : {}),
    })),
  };
}
