/** Reply formatting for the Telegram channel: pure functions, no network, no telegraf. */
export { renderTelegramHtml, HORIZONTAL_RULE } from "./markdown.js";
export {
  splitForTelegram,
  splitHtmlForTelegram,
  TELEGRAM_MESSAGE_LIMIT,
  TELEGRAM_CAPTION_LIMIT,
} from "./split.js";
export { formatReply, type ReplyPart } from "./reply.js";
export {
  extractAttachments,
  PHOTO_EXTENSIONS,
  PHOTO_MAX_BYTES,
  type ExtractedAttachments,
  type ReplyAttachment,
  type RejectedAttachment,
} from "../../attachments.js";
export {
  renderProgressPanel,
  formatElapsed,
  isFinalPhase,
  type ProgressPhase,
  type ProgressState,
} from "./progress.js";
export { escapeHtml, escapeAttr, decodeEntities, htmlToPlain, TELEGRAM_TAGS } from "./html.js";
export { displayWidth, renderTableText } from "./table.js";
