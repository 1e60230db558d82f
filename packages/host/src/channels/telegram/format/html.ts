/**
 * Small helpers for Telegram's HTML subset: escaping, entity decoding, tokenising the HTML we
 * produce ourselves, and turning it back into plain text for the fallback send.
 */

/** Escape text content for Telegram HTML (`&`, `<`, `>`). */
export function escapeHtml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/** Escape an attribute value (adds `"`), for use inside `href="…"`. */
export function escapeAttr(text: string): string {
  return escapeHtml(text).replace(/"/g, "&quot;");
}

const NAMED_ENTITIES: Readonly<Record<string, string>> = {
  amp: "&",
  lt: "<",
  gt: ">",
  quot: '"',
  apos: "'",
  nbsp: "\u00a0",
};

/** Decode the HTML character references that Markdown text may contain (`&amp;`, `&#39;`, …). */
export function decodeEntities(text: string): string {
  return text.replace(/&(#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[a-zA-Z]{2,8});/g, (whole, body: string) => {
    if (body.startsWith("#")) {
      const code = body[1] === "x" || body[1] === "X" ? parseInt(body.slice(2), 16) : parseInt(body.slice(1), 10);
      if (!Number.isFinite(code) || code <= 0 || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) return whole;
      return String.fromCodePoint(code);
    }
    return NAMED_ENTITIES[body] ?? whole;
  });
}

/**
 * One indivisible unit of an HTML string: a tag, or one visible character (a character
 * reference like `&amp;` or a surrogate pair counts as one unit).
 */
export interface HtmlAtom {
  kind: "open" | "close" | "text";
  /** Exact source text of the unit. */
  raw: string;
  /** Lower-case tag name for tags, "" for text. */
  name: string;
}

const ATOM_RE = /<(\/?)([a-zA-Z][a-zA-Z0-9-]*)(?:\s[^<>]*)?>|&(?:#[0-9]+|#[xX][0-9a-fA-F]+|[a-zA-Z]+);|[\uD800-\uDBFF][\uDC00-\uDFFF]|[\s\S]/g;

/** Split HTML (as produced by this module) into atoms. Unknown `<`/`&` are single text atoms. */
export function tokenizeHtml(html: string): HtmlAtom[] {
  const atoms: HtmlAtom[] = [];
  for (const m of html.matchAll(ATOM_RE)) {
    const raw = m[0];
    const name = m[2];
    if (name !== undefined) {
      atoms.push({ kind: m[1] === "/" ? "close" : "open", raw, name: name.toLowerCase() });
    } else {
      atoms.push({ kind: "text", raw, name: "" });
    }
  }
  return atoms;
}

/** Atoms of plain text: characters, with surrogate pairs kept together. */
export function tokenizePlain(text: string): HtmlAtom[] {
  const atoms: HtmlAtom[] = [];
  for (const ch of text) atoms.push({ kind: "text", raw: ch, name: "" });
  return atoms;
}

function attrValue(tag: string, attr: string): string | undefined {
  const m = new RegExp(`\\s${attr}\\s*=\\s*"([^"]*)"`, "i").exec(tag);
  return m?.[1] === undefined ? undefined : decodeEntities(m[1]);
}

export interface PlainOptions {
  /** Append ` (url)` after link text that differs from its URL. Default true. */
  linkUrls?: boolean;
}

/**
 * Plain-text rendering of Telegram HTML: tags dropped, entities decoded, links shown as
 * `text (url)`. Never longer than the HTML it comes from.
 */
export function htmlToPlain(html: string, options: PlainOptions = {}): string {
  const linkUrls = options.linkUrls ?? true;
  let out = "";
  const links: { href: string; start: number }[] = [];
  for (const atom of tokenizeHtml(html)) {
    if (atom.kind === "text") {
      out += atom.raw.length > 1 && atom.raw.startsWith("&") ? decodeEntities(atom.raw) : atom.raw;
    } else if (atom.name === "a" && atom.kind === "open") {
      links.push({ href: attrValue(atom.raw, "href") ?? "", start: out.length });
    } else if (atom.name === "a" && atom.kind === "close") {
      const link = links.pop();
      if (link && linkUrls && link.href !== "" && out.slice(link.start).trim() !== link.href) {
        out += ` (${link.href})`;
      }
    }
  }
  return out;
}

/** Tags (lower-case) Telegram's HTML parse mode accepts. */
export const TELEGRAM_TAGS: ReadonlySet<string> = new Set([
  "b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "tg-spoiler",
  "a", "tg-emoji", "code", "pre", "blockquote",
]);
