/**
 * Model Markdown → Telegram HTML (parse_mode "HTML").
 *
 * Parsing is done by `marked`'s lexer (GFM: tables, strikethrough, task lists, autolinks);
 * this module only walks the token tree and emits the Telegram subset, so every piece of
 * text passes through `escapeHtml` and the output always has balanced, allowed tags.
 */
import { Marked, type Token, type Tokens, type TokenizerExtension } from "marked";
import { decodeEntities, escapeAttr, escapeHtml, htmlToPlain } from "./html.js";
import { type CellAlign, renderTableText } from "./table.js";

export const HORIZONTAL_RULE = "──────────";

/** `||spoiler||` (Telegram's Markdown) → `<tg-spoiler>`. */
const spoiler: TokenizerExtension = {
  name: "spoiler",
  level: "inline",
  start(src) {
    const at = src.indexOf("||");
    return at < 0 ? undefined : at;
  },
  tokenizer(src) {
    const m = /^\|\|(?=\S)([\s\S]*?\S)\|\|/.exec(src);
    if (!m?.[1]) return undefined;
    return { type: "spoiler", raw: m[0], text: m[1], tokens: this.lexer.inlineTokens(m[1]) };
  },
};

const parser = new Marked({ gfm: true, extensions: [spoiler] });

const ALLOWED_SCHEMES = /^(https?|tg|mailto|ftp|ton):/i;
const EXPANDABLE_QUOTE_LINES = 6;
const EXPANDABLE_QUOTE_CHARS = 360;

interface InlineCtx {
  /** Formatting tags currently open around the text (outermost first). */
  open: { name: string; raw: string }[];
  inLink: boolean;
}

function wrap(name: string, raw: string, tokens: Token[] | undefined, ctx: InlineCtx): string {
  ctx.open.push({ name, raw });
  const inner = renderInline(tokens ?? [], ctx);
  ctx.open.pop();
  return inner === "" ? "" : `${raw}${inner}</${name}>`;
}

function rawHtml(text: string): string {
  // Raw HTML is shown literally, except line breaks which models use inside tables and lists.
  return /^<br\s*\/?>$/i.test(text.trim()) ? "\n" : escapeHtml(text);
}

/** Render inline tokens to Telegram HTML. */
function renderInline(tokens: readonly Token[], ctx: InlineCtx = { open: [], inLink: false }): string {
  let out = "";
  for (const token of tokens) {
    switch (token.type) {
      case "text": {
        const t = token as Tokens.Text;
        out += t.tokens && t.tokens.length > 0 ? renderInline(t.tokens, ctx) : escapeHtml(decodeEntities(t.text));
        break;
      }
      case "escape":
        out += escapeHtml((token as Tokens.Escape).text);
        break;
      case "strong":
        out += wrap("b", "<b>", (token as Tokens.Strong).tokens, ctx);
        break;
      case "em":
        out += wrap("i", "<i>", (token as Tokens.Em).tokens, ctx);
        break;
      case "del":
        out += wrap("s", "<s>", (token as Tokens.Del).tokens, ctx);
        break;
      case "spoiler":
        out += wrap("tg-spoiler", "<tg-spoiler>", (token as Tokens.Generic).tokens, ctx);
        break;
      case "codespan": {
        const code = escapeHtml(decodeEntities((token as Tokens.Codespan).text));
        if (code === "") break;
        if (ctx.inLink) {
          out += code; // a link cannot contain code: keep the text
        } else {
          // Formatting is never applied over code: close it around the code span.
          const close = ctx.open.map((o) => `</${o.name}>`).reverse().join("");
          const reopen = ctx.open.map((o) => o.raw).join("");
          out += `${close}<code>${code}</code>${reopen}`;
        }
        break;
      }
      case "br":
        out += "\n";
        break;
      case "link":
        out += renderLink(token as Tokens.Link, ctx);
        break;
      case "image": {
        const img = token as Tokens.Image;
        const alt = decodeEntities(img.text.trim()) || "image";
        if (!ctx.inLink && ALLOWED_SCHEMES.test(img.href)) {
          out += `🖼 <a href="${escapeAttr(img.href)}">${escapeHtml(alt)}</a>`;
        } else {
          out += `🖼 ${escapeHtml(alt)}${img.href ? ` (${escapeHtml(img.href)})` : ""}`;
        }
        break;
      }
      case "html":
        out += rawHtml((token as Tokens.HTML).text);
        break;
      default: {
        const generic = token as Tokens.Generic;
        out += generic.tokens ? renderInline(generic.tokens, ctx) : escapeHtml(String(generic.raw ?? ""));
      }
    }
  }
  return out;
}

function renderLink(link: Tokens.Link, ctx: InlineCtx): string {
  const href = link.href.trim();
  if (ctx.inLink || !ALLOWED_SCHEMES.test(href)) {
    const text = renderInline(link.tokens, ctx);
    const plain = htmlToPlain(text).trim();
    return href === "" || plain === href ? text : `${text} (${escapeHtml(href)})`;
  }
  const inner = renderInline(link.tokens, { open: [], inLink: true }) || escapeHtml(href);
  // Formatting tags stay open around the link; that nesting is allowed.
  return `<a href="${escapeAttr(href)}">${inner}</a>`;
}

function inlineOf(token: Token): string {
  const t = token as Tokens.Generic;
  if (t.tokens) return renderInline(t.tokens as Token[]);
  return escapeHtml(decodeEntities(String(t.text ?? "")));
}

function codeLanguage(lang: string | undefined): string | undefined {
  const first = (lang ?? "").trim().split(/\s+/)[0] ?? "";
  return /^[\w#+.-]{1,32}$/.test(first) ? first : undefined;
}

function renderCode(token: Tokens.Code): string {
  const body = escapeHtml(token.text.replace(/\n+$/, ""));
  if (body === "") return "";
  const lang = codeLanguage(token.lang);
  return lang ? `<pre><code class="language-${escapeAttr(lang)}">${body}</code></pre>` : `<pre>${body}</pre>`;
}

function renderTable(token: Tokens.Table): string {
  const cell = (c: Tokens.TableCell): string => htmlToPlain(renderInline(c.tokens), { linkUrls: false });
  const text = renderTableText(
    token.header.map(cell),
    token.rows.map((row) => row.map(cell)),
    token.align as CellAlign[],
  );
  return `<pre>${escapeHtml(text)}</pre>`;
}

function renderList(list: Tokens.List, depth: number, quoteDepth: number): string {
  const indent = "  ".repeat(depth);
  const start = typeof list.start === "number" ? list.start : 1;
  const lines: string[] = [];
  list.items.forEach((item, index) => {
    let marker = list.ordered ? `${start + index}. ` : "• ";
    if (item.task) marker = list.ordered ? `${marker}${item.checked ? "☑" : "☐"} ` : `${item.checked ? "☑" : "☐"} `;
    let lead = "";
    const rest: string[] = [];
    for (const child of item.tokens) {
      if (child.type === "checkbox" || child.type === "space") continue;
      if (child.type === "list") {
        rest.push(renderList(child as Tokens.List, depth + 1, quoteDepth));
      } else if (child.type === "text" || child.type === "paragraph") {
        const text = inlineOf(child).trim();
        if (lead === "" && rest.length === 0) lead = text;
        else rest.push(`${indent}  ${text}`);
      } else {
        rest.push(renderBlock(child, quoteDepth));
      }
    }
    lines.push(`${indent}${marker}${lead}`.trimEnd(), ...rest.filter((p) => p.trim() !== ""));
  });
  return lines.join("\n");
}

function renderBlockquote(token: Tokens.Blockquote, quoteDepth: number): string {
  const inner = renderBlocks(token.tokens, quoteDepth + 1);
  if (inner === "") return "";
  if (quoteDepth > 0) {
    // Telegram cannot nest blockquotes: deeper levels become "> " prefixed lines.
    return inner.split("\n").map((line) => `&gt; ${line}`).join("\n");
  }
  const plain = htmlToPlain(inner);
  const expandable = plain.split("\n").length >= EXPANDABLE_QUOTE_LINES || plain.length >= EXPANDABLE_QUOTE_CHARS;
  return `<blockquote${expandable ? " expandable" : ""}>${inner}</blockquote>`;
}

function renderBlock(token: Token, quoteDepth: number): string {
  switch (token.type) {
    case "space":
    case "def":
    case "checkbox":
      return "";
    case "heading":
    case "paragraph":
    case "text": {
      const inner = inlineOf(token).trim();
      return token.type === "heading" && inner !== "" ? `<b>${inner}</b>` : inner;
    }
    case "code":
      return renderCode(token as Tokens.Code);
    case "table":
      return renderTable(token as Tokens.Table);
    case "hr":
      return HORIZONTAL_RULE;
    case "list":
      return renderList(token as Tokens.List, 0, quoteDepth);
    case "blockquote":
      return renderBlockquote(token as Tokens.Blockquote, quoteDepth);
    case "html":
      return escapeHtml((token as Tokens.HTML).text.replace(/\n+$/, ""));
    default:
      return inlineOf(token);
  }
}

function renderBlocks(tokens: readonly Token[], quoteDepth: number): string {
  return tokens
    .map((t) => renderBlock(t, quoteDepth))
    .filter((s) => s.trim() !== "")
    .join("\n\n");
}

/**
 * Text Markdown renders as itself: none of the characters that start inline markup or need escaping,
 * no whitespace but spaces and newlines, no line starting with a digit, space, `-`, `+`, `=` or `#`
 * (lists, code, headings), no hard break, no run of blank lines, no autolink (`://`, `www.`, `@`).
 * Most short answers are like this and skip the lexer.
 */
const MAYBE_MARKUP = /[\\`*_~[\]<>|&@]|[^\S \n]|:\/\/|www\.|(^|\n)[\d \-+=#]|^\s| \n|\n\n\n|\s$/i;

/** Render model Markdown as Telegram HTML (balanced tags, Telegram-allowed tags only). */
export function renderTelegramHtml(markdown: string): string {
  return MAYBE_MARKUP.test(markdown) ? renderMarkdown(markdown) : markdown;
}

/** The full path through marked's lexer (exported so tests can hold the shortcut above to it). */
export function renderMarkdown(markdown: string): string {
  const normalized = markdown.replace(/\r\n?/g, "\n");
  let html = renderBlocks(parser.lexer(normalized), 0).trim();
  // Code spans inside formatting leave empty pairs like `<b></b>` behind; drop them.
  for (let prev = ""; prev !== html; ) {
    prev = html;
    html = html.replace(/<(b|i|s|u|tg-spoiler)><\/\1>/g, "");
  }
  return html;
}
