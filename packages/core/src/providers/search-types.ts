import type { ModelConfig } from "@starling/protocol";

/** One web search (the `web_search` tool's arguments, already validated). */
export interface SearchRequest {
  query: string;
  /** Wanted results; providers clamp it to what their API allows (Brave: 1..20). */
  maxResults: number;
  /** Cancels the request at once; the call then rejects with ProviderError kind `aborted`. */
  signal: AbortSignal;
  /** Whole-request time limit in seconds (the tool's `timeout_seconds`); default: the model's `conn_timeout`. */
  timeoutSeconds?: number;
}

/** One hit, strings trimmed; empty fields are "" (never undefined) so callers can render them directly. */
export interface SearchResult {
  title: string;
  url: string;
  description: string;
  extraSnippets: string[];
}

/**
 * A web search backend (`provider_type: brave_search`). Rejects with a ProviderError: kind
 * `config` for a missing key (naming the variable), `auth` for 401/403, `rate_limited`/`server`
 * for 429/5xx (retried per the model's `retry_mode` first), `aborted` on cancel.
 */
export interface SearchProvider {
  readonly config: ModelConfig;
  search(request: SearchRequest): Promise<SearchResult[]>;
}
