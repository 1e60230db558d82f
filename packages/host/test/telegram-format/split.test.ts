import { describe, expect, it } from "vitest";
import {
  formatReply,
  htmlToPlain,
  renderTelegramHtml,
  splitForTelegram,
  splitHtmlForTelegram,
} from "../../src/channels/telegram/format/index.js";
import { assertTelegramHtml, hasLoneSurrogate, words } from "./helpers.js";

const squash = (s: string): string => s.replace(/\s+/g, "");

function checkParts(parts: { html: string; plain: string }[], limit = 4096): void {
  for (const part of parts) {
    assertTelegramHtml(part.html, limit);
    expect(part.plain.length).toBeLessThanOrEqual(part.html.length);
    expect(part.plain.trim()).not.toBe("");
    expect(hasLoneSurrogate(part.html)).toBe(false);
  }
}

describe("splitForTelegram (plain text)", () => {
  it("returns one part for short text and none for blank text", () => {
    expect(splitForTelegram("hello")).toEqual(["hello"]);
    expect(splitForTelegram(" \n ")).toEqual([]);
  });

  it("splits a 9,000-character reply into 3 parts, words kept in order", () => {
    const paragraphs: string[] = [];
    const all = words(1400, 7);
    for (let i = 0; i < all.length; i += 40) paragraphs.push(all.slice(i, i + 40).join(" "));
    const text = paragraphs.join("\n\n").slice(0, 9000).replace(/\s+\S*$/, "");
    expect(text.length).toBeGreaterThan(8900);
    const parts = splitForTelegram(text);
    expect(parts).toHaveLength(3);
    for (const p of parts) expect(p.length).toBeLessThanOrEqual(4096);
    expect(parts.join(" ").split(/\s+/)).toEqual(text.split(/\s+/));
    // Cuts happen at paragraph boundaries when there are some.
    for (const p of parts.slice(0, -1)) expect(text.includes(`${p}\n\n`)).toBe(true);
  });

  it("prefers line boundaries, then word boundaries", () => {
    const lines = Array.from({ length: 300 }, (_, i) => `line ${i} ${"x".repeat(20)}`).join("\n");
    const parts = splitForTelegram(lines, 1000);
    for (const p of parts) {
      expect(p.length).toBeLessThanOrEqual(1000);
      expect(p.startsWith("line ")).toBe(true);
      expect(p.endsWith("x")).toBe(true);
    }
    expect(parts.join("\n")).toBe(lines);
    const sentence = words(500).join(" ");
    const byWord = splitForTelegram(sentence, 300);
    expect(byWord.join(" ")).toBe(sentence);
    for (const p of byWord) expect(p.length).toBeLessThanOrEqual(300);
  });

  it("hard-splits a single 10,000-character line", () => {
    const line = Array.from({ length: 10_000 }, (_, i) => String.fromCharCode(97 + (i % 26))).join("");
    const parts = splitForTelegram(line);
    expect(parts.map((p) => p.length)).toEqual([4096, 4096, 1808]);
    expect(parts.join("")).toBe(line);
  });

  it("never cuts a surrogate pair", () => {
    for (const lead of ["", "a", "ab"]) {
      const text = lead + "😀".repeat(5000) + "👍🏽".repeat(100);
      const parts = splitForTelegram(text);
      for (const p of parts) {
        expect(p.length).toBeLessThanOrEqual(4096);
        expect(hasLoneSurrogate(p)).toBe(false);
      }
      expect(parts.join("")).toBe(text);
    }
    const small = splitForTelegram("🎉".repeat(30), 9);
    for (const p of small) expect(hasLoneSurrogate(p)).toBe(false);
    expect(small.join("")).toBe("🎉".repeat(30));
  });

  it("rejects silly limits", () => {
    expect(() => splitForTelegram("abc", 0)).toThrow(RangeError);
  });
});

describe("splitHtmlForTelegram / formatReply", () => {
  it("formats a short reply as one part with a plain fallback", () => {
    const parts = formatReply("**Hi** [docs](https://d.example/?a=1&b=2)");
    expect(parts).toEqual([
      { html: '<b>Hi</b> <a href="https://d.example/?a=1&amp;b=2">docs</a>', plain: "Hi docs (https://d.example/?a=1&b=2)" },
    ]);
    expect(formatReply("   ")).toEqual([]);
  });

  it("splits a long Markdown reply at paragraph boundaries, all parts valid", () => {
    const paras = Array.from({ length: 60 }, (_, i) => `**Point ${i}.** ${words(25, i + 1).join(" ")} & <more>`);
    const md = paras.join("\n\n");
    const parts = formatReply(md);
    expect(parts.length).toBeGreaterThanOrEqual(2);
    checkParts(parts);
    for (const p of parts) expect(p.html.startsWith("<b>Point ")).toBe(true);
    expect(squash(parts.map((p) => p.plain).join(""))).toBe(squash(htmlToPlain(renderTelegramHtml(md))));
  });

  it("closes and reopens a code block cut across parts", () => {
    const code = Array.from({ length: 400 }, (_, i) => `  let v${i} = a < b && c > d; // ${i}`).join("\n");
    const md = `Here is the code:\n\n\`\`\`ts\n${code}\n\`\`\`\n\nDone.`;
    const parts = formatReply(md);
    expect(parts.length).toBeGreaterThanOrEqual(4);
    checkParts(parts);
    for (const p of parts.slice(1, -1)) {
      expect(p.html.startsWith('<pre><code class="language-ts">')).toBe(true);
      expect(p.html.endsWith("</code></pre>")).toBe(true);
    }
    // Line cuts inside the code keep every line intact.
    const codeLines = parts.map((p) => p.plain).join("\n").split("\n").filter((l) => l.startsWith("  let"));
    expect(codeLines).toEqual(code.split("\n"));
  });

  it("never cuts inside a character reference and reopens links", () => {
    const html = `<a href="https://x.example/?q=&quot;1&quot;">${"&amp;&lt;".repeat(300)} ${"word ".repeat(200)}</a>`;
    const parts = splitHtmlForTelegram(html, 500);
    expect(parts.length).toBeGreaterThan(2);
    for (const p of parts) {
      assertTelegramHtml(p, 500);
      expect(p.startsWith('<a href="https://x.example/?q=&quot;1&quot;">')).toBe(true);
    }
  });

  it("splits tables and lists into valid parts", () => {
    const table = ["| id | name | value |", "|---:|:-----|------:|"];
    for (let i = 0; i < 300; i++) table.push(`| ${i} | item ${i} & <x> | ${i * 37} |`);
    const list = Array.from({ length: 300 }, (_, i) => `${i + 1}. **item** ${words(8, i).join(" ")}`).join("\n");
    for (const md of [table.join("\n"), list, `> ${words(1500).join(" ")}`]) {
      const parts = formatReply(md);
      expect(parts.length).toBeGreaterThan(1);
      checkParts(parts);
      expect(squash(parts.map((p) => p.plain).join(""))).toBe(squash(htmlToPlain(renderTelegramHtml(md))));
    }
  });

  it("respects the caption limit", () => {
    const parts = formatReply(words(600).join(" "), 1024);
    expect(parts.length).toBeGreaterThan(3);
    checkParts(parts, 1024);
  });

  it("keeps every part valid for mixed content at several limits", () => {
    const blocks = [
      "# Heading with `code`",
      "Some **bold _nested italic_ text** and ~~strike~~ and ||spoiler|| 🎉🎉.",
      "```python\n" + Array.from({ length: 40 }, (_, i) => `print(${i} < ${i + 1})`).join("\n") + "\n```",
      "- a\n  - b **c**\n    - d `e`\n- [x] f",
      "| a | b |\n|---|---|\n| 1 | 2 |\n| 😀 | 长 |",
      "> quoted text that goes on\n> > and nested",
      "---",
      "Tom & Jerry <script>x</script> 1 < 2",
    ];
    const md = Array.from({ length: 12 }, (_, i) => blocks[i % blocks.length]).join("\n\n");
    const full = squash(htmlToPlain(renderTelegramHtml(md)));
    for (const limit of [120, 200, 333, 1000, 4096]) {
      const parts = formatReply(md, limit);
      checkParts(parts, limit);
      expect(squash(parts.map((p) => p.plain).join(""))).toBe(full);
    }
  });
});
