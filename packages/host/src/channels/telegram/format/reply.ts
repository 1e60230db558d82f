/**
 * Reply pipeline: Markdown → Telegram HTML → parts ≤ limit, each with its plain-text fallback
 * (sent without parse_mode when Telegram rejects the HTML).
 */
import { htmlToPlain } from "./html.js";
import { renderTelegramHtml } from "./markdown.js";
import { TELEGRAM_MESSAGE_LIMIT, splitHtmlForTelegram } from "./split.js";

export interface ReplyPart {
  /** Telegram HTML for `parse_mode: "HTML"`; ≤ limit UTF-16 units, balanced tags. */
  html: string;
  /** The same content as plain text (tags dropped, entities decoded); never longer than `html`. */
  plain: string;
}

/**
 * Render a Markdown reply and split it into Telegram-sized parts. Returns `[]` for a reply
 * with no visible content. Use `limit = 1024` for a caption.
 */
export function formatReply(markdown: string, limit: number = TELEGRAM_MESSAGE_LIMIT): ReplyPart[] {
  const html = renderTelegramHtml(markdown);
  return splitHtmlForTelegram(html, limit)
    .map((part) => ({ html: part, plain: htmlToPlain(part).replace(/^\s*\n/, "").trimEnd() }))
    .filter((part) => part.plain !== "");
}
