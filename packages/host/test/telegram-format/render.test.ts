import { describe, expect, it } from "vitest";
import { htmlToPlain, renderTelegramHtml } from "../../src/channels/telegram/format/index.js";
import { assertTelegramHtml, telegramHtmlProblems } from "./helpers.js";

function render(md: string): string {
  const html = renderTelegramHtml(md);
  assertTelegramHtml(html, Number.MAX_SAFE_INTEGER);
  return html;
}

describe("telegram HTML validator (test helper)", () => {
  it("accepts the Telegram subset and rejects the rest", () => {
    expect(telegramHtmlProblems('<b>x</b> <a href="https://a?b=1&amp;c">l</a> <pre><code class="language-ts">1 &lt; 2</code></pre>')).toEqual([]);
    expect(telegramHtmlProblems("<div>x</div>")).not.toEqual([]);
    expect(telegramHtmlProblems("<b><i>x</b></i>")).not.toEqual([]);
    expect(telegramHtmlProblems("<b>x")).not.toEqual([]);
    expect(telegramHtmlProblems("a < b & c")).not.toEqual([]);
    expect(telegramHtmlProblems("&nbsp;")).not.toEqual([]);
    expect(telegramHtmlProblems("<blockquote><blockquote>x</blockquote></blockquote>")).not.toEqual([]);
  });
});

describe("renderTelegramHtml", () => {
  it("renders headings as bold lines", () => {
    expect(render("# Title\n\n## Sub *it*\n\ntext")).toBe("<b>Title</b>\n\n<b>Sub <i>it</i></b>\n\ntext");
  });

  it("renders bold, italic, strikethrough, spoiler and nesting", () => {
    expect(render("**bold** _it_ ***both*** ~~gone~~ ||secret||")).toBe(
      "<b>bold</b> <i>it</i> <i><b>both</b></i> <s>gone</s> <tg-spoiler>secret</tg-spoiler>",
    );
  });

  it("renders inline code escaped and never inside formatting", () => {
    expect(render("use `a < b && c` now")).toBe("use <code>a &lt; b &amp;&amp; c</code> now");
    expect(render("**see `x` here**")).toBe("<b>see </b><code>x</code><b> here</b>");
  });

  it("renders fenced code with a language, escaped", () => {
    const html = render("```ts\nif (a < b && c > d) {}\n```");
    expect(html).toBe('<pre><code class="language-ts">if (a &lt; b &amp;&amp; c &gt; d) {}</code></pre>');
    expect(render("```\nplain\n```")).toBe("<pre>plain</pre>");
    expect(render('```"><script>\nx\n```')).toBe("<pre>x</pre>");
  });

  it("renders links with & and quotes in the href escaped", () => {
    const html = render('[a & b](https://example.com/?q=1&r="2") and <https://x.y/?a=1&b=2>');
    expect(html).toBe(
      '<a href="https://example.com/?q=1&amp;r=&quot;2&quot;">a &amp; b</a> and <a href="https://x.y/?a=1&amp;b=2">https://x.y/?a=1&amp;b=2</a>',
    );
    expect(htmlToPlain(html)).toBe('a & b (https://example.com/?q=1&r="2") and https://x.y/?a=1&b=2');
  });

  it("does not link unsafe schemes and turns images into links", () => {
    expect(render("[x](javascript:alert(1))")).toBe("x (javascript:alert(1))");
    expect(render("![chart](https://i.example/c.png)")).toBe('🖼 <a href="https://i.example/c.png">chart</a>');
  });

  it("renders nested, ordered and task lists", () => {
    const md = "- one\n- two **b**\n  - nested\n    1. deep\n- [x] done\n- [ ] todo\n\n3. three\n4. four";
    expect(render(md)).toBe(
      ["• one", "• two <b>b</b>", "  • nested", "    1. deep", "☑ done", "☐ todo", "", "3. three", "4. four"].join("\n"),
    );
  });

  it("renders tables as an aligned <pre> block", () => {
    const md = "| Name | Qty | Note |\n|:-----|----:|:----:|\n| apple | 3 | **ok** |\n| kiwi & co | 12 | <x> |";
    expect(render(md)).toBe(
      "<pre>" +
        ["Name      | Qty | Note", "──────────┼─────┼─────", "apple     |   3 |  ok", "kiwi &amp; co |  12 | &lt;x&gt;"].join("\n") +
        "</pre>",
    );
  });

  it("renders horizontal rules, blockquotes and nested quotes", () => {
    expect(render("a\n\n---\n\nb")).toBe("a\n\n──────────\n\nb");
    expect(render("> quoted **b**\n> > inner")).toBe("<blockquote>quoted <b>b</b>\n\n&gt; inner</blockquote>");
    const long = render(Array.from({ length: 8 }, (_, i) => `> line ${i}`).join("\n>\n"));
    expect(long.startsWith("<blockquote expandable>")).toBe(true);
  });

  it("escapes raw HTML, <script> and ampersands", () => {
    expect(render("<script>alert('x')</script>\n\nTom & Jerry <b>not bold</b> 1 < 2 > 0")).toBe(
      "&lt;script&gt;alert('x')&lt;/script&gt;\n\nTom &amp; Jerry &lt;b&gt;not bold&lt;/b&gt; 1 &lt; 2 &gt; 0",
    );
    expect(render("&amp; &lt;tag&gt; &copy;")).toBe("&amp; &lt;tag&gt; &amp;copy;");
  });

  it("keeps line breaks and drops empty input", () => {
    expect(render("line one\nline two")).toBe("line one\nline two");
    expect(render("   \n\n  ")).toBe("");
  });

  it("produces valid HTML for awkward input", () => {
    const samples = [
      "**unclosed bold and `code",
      "[link with `code` and **bold**](https://a.b)",
      "***`x`***",
      "> ```js\n> let a = '<'\n> ```",
      "- item\n\n  ```\n  code in list\n  ```\n- next",
      "| a |\n|---|\n| `x|y` |",
      "Emoji 🎉 and ||spoiler with **bold**||",
      "<details><summary>x</summary>y</details>",
      "# `code heading` & more",
      "1. a\n   > quote in list",
    ];
    for (const md of samples) render(md);
  });
});

describe("plain text shortcut", () => {
  it("renders text without markup exactly as the full Markdown path does", async () => {
    const { renderMarkdown } = await import("../../src/channels/telegram/format/markdown.js");
    // Every character class a reply may hold, markup included, so both sides of the shortcut are hit.
    const alphabet = [..."abcXYZ019 .,;?'\"()$%^/\n\n", "é", "😀", "中", "*", "_", "`", "#", "-", "+", ">", "<", "&", "[", "]", "!", ":", "@", "=", "|", "~", "\\", "\t", " ", "www.", "http://x.y", "1.", "\u00a0", "\r\n"];
    let seed = 12345;
    const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    let plain = 0;
    for (let i = 0; i < 3000; i++) {
      const length = 1 + Math.floor(next() * 40);
      let text = "";
      // A third from letters and punctuation only, a third with the characters that are markup only at a line
      // start, so many take the shortcut.
      const pool = i % 3 === 0 ? alphabet.slice(0, 26) : i % 3 === 1 ? [...alphabet.slice(0, 26), "-", "+", "=", "#", ":", "!", "1.", ": //", "\u2028"] : alphabet;
      for (let j = 0; j < length; j++) text += pool[Math.floor(next() * pool.length)];
      const fast = renderTelegramHtml(text);
      if (fast === text) plain++;
      expect(fast, JSON.stringify(text)).toBe(renderMarkdown(text));
    }
    expect(plain).toBeGreaterThan(300);
  });
});
