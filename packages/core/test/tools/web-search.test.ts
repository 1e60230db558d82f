import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startFakeDuckDuckGo, type FakeDuckDuckGo } from "../../../../test/fakes/duckduckgo-html.js";
import { webSearchTool } from "../../src/tools/web/web-search.js";
import { makeHarness, type Harness } from "./helpers.js";

let ddg: FakeDuckDuckGo;
let h: Harness;

beforeAll(async () => {
  ddg = await startFakeDuckDuckGo((q) =>
    Array.from({ length: 15 }, (_, i) => ({
      title: `${q} result ${i + 1}`,
      url: `https://example.org/${i + 1}?a=1&b=2`,
      snippet: `About ${q} & more, number ${i + 1}.`,
    })),
  );
  h = await makeHarness({ tools: [webSearchTool] });
});

afterEach(() => {
  delete process.env.STARLING_WEB_SEARCH_URL;
});

afterAll(async () => {
  await h.cleanup();
  await ddg.close();
});

describe("web_search without a search model (keyless fallback)", () => {
  it("returns titles, unwrapped URLs and snippets from the results page", async () => {
    process.env.STARLING_WEB_SEARCH_URL = ddg.url;
    const r = await h.call("web_search", { query: "lunar regolith", max_results: 3 });
    expect(r.isError).toBe(false);
    const value = JSON.parse(r.content) as { query: string; results: { title: string; url: string; snippet: string }[] };
    expect(value.query).toBe("lunar regolith");
    expect(value.results).toEqual([1, 2, 3].map((i) => ({
      title: `lunar regolith result ${i}`,
      url: `https://example.org/${i}?a=1&b=2`,
      snippet: `About lunar regolith & more, number ${i}.`,
    })));
    expect(ddg.queries.at(-1)).toBe("lunar regolith");
  });

  it("gives at most 10 results and 5 by default", async () => {
    process.env.STARLING_WEB_SEARCH_URL = ddg.url;
    const many = JSON.parse((await h.call("web_search", { query: "x", max_results: 20 })).content) as { results: unknown[] };
    expect(many.results).toHaveLength(10);
    const dflt = JSON.parse((await h.call("web_search", { query: "x" })).content) as { results: unknown[] };
    expect(dflt.results).toHaveLength(5);
  });

  it("reports a failing search page and an empty query clearly", async () => {
    const broken = await startFakeDuckDuckGo(() => [], 503);
    try {
      process.env.STARLING_WEB_SEARCH_URL = broken.url;
      const r = await h.call("web_search", { query: "x" });
      expect(r.isError).toBe(true);
      expect(r.content).toContain("HTTP 503");
      expect(r.content).toContain("search_tool_model");
    } finally {
      await broken.close();
    }
    const empty = await h.call("web_search", { query: "   " });
    expect(empty.details?.kind).toBe("invalid_arguments");
    expect(empty.content).toContain("the query is empty");
  });
});
