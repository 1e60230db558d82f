import { byteOffset, cantParseEntities } from "./api-error.js";
import type { MessageEntity } from "./types.js";

type Kind =
  | "bold"
  | "italic"
  | "underline"
  | "strikethrough"
  | "spoiler"
  | "text_link"
  | "code"
  | "pre"
  | "custom_emoji"
  | "blockquote";

/** tdlib's names for entity kinds, as they appear in "Can't find end of … entity" errors. */
const ERROR_NAME: Record<Kind, string> = {
  bold: "Bold",
  italic: "Italic",
  underline: "Underline",
  strikethrough: "Strikethrough",
  spoiler: "Spoiler",
  text_link: "TextUrl",
  code: "Code",
  pre: "Pre",
  custom_emoji: "CustomEmoji",
  blockquote: "BlockQuote",
};

interface Open {
  kind: Kind;
  language: string;
  offset: number;
  /** UTF-16 index of the opening mark in the input. */
  pos: number;
}

const isEscapable = (c: string | undefined): boolean => c !== undefined && c.charCodeAt(0) > 0 && c.charCodeAt(0) <= 126;
const isSpace = (c: string | undefined): boolean => c !== undefined && /[ \t\n\r\f\v]/.test(c);

/**
 * Telegram's `parse_mode: "MarkdownV2"`, a port of tdlib's `parse_markdown_v2`: reserved
 * characters `_*[]()~\`>#+-=|{}.!` must be escaped outside entities (only \` and \\ inside
 * code), with the same error texts. Offsets are in UTF-16 units.
 */
export function parseMarkdownV2(input: string): { text: string; entities: MessageEntity[] } {
  const n = input.length;
  const stack: Open[] = [];
  const entities: MessageEntity[] = [];
  let out = "";
  let haveBlockquote = false;
  let canStartBlockquote = true;
  const reserved = (c: string): never => {
    throw cantParseEntities(`Character '${c}' is reserved and must be escaped with the preceding '\\'`);
  };
  const noEnd = (open: Open): never => {
    const at = byteOffset(input, open.pos);
    throw cantParseEntities(`Can't find end of ${ERROR_NAME[open.kind]} entity at byte offset ${at}`);
  };
  const readUrl = (start: number, what: string): { url: string; end: number } => {
    let i = start;
    let url = "";
    while (i < n && input[i] !== ")") {
      if (input[i] === "\\" && isEscapable(input[i + 1])) {
        url += input[i + 1];
        i += 2;
      } else url += input[i++];
    }
    if (input[i] !== ")") throw cantParseEntities(`Can't find end of ${what} at byte offset ${byteOffset(input, start)}`);
    return { url, end: i };
  };

  for (let i = 0; i < n; i++) {
    const c = input[i]!;
    if (c === "\\" && isEscapable(input[i + 1])) {
      i++;
      out += input[i];
      if (input[i] !== "\r") canStartBlockquote = input[i] === "\n";
      continue;
    }
    const top = stack.at(-1);
    const special = top?.kind === "code" || top?.kind === "pre" ? "`" : "_*[]()~`>#+-=|{}.!\n";
    if (!special.includes(c)) {
      out += c;
      if (c !== "\r") canStartBlockquote = false;
      continue;
    }
    const isEnd = top !== undefined && endsEntity(top.kind, c, input, i, haveBlockquote);
    if (!isEnd) {
      const pos = i;
      let kind: Kind;
      let language = "";
      if (c === "_") {
        if (input[i + 1] === "_") {
          kind = "underline";
          i++;
        } else kind = "italic";
      } else if (c === "*") kind = "bold";
      else if (c === "~") kind = "strikethrough";
      else if (c === "|") {
        if (input[i + 1] !== "|") reserved(c);
        i++;
        kind = "spoiler";
      } else if (c === "[") kind = "text_link";
      else if (c === "`") {
        if (input[i + 1] === "`" && input[i + 2] === "`") {
          i += 3;
          kind = "pre";
          let languageEnd = i;
          while (languageEnd < n && !isSpace(input[languageEnd]) && input[languageEnd] !== "`") languageEnd++;
          if (i !== languageEnd && languageEnd < n && input[languageEnd] !== "`") {
            language = input.slice(i, languageEnd);
            i = languageEnd;
          }
          if (input[i] === "\n" || input[i] === "\r") {
            const pair = (input[i + 1] === "\n" || input[i + 1] === "\r") && input[i] !== input[i + 1];
            i += pair ? 2 : 1;
          }
          i--;
        } else kind = "code";
      } else if (c === "!") {
        if (input[i + 1] !== "[") reserved(c);
        i++;
        kind = "custom_emoji";
      } else if (c === "\n") {
        out += "\n";
        canStartBlockquote = true;
        continue;
      } else if (c === ">") {
        if (!canStartBlockquote) reserved(c);
        if (haveBlockquote) continue;
        kind = "blockquote";
        haveBlockquote = true;
      } else return reserved(c);
      stack.push({ kind, language, offset: out.length, pos });
      continue;
    }

    // end of an entity
    let open = stack.pop()!;
    let kind: Kind | "expandable_blockquote" = open.kind;
    if (c === "\n" && kind !== "blockquote") {
      // "||" right before the newline ends an expandable blockquote.
      const markJustBefore = open.pos === i - 2 || (open.pos === i - 3 && out.endsWith("\r"));
      if (kind !== "spoiler" || !markJustBefore) noEnd(open);
      open = stack.pop()!;
      if (open.kind !== "blockquote") noEnd(open);
      kind = "expandable_blockquote";
    }
    let skip = out.length === open.offset;
    const entity: MessageEntity = { type: kind, offset: open.offset, length: 0 };
    if (kind === "underline" || kind === "spoiler") i++;
    else if (kind === "pre") {
      i += 2;
      if (open.language !== "") entity.language = open.language;
    } else if (kind === "text_link") {
      let url: string;
      if (input[i + 1] !== "(") url = out.slice(open.offset);
      else {
        const read = readUrl(i + 2, "a URL");
        url = read.url;
        i = read.end;
      }
      if (url === "") skip = true;
      else entity.url = url;
    } else if (kind === "custom_emoji") {
      if (input[i + 1] !== "(") throw cantParseEntities("Custom emoji entity must contain a tg://emoji URL");
      const read = readUrl(i + 2, "a custom emoji URL");
      i = read.end;
      const id = /^tg:\/\/emoji\?id=(\d+)$/.exec(read.url)?.[1];
      if (id === undefined) throw cantParseEntities("Custom emoji URL must have an emoji identifier");
      entity.custom_emoji_id = id;
    } else if (kind === "blockquote" || kind === "expandable_blockquote") {
      haveBlockquote = false;
      out += input[i];
      canStartBlockquote = true;
      skip = false;
    }
    if (!skip) {
      entity.length = out.length - open.offset;
      entities.push(entity);
    }
  }

  if (haveBlockquote) {
    let type = "blockquote";
    let top = stack.at(-1);
    if (top?.kind === "spoiler" && top.pos === n - 2) {
      stack.pop();
      type = "expandable_blockquote";
      top = stack.at(-1);
    }
    if (top?.kind === "blockquote") {
      stack.pop();
      if (out.length !== top.offset) entities.push({ type, offset: top.offset, length: out.length - top.offset });
    }
  }
  const unclosed = stack.at(-1);
  if (unclosed !== undefined) noEnd(unclosed);
  entities.sort((a, b) => a.offset - b.offset || b.length - a.length);
  return { text: out, entities };
}

function endsEntity(kind: Kind, c: string, input: string, i: number, haveBlockquote: boolean): boolean {
  if (haveBlockquote && c === "\n" && (i + 1 === input.length || input[i + 1] !== ">")) return true;
  switch (kind) {
    case "bold":
      return c === "*";
    case "italic":
      return c === "_" && input[i + 1] !== "_";
    case "underline":
      return c === "_" && input[i + 1] === "_";
    case "code":
      return c === "`";
    case "pre":
      return c === "`" && input[i + 1] === "`" && input[i + 2] === "`";
    case "text_link":
    case "custom_emoji":
      return c === "]";
    case "strikethrough":
      return c === "~";
    case "spoiler":
      return c === "|" && input[i + 1] === "|";
    case "blockquote":
      return false;
  }
}

/**
 * Legacy `parse_mode: "Markdown"` (tdlib `parse_markdown`): `*bold*`, `_italic_`,
 * `` `code` ``, ```` ```pre``` ````, `[text](url)`; only `_*\`[` can be escaped.
 */
export function parseMarkdownLegacy(input: string): { text: string; entities: MessageEntity[] } {
  const n = input.length;
  const entities: MessageEntity[] = [];
  let out = "";
  for (let i = 0; i < n; i++) {
    const c = input[i]!;
    if (c === "\\" && "_*`[".includes(input[i + 1] ?? "")) {
      out += input[++i];
      continue;
    }
    if (!"_*`[".includes(c)) {
      out += c;
      continue;
    }
    const begin = i;
    const endChar = c === "[" ? "]" : c;
    let isPre = false;
    let language = "";
    i++;
    if (c === "`" && input[i] === "`" && input[i + 1] === "`") {
      i += 2;
      isPre = true;
      let languageEnd = i;
      while (languageEnd < n && !isSpace(input[languageEnd]) && input[languageEnd] !== "`") languageEnd++;
      if (i !== languageEnd && languageEnd < n && input[languageEnd] !== "`") {
        language = input.slice(i, languageEnd);
        i = languageEnd;
      }
      if (input[i] === "\n" || input[i] === "\r") {
        const pair = (input[i + 1] === "\n" || input[i + 1] === "\r") && input[i] !== input[i + 1];
        i += pair ? 2 : 1;
      }
    }
    const offset = out.length;
    const atEnd = (): boolean => input[i] === endChar && (!isPre || (input[i + 1] === "`" && input[i + 2] === "`"));
    while (i < n && !atEnd()) out += input[i++];
    if (i >= n) throw cantParseEntities(`Can't find end of the entity starting at byte offset ${byteOffset(input, begin)}`);
    const length = out.length - offset;
    if (length > 0) {
      if (c === "_") entities.push({ type: "italic", offset, length });
      else if (c === "*") entities.push({ type: "bold", offset, length });
      else if (c === "`") {
        const entity: MessageEntity = { type: isPre ? "pre" : "code", offset, length };
        if (isPre && language !== "") entity.language = language;
        entities.push(entity);
      } else {
        let url = out.slice(offset);
        if (input[i + 1] === "(") {
          i += 2;
          url = "";
          while (i < n && input[i] !== ")") url += input[i++];
        }
        if (url !== "") entities.push({ type: "text_link", offset, length, url });
      }
    }
    if (isPre) i += 2;
  }
  return { text: out, entities };
}
