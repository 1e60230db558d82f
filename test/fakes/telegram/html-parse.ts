import { byteOffset, cantParseEntities } from "./api-error.js";
import type { MessageEntity } from "./types.js";

const TAGS = new Set([
  ...["a", "b", "strong", "i", "em", "s", "strike", "del", "u", "ins"],
  ...["tg-spoiler", "span", "code", "pre", "blockquote", "tg-emoji"],
]);

/**
 * Telegram's `parse_mode: "HTML"`, following tdlib's parser: the supported tags only
 * (b strong i em u ins s strike del a code pre tg-spoiler span.tg-spoiler blockquote
 * tg-emoji), `&lt; &gt; &amp; &quot;` and numeric references decoded, an unknown `&…`
 * kept literally, and the same error texts ("Unsupported start tag …", "Can't find end
 * tag corresponding to start tag …", …). Offsets are in UTF-16 units.
 */
export function parseHtml(input: string): { text: string; entities: MessageEntity[] } {
  const stack: OpenTag[] = [];
  const entities: MessageEntity[] = [];
  let out = "";
  const n = input.length;
  const fail = (detail: string): never => {
    throw cantParseEntities(detail);
  };
  let i = 0;
  while (i < n) {
    const c = input[i]!;
    if (c === "&") {
      const decoded = decodeReference(input, i);
      if (decoded !== undefined) {
        out += decoded.char;
        i = decoded.end;
        continue;
      }
    }
    if (c !== "<") {
      out += c;
      i++;
      continue;
    }
    const begin = i;
    const at = byteOffset(input, begin);
    i++;
    if (input[i] !== "/") {
      while (i < n && !isSpace(input[i]!) && input[i] !== ">") i++;
      if (i >= n) fail(`Unclosed start tag at byte offset ${at}`);
      const tag = input.slice(begin + 1, i).toLowerCase();
      if (!TAGS.has(tag)) fail(`Unsupported start tag "${tag}" at byte offset ${at}`);
      let argument = "";
      while (input[i] !== ">") {
        while (i < n && isSpace(input[i]!)) i++;
        if (input[i] === ">") break;
        const nameBegin = i;
        while (i < n && !isSpace(input[i]!) && input[i] !== "=" && input[i] !== ">") i++;
        const name = input.slice(nameBegin, i).toLowerCase();
        if (name === "") fail(`Empty attribute name in the tag "${tag}" at byte offset ${at}`);
        while (i < n && isSpace(input[i]!)) i++;
        if (i >= n) fail(`Unclosed start tag "${tag}" at byte offset ${at}`);
        if (input[i] !== "=") {
          if (tag === "blockquote" && name === "expandable") {
            argument = "1";
            continue;
          }
          fail(`Expected equal sign in declaration of an attribute of the tag "${tag}" at byte offset ${at}`);
        }
        i++;
        while (i < n && isSpace(input[i]!)) i++;
        if (i >= n) fail(`Unclosed start tag "${tag}" at byte offset ${at}`);
        let value = "";
        const quote = input[i];
        if (quote === '"' || quote === "'") {
          i++;
          while (i < n && input[i] !== quote) {
            const decoded = input[i] === "&" ? decodeReference(input, i) : undefined;
            if (decoded !== undefined) {
              value += decoded.char;
              i = decoded.end;
            } else value += input[i++];
          }
          if (input[i] === quote) i++;
        } else {
          const tokenBegin = i;
          while (i < n && /[A-Za-z0-9.-]/.test(input[i]!)) i++;
          value = input.slice(tokenBegin, i).toLowerCase();
          if (i < n && !isSpace(input[i]!) && input[i] !== ">") {
            fail(`Unexpected end of name token at byte offset ${byteOffset(input, tokenBegin)}`);
          }
        }
        if (i >= n) fail(`Unclosed start tag at byte offset ${at}`);
        if (tag === "a" && name === "href") argument = value;
        else if (tag === "code" && name === "class" && value.startsWith("language-")) argument = value.slice(9);
        else if (tag === "span" && name === "class" && value.startsWith("tg-")) argument = value.slice(3);
        else if (tag === "tg-emoji" && name === "emoji-id") argument = value;
        else if (tag === "blockquote" && name === "expandable") argument = "1";
      }
      if (tag === "span" && argument !== "spoiler") fail(`Tag "span" must have class "tg-spoiler" at byte offset ${at}`);
      stack.push({ tag, argument, offset: out.length });
      i++;
      continue;
    }
    // end tag
    if (stack.length === 0) fail(`Unexpected end tag at byte offset ${at}`);
    i++;
    const nameBegin = i;
    while (i < n && !isSpace(input[i]!) && input[i] !== ">") i++;
    const endName = input.slice(nameBegin, i).toLowerCase();
    while (i < n && isSpace(input[i]!)) i++;
    if (input[i] !== ">") fail(`Unclosed end tag at byte offset ${at}`);
    const open = stack.pop()!;
    if (endName !== "" && endName !== open.tag) {
      fail(`Unmatched end tag at byte offset ${at}, expected "</${open.tag}>", found "</${endName}>"`);
    }
    i++;
    const length = out.length - open.offset;
    if (length > 0) addEntity(entities, open, length, out);
  }
  const unclosed = stack.at(-1);
  if (unclosed !== undefined) fail(`Can't find end tag corresponding to start tag "${unclosed.tag}"`);
  // A code inside pre gave its language to the pre; a lone code has none in the Bot API.
  for (const entity of entities) if (entity.type === "code") delete entity.language;
  entities.sort((a, b) => a.offset - b.offset || b.length - a.length);
  return { text: out, entities };
}

const SIMPLE: Record<string, string> = {
  b: "bold",
  strong: "bold",
  i: "italic",
  em: "italic",
  u: "underline",
  ins: "underline",
  s: "strikethrough",
  strike: "strikethrough",
  del: "strikethrough",
  "tg-spoiler": "spoiler",
  span: "spoiler",
};

interface OpenTag {
  tag: string;
  argument: string;
  offset: number;
}

function addEntity(entities: MessageEntity[], open: OpenTag, length: number, out: string): void {
  const { tag, argument, offset } = open;
  const simple = SIMPLE[tag];
  if (simple !== undefined) {
    entities.push({ type: simple, offset, length });
  } else if (tag === "a") {
    const url = argument === "" ? out.slice(offset) : argument;
    if (url !== "") entities.push({ type: "text_link", offset, length, url });
  } else if (tag === "code" || tag === "pre") {
    // <pre><code class="language-x"> over the same range becomes one pre with a language.
    const last = entities.at(-1);
    const sameRange = last !== undefined && last.offset === offset && last.length === length;
    if (tag === "pre" && sameRange && last.type === "code") {
      last.type = "pre";
    } else if (tag === "code" && sameRange && last.type === "pre") {
      if (argument !== "") last.language = argument;
    } else if (tag === "code") {
      const code: MessageEntity = { type: "code", offset, length };
      if (argument !== "") code.language = argument;
      entities.push(code);
    } else entities.push({ type: "pre", offset, length });
  } else if (tag === "blockquote") {
    entities.push({ type: argument === "1" ? "expandable_blockquote" : "blockquote", offset, length });
  } else if (tag === "tg-emoji") {
    if (!/^\d+$/.test(argument) || argument === "0") throw cantParseEntities("Invalid custom emoji identifier specified");
    entities.push({ type: "custom_emoji", offset, length, custom_emoji_id: argument });
  }
}

function isSpace(c: string): boolean {
  return c === " " || c === "\t" || c === "\n" || c === "\r" || c === "\f" || c === "\v";
}

/** Decodes `&lt;`, `&gt;`, `&amp;`, `&quot;`, `&#NN;` and `&#xHH;` (the `;` is optional, as in tdlib). */
function decodeReference(text: string, pos: number): { char: string; end: number } | undefined {
  let end = pos + 1;
  let code = 0;
  if (text[end] === "#") {
    end++;
    const hex = text[end] === "x";
    if (hex) end++;
    const digits = hex ? /[0-9a-fA-F]/ : /[0-9]/;
    const start = end;
    while (end < text.length && digits.test(text[end]!)) end++;
    if (end === start || end - pos >= 10) return undefined;
    code = parseInt(text.slice(start, end), hex ? 16 : 10);
    if (code === 0 || code >= 0x10ffff) return undefined;
  } else {
    const start = end;
    while (end < text.length && /[A-Za-z]/.test(text[end]!)) end++;
    const named: Record<string, number> = { lt: 60, gt: 62, amp: 38, quot: 34 };
    const value = named[text.slice(start, end)];
    if (value === undefined) return undefined;
    code = value;
  }
  if (text[end] === ";") end++;
  return { char: String.fromCodePoint(code), end };
}
