// A fake of DuckDuckGo's script-free results page (html.duckduckgo.com/html/) for web_search's
// keyless fallback. Markup follows the real page: `.result` blocks with `a.result__a` (a
// `//duckduckgo.com/l/?uddg=<url>` redirect link) and `.result__snippet`.
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

export interface FakeHit {
  title: string;
  url: string;
  snippet: string;
}

export interface FakeDuckDuckGo {
  /** Endpoint to put in STARLING_WEB_SEARCH_URL: `http://127.0.0.1:<port>/html/`. */
  url: string;
  /** Queries received (`q` parameter), in order. */
  queries: string[];
  close(): Promise<void>;
}

/** `results(query)` gives the hits for a query; `status` other than 200 answers with that status. */
export async function startFakeDuckDuckGo(results: (query: string) => FakeHit[], status = 200): Promise<FakeDuckDuckGo> {
  const queries: string[] = [];
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://x");
    const q = url.searchParams.get("q") ?? "";
    queries.push(q);
    if (status !== 200) return void res.writeHead(status, { "content-type": "text/html" }).end("<html><body>error</body></html>");
    const blocks = results(q).map(
      (hit) => `<div class="result results_links results_links_deep web-result">
  <div class="links_main links_deep result__body">
    <h2 class="result__title"><a rel="nofollow" class="result__a" href="//duckduckgo.com/l/?uddg=${encodeURIComponent(hit.url)}&amp;rut=abc">${escape(hit.title)}</a></h2>
    <div class="result__extras"><a class="result__url" href="${escape(hit.url)}">${escape(hit.url)}</a></div>
    <a class="result__snippet" href="${escape(hit.url)}">${escape(hit.snippet)}</a>
  </div>
</div>`,
    );
    res.writeHead(200, { "content-type": "text/html; charset=UTF-8" });
    res.end(`<!DOCTYPE html><html><head><title>${escape(q)} at DuckDuckGo</title></head><body><div id="links" class="results">${blocks.join("\n")}</div></body></html>`);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/html/`,
    queries,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

function escape(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}
