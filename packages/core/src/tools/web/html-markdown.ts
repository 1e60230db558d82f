/** Elements whose content never reaches the model (code, styling, embedded objects, hidden templates). */
const STRIPPED = ["script", "style", "noscript", "template", "iframe", "object", "embed", "svg", "canvas", "link", "meta"];

export interface ReadablePage {
  title: string;
  markdown: string;
  /** `article`: Readability found the main content; `page`: the whole body was converted. */
  extraction: "article" | "page";
}

/**
 * HTML → readable Markdown: linkedom parses, Mozilla Readability picks the main content (as in
 * Firefox Reader View), Turndown writes Markdown. Scripts and styles are removed before either
 * runs. The libraries are loaded on first use so a worker that never fetches a page pays nothing.
 */
export async function htmlToMarkdown(html: string, baseUrl: string): Promise<ReadablePage> {
  const [{ parseHTML }, { Readability }, { default: TurndownService }] = await Promise.all([
    import("linkedom"),
    import("@mozilla/readability"),
    import("turndown"),
  ]);
  const { document } = parseHTML(html);
  for (const element of document.querySelectorAll(STRIPPED.join(","))) element.remove();
  absolutiseLinks(document, baseUrl);
  const title = (document.querySelector("title")?.textContent ?? "").trim();
  const bodyHtml = document.body?.innerHTML ?? document.toString();

  let article: { title?: string | null; content?: string | null } | null = null;
  try {
    // Readability mutates the document it is given; the body was captured above.
    article = new Readability(document as unknown as ConstructorParameters<typeof Readability>[0], { charThreshold: 200 }).parse();
  } catch {
    article = null;
  }
  const turndown = new TurndownService({ headingStyle: "atx", codeBlockStyle: "fenced", bulletListMarker: "-" });
  turndown.remove(STRIPPED as unknown as Parameters<typeof turndown.remove>[0]);
  const useArticle = !!article?.content && textLength(article.content) > 0;
  const markdown = tidy(turndown.turndown(useArticle ? article!.content! : bodyHtml));
  return { title: (article?.title ?? "").trim() || title, markdown, extraction: useArticle ? "article" : "page" };
}

/** Relative links and images become absolute, so the model can fetch them next. */
interface LinkElement {
  getAttribute(name: string): string | null;
  setAttribute(name: string, value: string): void;
}

function absolutiseLinks(document: { querySelectorAll(selector: string): Iterable<LinkElement> }, baseUrl: string): void {
  for (const [selector, attribute] of [["a[href]", "href"], ["img[src]", "src"]] as const) {
    for (const element of document.querySelectorAll(selector)) {
      const value = element.getAttribute(attribute);
      if (!value || value.startsWith("#") || /^(javascript|data):/i.test(value)) continue;
      try {
        element.setAttribute(attribute, new URL(value, baseUrl).href);
      } catch {
        // leave a malformed link as it is
      }
    }
  }
}

function textLength(html: string): number {
  return html.replace(/<[^>]*>/g, "").trim().length;
}

/** Collapses the runs of blank lines conversion leaves behind. */
function tidy(markdown: string): string {
  return markdown.replace(/[ \t]+\n/g, "\n").replace(/\n{3,}/g, "\n\n").trim();
}
