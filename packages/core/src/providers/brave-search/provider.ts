import { lazySchema, type ModelConfig } from "@starling/protocol";
import { z } from "zod";
import { redactSecret, resolveApiKey } from "../api-key.js";
import { DEFAULT_CONN_TIMEOUT_SECS, HttpExchange, statusError } from "../http.js";
import { withRetries } from "../retry.js";
import type { SearchProvider, SearchRequest, SearchResult } from "../search-types.js";
import { ProviderError } from "../types.js";
import { parseWire } from "../wire-parse.js";

/** Brave returns at most 20 web results per request. */
export const BRAVE_MAX_RESULTS = 20;

/** Brave's search reply, read loosely; built when a session first searches with Brave. */
const wireSearch = lazySchema(() => {
  const WireResult = z.looseObject({
    title: z.string().nullish(),
    url: z.string().nullish(),
    description: z.string().nullish(),
    extra_snippets: z.array(z.string()).nullish(),
  });
  return z.looseObject({ web: z.looseObject({ results: z.array(WireResult).nullish() }).nullish() });
});

/**
 * `brave_search`: GET `<url>?q=…&count=…&result_filter=web&text_decorations=false&extra_snippets=true`
 * with `x-subscription-token`. The whole request must finish within `timeoutSeconds` (default
 * `conn_timeout`, at least 1 s). Retries follow `retry_mode` (429/5xx/network).
 */
export function createBraveSearchProvider(config: ModelConfig, env: NodeJS.ProcessEnv): SearchProvider {
  return {
    config,
    async search(request: SearchRequest): Promise<SearchResult[]> {
      const apiKey = resolveApiKey(config, env);
      const count = Math.min(BRAVE_MAX_RESULTS, Math.max(1, Math.floor(request.maxResults)));
      const url = new URL(config.url);
      url.searchParams.set("q", request.query);
      url.searchParams.set("count", String(count));
      url.searchParams.set("result_filter", "web");
      url.searchParams.set("text_decorations", "false");
      url.searchParams.set("extra_snippets", "true");
      const timeoutMs = Math.max(1, request.timeoutSeconds ?? config.conn_timeout ?? DEFAULT_CONN_TIMEOUT_SECS) * 1000;
      const headers: Record<string, string> = { accept: "application/json", ...(apiKey !== undefined ? { "x-subscription-token": apiKey } : {}) };
      const attempt = async (): Promise<SearchResult[]> => {
        const exchange = new HttpExchange(request.signal, { connTimeoutMs: timeoutMs, idleTimeoutMs: timeoutMs });
        try {
          const response = await exchange.send(url.href, { method: "GET", headers });
          const body = await exchange.text(response);
          if (!response.ok) throw statusError(response.status, response.headers, body, config.url);
          let json: unknown;
          try {
            json = JSON.parse(body);
          } catch {
            throw new ProviderError("server", "the search service sent a reply that is not JSON");
          }
          return mapBraveResults(json, count);
        } catch (cause) {
          throw exchange.toError(cause, "search request failed");
        } finally {
          exchange.cancel();
          exchange.dispose();
        }
      };
      try {
        return await withRetries(attempt, { signal: request.signal, retryMode: config.retry_mode });
      } catch (error) {
        throw redactSecret(error, apiKey);
      }
    },
  };
}

/** `web.results[]` → SearchResults: strings trimmed, entries with no title, url or description skipped, at most `count`. */
export function mapBraveResults(json: unknown, count: number): SearchResult[] {
  const body = parseWire(wireSearch(), json, "search reply");
  const results: SearchResult[] = [];
  for (const raw of body.web?.results ?? []) {
    const result: SearchResult = {
      title: raw.title?.trim() ?? "",
      url: raw.url?.trim() ?? "",
      description: raw.description?.trim() ?? "",
      extraSnippets: (raw.extra_snippets ?? []).map((s) => s.trim()).filter((s) => s !== ""),
    };
    if (!result.title && !result.url && !result.description) continue;
    results.push(result);
    if (results.length >= count) break;
  }
  return results;
}

/** The reference's plain-text rendering of results (numbered blocks), for the model. */
export function formatSearchAnswer(results: readonly SearchResult[]): string {
  if (results.length === 0) return "No web results returned.";
  return results
    .map((r, i) =>
      [
        `${i + 1}. ${r.title || "Untitled result"}`,
        ...(r.url ? [`URL: ${r.url}`] : []),
        ...(r.description ? [`Snippet: ${r.description}`] : []),
        ...(r.extraSnippets.length > 0 ? [`Extra snippets: ${r.extraSnippets.join(" | ")}`] : []),
      ].join("\n"),
    )
    .join("\n\n");
}
