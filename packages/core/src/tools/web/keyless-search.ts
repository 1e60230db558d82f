import { HttpExchange } from "../../providers/http.js";
import { USER_AGENT } from "./guarded-http.js";

/** DuckDuckGo's script-free results page; `STARLING_WEB_SEARCH_URL` points elsewhere (a mirror, or a fake in tests). */
export const DEFAULT_KEYLESS_SEARCH_URL = "https://html.duckduckgo.com/html/";

export interface KeylessHit {
  title: string;
  url: string;
  snippet: string;
}

/**
 * The search used when no `search_tool_model` is configured (reference §3.8): GET the DuckDuckGo
 * HTML endpoint with `q`, read result anchors (`.result__a`) and snippets (`.result__snippet`),
 * unwrap DuckDuckGo's redirect links (`uddg=`). Rejects with an Error on HTTP or parse failure. The
 * endpoint is the operator's (not the agent's), so redirects are followed without the web tools'
 * address policy; `signal` bounds the whole search.
 */
export async function keylessSearch(endpoint: string, query: string, maxResults: number, signal: AbortSignal): Promise<KeylessHit[]> {
  const url = new URL(endpoint);
  url.searchParams.set("q", query);
  const html = await getPage(url, signal);
  const { parseHTML } = await import("linkedom");
  const { document } = parseHTML(html);
  const hits: KeylessHit[] = [];
  for (const result of document.querySelectorAll(".result")) {
    const anchor = result.querySelector("a.result__a");
    if (!anchor) continue;
    const title = clean(anchor.textContent ?? "");
    const link = unwrapRedirect(anchor.getAttribute("href") ?? "", url);
    if (!title || !link) continue;
    hits.push({ title, url: link, snippet: clean(result.querySelector(".result__snippet")?.textContent ?? "") });
    if (hits.length >= maxResults) break;
  }
  if (hits.length === 0 && /anomaly|captcha|unusual traffic/i.test(html)) {
    throw new Error("the keyless search endpoint refused the request (bot check); configure a brave_search model as session_defaults.search_tool_model");
  }
  return hits;
}

const MAX_REDIRECTS = 5;
const REDIRECTS = new Set([301, 302, 303, 307, 308]);
/** The exchange's own limits never bind: the caller's signal carries the search's timeout. */
const NO_LIMIT_MS = 2_147_483_647;

/** GETs the results page over node:http(s) (the extra CA applies), following redirects. */
async function getPage(start: URL, signal: AbortSignal): Promise<string> {
  let url = start;
  for (let hops = 0; ; hops++) {
    const exchange = new HttpExchange(signal, { connTimeoutMs: NO_LIMIT_MS, idleTimeoutMs: NO_LIMIT_MS });
    try {
      const response = await exchange.send(url.href, { method: "GET", headers: { "user-agent": USER_AGENT, accept: "text/html" } });
      const location = response.headers.get("location");
      if (REDIRECTS.has(response.status) && location) {
        if (hops >= MAX_REDIRECTS) throw new Error(`the search page redirected more than ${MAX_REDIRECTS} times`);
        url = new URL(location, url);
        continue;
      }
      const html = await exchange.text(response);
      if (!response.ok) throw new Error(`the search page answered HTTP ${response.status}`);
      return html;
    } finally {
      exchange.cancel();
      exchange.dispose();
    }
  }
}

/** `//duckduckgo.com/l/?uddg=https%3A%2F%2Fexample.com` → `https://example.com`. */
function unwrapRedirect(href: string, base: URL): string {
  try {
    const url = new URL(href, base);
    const target = url.searchParams.get("uddg");
    return target ?? (url.protocol === "http:" || url.protocol === "https:" ? url.href : "");
  } catch {
    return "";
  }
}

function clean(text: string): string {
  return text.replace(/\s+/g, " ").trim();
}
