/**
 * Splitting replies into Telegram-sized parts (limits are in UTF-16 code units).
 *
 * Cut preference: a blank line, then a line break, then a space, then a hard cut between
 * characters (never inside a surrogate pair or a character reference). A boundary is taken
 * when it lies in the second half of the window; otherwise the best boundary anywhere in the
 * window is used before falling back to a hard cut. The separator used for a cut (the blank
 * line, line break or space) is dropped; nothing else is lost.
 *
 * For HTML, tags still open at a cut are closed at the end of the part and reopened (with the
 * same attributes, e.g. `<pre><code class="language-ts">`) at the start of the next, and the
 * closing/reopening tags count against the limit.
 */
import { type HtmlAtom, tokenizeHtml, tokenizePlain } from "./html.js";

export const TELEGRAM_MESSAGE_LIMIT = 4096;
export const TELEGRAM_CAPTION_LIMIT = 1024;

interface OpenTag {
  name: string;
  raw: string;
  /** Dropped from output (only when a tag cannot be carried into a part at all). */
  suppressed: boolean;
}

interface Candidate {
  /** Number of output pieces belonging to the part. */
  outLen: number;
  /** Part length (prefix + pieces) at the cut. */
  len: number;
  stack: readonly OpenTag[];
  /** Atom index where the next part starts (after the separator). */
  resume: number;
}

const closeTag = (t: OpenTag): string => (t.suppressed ? "" : `</${t.name}>`);
const closeAll = (stack: readonly OpenTag[]): string => stack.map(closeTag).reverse().join("");
const openAll = (stack: readonly OpenTag[]): string => stack.map((t) => (t.suppressed ? "" : t.raw)).join("");
const isSpace = (raw: string): boolean => raw === " " || raw === "\n" || raw === "\t" || raw === "\r";

function assertLimit(limit: number): void {
  if (!Number.isInteger(limit) || limit < 8) throw new RangeError(`split limit must be an integer >= 8, got ${limit}`);
}

/** Core: pack atoms into parts of at most `limit` units, keeping tags balanced per part. */
function splitAtoms(atoms: readonly HtmlAtom[], limit: number): string[] {
  const parts: string[] = [];
  let stack: readonly OpenTag[] = [];
  let i = 0;
  while (i < atoms.length) {
    const prefix = openAll(stack);
    let len = prefix.length;
    let closeLen = closeAll(stack).length;
    let st = stack;
    let visible = false;
    const out: string[] = [];
    const cands: (Candidate | undefined)[] = [undefined, undefined, undefined];
    let j = i;
    for (; j < atoms.length; j++) {
      const a = atoms[j] as HtmlAtom;
      let piece = a.raw;
      let nextSt = st;
      let nextClose = closeLen;
      if (a.kind === "open") {
        const tag: OpenTag = { name: a.name, raw: a.raw, suppressed: false };
        nextSt = [...st, tag];
        nextClose += closeTag(tag).length;
      } else if (a.kind === "close") {
        const top = st[st.length - 1];
        if (top) {
          piece = closeTag(top);
          nextClose -= piece.length;
          nextSt = st.slice(0, -1);
        }
      }
      if (len + piece.length + nextClose > limit) break;
      if (a.kind === "text" && visible && (a.raw === "\n" || a.raw === " ")) {
        const next = atoms[j + 1];
        const blank = a.raw === "\n" && next?.kind === "text" && next.raw === "\n";
        const level = blank ? 0 : a.raw === "\n" ? 1 : 2;
        cands[level] = { outLen: out.length, len, stack: st, resume: j + (blank ? 2 : 1) };
      }
      out.push(piece);
      len += piece.length;
      st = nextSt;
      closeLen = nextClose;
      if (a.kind === "text" && !isSpace(a.raw)) visible = true;
    }
    if (j >= atoms.length) {
      if (visible) parts.push(prefix + out.join("") + closeAll(st));
      break;
    }
    if (j === i) {
      // Not even one atom fits after reopening the open tags.
      const atom = atoms[i] as HtmlAtom;
      if (stack.some((t) => !t.suppressed)) {
        stack = stack.map((t) => ({ ...t, suppressed: true }));
      } else if (atom.kind === "open") {
        stack = [...stack, { name: atom.name, raw: atom.raw, suppressed: true }];
        i++;
      } else {
        parts.push(atom.raw); // a lone unit longer than the limit; unreachable for limit >= 8
        i++;
      }
      continue;
    }
    const half = limit / 2;
    const chosen =
      cands.find((c) => c !== undefined && c.len >= half) ?? cands.find((c) => c !== undefined);
    if (chosen) {
      parts.push(prefix + out.slice(0, chosen.outLen).join("") + closeAll(chosen.stack));
      stack = chosen.stack;
      i = chosen.resume;
    } else {
      if (visible) parts.push(prefix + out.join("") + closeAll(st));
      stack = st;
      i = j;
    }
  }
  return parts;
}

/**
 * Split plain text into parts of at most `limit` UTF-16 units. Whitespace-only parts are
 * dropped; joining the parts with the separators that were cut reproduces the text.
 */
export function splitForTelegram(text: string, limit: number = TELEGRAM_MESSAGE_LIMIT): string[] {
  assertLimit(limit);
  if (text.length <= limit) return text.trim() === "" ? [] : [text];
  return splitAtoms(tokenizePlain(text), limit);
}

/**
 * Split Telegram HTML into parts of at most `limit` UTF-16 units, each with balanced tags.
 * The input must itself be balanced (as `renderTelegramHtml` output is).
 */
export function splitHtmlForTelegram(html: string, limit: number = TELEGRAM_MESSAGE_LIMIT): string[] {
  assertLimit(limit);
  if (html.length <= limit) return html.trim() === "" ? [] : [html];
  return splitAtoms(tokenizeHtml(html), limit);
}
