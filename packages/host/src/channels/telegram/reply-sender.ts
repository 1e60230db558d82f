import { createHash } from "node:crypto";
import type pino from "pino";
import type { InlineKeyboardMarkup } from "telegraf/types";
import type { InlineButton } from "../channel.js";
import { classifyFailure, telegramCode, telegramDescription } from "./api-retry.js";
import type { BotApi, CallOptions } from "./bot-api.js";
import { inlineKeyboard } from "./commands.js";
import { extractAttachments, formatReply, splitHtmlForTelegram, htmlToPlain, escapeHtml, type ReplyAttachment, type ReplyPart } from "./format/index.js";
import { TELEGRAM_CAPTION_LIMIT, TELEGRAM_MESSAGE_LIMIT } from "./format/index.js";
import { openCheckedFile } from "../attachments.js";

/** Telegram's Bot API takes uploads up to 50 MB. */
const TELEGRAM_UPLOAD_LIMIT_BYTES = 50 * 1024 * 1024;

export const DUPLICATE_PREFIX = "♻️ (possible duplicate) ";

/** The chat cannot receive messages (bot blocked, chat gone, …): the item is dropped, not retried. */
export function isPermanentSendFailure(err: unknown): boolean {
  const code = telegramCode(err);
  // 401/404 mean a bad token: retrying (with backoff) is right, the item must not be lost.
  return classifyFailure(err) === "permanent" && code !== 401 && code !== 404;
}

/** The first line of an answer whose forum topic is gone, posted to the group's General topic instead. */
export const TOPIC_GONE_NOTE = "ℹ️ Its forum topic was deleted or closed, so this answer is posted here.";

/** A send into a forum topic that was deleted ("message thread not found", TOPIC_DELETED) or closed (TOPIC_CLOSED). */
export function isTopicGone(err: unknown): boolean {
  const d = telegramDescription(err);
  return telegramCode(err) === 400 && (d.includes("message thread not found") || d.includes("topic_deleted") || d.includes("topic_closed"));
}

export function isParseEntitiesError(err: unknown): boolean {
  const d = telegramDescription(err);
  return telegramCode(err) === 400 && (d.includes("parse entities") || d.includes("can't find end") || d.includes("unsupported start tag"));
}

export function isNotModifiedError(err: unknown): boolean {
  return telegramCode(err) === 400 && telegramDescription(err).includes("message is not modified");
}

/** Converts the host's button rows (or an already-Telegram-shaped markup) into Telegram's inline keyboard. */
export function toReplyMarkup(markup: unknown): InlineKeyboardMarkup | undefined {
  if (!markup) return undefined;
  if (Array.isArray(markup)) {
    const rows = markup.filter(Array.isArray) as InlineButton[][];
    return rows.length ? inlineKeyboard(rows) : undefined;
  }
  if (typeof markup === "object" && "inline_keyboard" in markup) return markup as InlineKeyboardMarkup;
  return undefined;
}

/** Where a message goes: the chat, and the forum topic when the conversation is one (General: none). */
export interface Destination {
  chat_id: string;
  message_thread_id?: number;
}

export function destination(chatId: string, threadId: number | undefined): Destination {
  return threadId === undefined ? { chat_id: chatId } : { chat_id: chatId, message_thread_id: threadId };
}

export interface TextReply {
  /** Markdown, possibly with `<attachment>path</attachment>` tags. */
  text: string;
  /** Pre-rendered Telegram HTML (used instead of rendering `text`). */
  html?: string;
  replyMarkup?: unknown;
  possibleDuplicate?: boolean;
  /** A line put before the first message sent (after the duplicate label), e.g. TOPIC_GONE_NOTE. */
  notice?: string;
  /** Messages (parts, then attachments) of this reply delivered already: not sent again. */
  skipParts?: number;
  /**
   * The split `skipParts` counts in (`partsFingerprint`, as told to `onDelivered`). When the reply splits otherwise
   * now (rendered by another version of the host), the count says nothing about what was shown: the whole reply
   * is sent again, labelled a possible duplicate. Absent (an item stored before it was recorded): the count is trusted.
   */
  partsOf?: string;
  /** Told how many of the reply's messages (parts, then attachments) Telegram accepted so far, and the split they count in. */
  onDelivered?: (count: number, partsOf: string) => void;
  /**
   * Awaited after a message when more of the reply follow, with how many were accepted so far (the
   * outbox records them and waits for room for the next one); a throw stops the reply there.
   */
  betweenParts?: (count: number, partsOf: string) => Promise<void>;
}

/**
 * Sends replies to one chat: Markdown rendered to Telegram HTML, split into ≤ 4096-unit parts
 * sent in order (a part Telegram cannot parse is re-sent as plain text), then the reply's
 * attachments as photo or document uploads. Permanent chat failures are thrown to the caller.
 */
export class ReplySender {
  constructor(
    private readonly api: BotApi,
    private readonly log: pino.Logger,
  ) {}

  async sendText(to: Destination, reply: TextReply, workspace: () => Promise<string | null>, options: CallOptions): Promise<void> {
    let text = reply.text;
    let attachments: ReplyAttachment[] = [];
    if (!reply.html && /<attachment>/i.test(text)) {
      const ws = await workspace();
      if (ws) {
        const extracted = extractAttachments(text, ws);
        attachments = extracted.attachments;
        text = extracted.text;
        if (extracted.rejected.length) {
          text += `\n\n${extracted.rejected.map((r) => `⚠️ Could not attach \`${r.path.trim()}\`: ${r.reason}.`).join("\n")}`;
        }
      }
    }
    const notice = reply.notice ? `${reply.notice}\n` : "";
    // Room for the label even when not labelled yet: a part re-sent after a lost answer gets it (sendPart).
    const limit = TELEGRAM_MESSAGE_LIMIT - DUPLICATE_PREFIX.length - notice.length;
    let parts: ReplyPart[] = reply.html
      ? splitHtmlForTelegram(reply.html, limit).map((html) => ({ html, plain: htmlToPlain(html) }))
      : formatReply(text, limit);
    const markup = toReplyMarkup(reply.replyMarkup);
    if (!parts.length && (markup || !attachments.length)) parts = [{ html: "…", plain: "…" }];
    const split = partsFingerprint(parts, attachments);
    const resplit = (reply.skipParts ?? 0) > 0 && reply.partsOf !== undefined && reply.partsOf !== split;
    if (resplit) this.log.warn({ chatId: to.chat_id, delivered: reply.skipParts }, "the reply splits otherwise than when part of it was sent; sending it whole, labelled");
    const prefix = (reply.possibleDuplicate || resplit ? DUPLICATE_PREFIX : "") + notice;
    // The label goes on the first message sent now (an upgraded group already has the ones before it).
    const skip = resplit ? 0 : (reply.skipParts ?? 0);
    const first = parts[skip];
    if (prefix && first) parts[skip] = { html: escapeHtml(prefix) + first.html, plain: prefix + first.plain };
    const total = parts.length + attachments.length;
    const delivered = async (count: number) => {
      reply.onDelivered?.(count, split);
      if (count < total) await reply.betweenParts?.(count, split);
    };
    for (const [i, part] of parts.entries()) {
      if (i < skip) continue;
      await this.sendPart(to, part, i === parts.length - 1 ? markup : undefined, options);
      await delivered(i + 1);
    }
    for (const [i, attachment] of attachments.entries()) {
      if (parts.length + i < skip) continue;
      const caption = prefix && parts.length + i === skip ? prefix.trim() : undefined;
      await this.sendAttachment(to, attachment, caption, options);
      await delivered(parts.length + i + 1);
    }
  }

  /** One message part as HTML; re-sent as plain text when Telegram rejects the markup. */
  async sendPart(to: Destination, part: ReplyPart, markup: InlineKeyboardMarkup | undefined, options: CallOptions): Promise<number> {
    const base = { ...to, link_preview_options: { is_disabled: true }, reply_markup: markup };
    // The connection failed mid-send: Telegram may have shown it, so the re-send says so.
    const label = (escape: (s: string) => string) => (p: { text: string }) =>
      p.text.includes(DUPLICATE_PREFIX.trim()) ? p : { ...p, text: escape(DUPLICATE_PREFIX) + p.text };
    try {
      const sent = await this.api.call("sendMessage", { ...base, text: part.html, parse_mode: "HTML" }, { ...options, afterUnknownOutcome: label(escapeHtml) });
      return sent.message_id;
    } catch (err) {
      if (!isParseEntitiesError(err)) throw err;
      this.log.warn({ chatId: to.chat_id, error: this.api.describe(err) }, "Telegram rejected the HTML; sending as plain text");
      const sent = await this.api.call("sendMessage", { ...base, text: part.plain || "…" }, { ...options, afterUnknownOutcome: label((t) => t) });
      return sent.message_id;
    }
  }

  /** A file upload: photos that Telegram refuses as photos are retried as documents; a file that still fails gets a note. */
  async sendAttachment(to: Destination, attachment: ReplyAttachment, caption: string | undefined, options: CallOptions): Promise<void> {
    // Read through a descriptor checked to be the file that was checked (not by path, as telegraf would): see openCheckedFile.
    let bytes: Buffer;
    try {
      const handle = await openCheckedFile(attachment.path);
      try {
        const { size } = await handle.stat();
        // Read whole (an upload may be retried): a file over what Telegram takes is never read into memory.
        if (size > TELEGRAM_UPLOAD_LIMIT_BYTES) throw new Error(`it is ${size} bytes, more than the ${TELEGRAM_UPLOAD_LIMIT_BYTES / 1024 / 1024} MB Telegram accepts from bots`);
        bytes = await handle.readFile();
      } finally {
        await handle.close();
      }
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      this.log.warn({ chatId: to.chat_id, file: attachment.name, error: reason }, "attachment not readable as checked");
      await this.api.call("sendMessage", { ...to, text: `⚠️ Could not send the file ${attachment.name}: ${reason}.` }, options);
      return;
    }
    const file = { source: bytes, filename: attachment.name };
    const extra = caption ? { caption: caption.slice(0, TELEGRAM_CAPTION_LIMIT) } : {};
    try {
      if (attachment.kind === "photo") {
        try {
          await this.api.call("sendPhoto", { ...to, photo: file, ...extra }, options);
          return;
        } catch (err) {
          if (!isPermanentSendFailure(err) || telegramCode(err) === 403 || isChatGone(err)) throw err;
          this.log.info({ chatId: to.chat_id, error: this.api.describe(err) }, "photo refused; sending it as a document");
        }
      }
      await this.api.call("sendDocument", { ...to, document: file, ...extra }, options);
    } catch (err) {
      if (!isPermanentSendFailure(err) || telegramCode(err) === 403 || isChatGone(err)) throw err;
      this.log.warn({ chatId: to.chat_id, file: attachment.name, error: this.api.describe(err) }, "attachment refused by Telegram");
      const note = `⚠️ Could not send the file ${attachment.name}: ${this.api.describe(err)}`;
      await this.api.call("sendMessage", { ...to, text: note }, options);
    }
  }
}

/** A short digest of how a reply is split into messages (its parts' HTML, its attachments' paths). */
function partsFingerprint(parts: readonly ReplyPart[], attachments: readonly ReplyAttachment[]): string {
  const hash = createHash("sha256");
  for (const part of parts) hash.update(part.html).update("\0");
  for (const attachment of attachments) hash.update("\u0001").update(attachment.path).update("\0");
  return hash.digest("base64url").slice(0, 16);
}

function isChatGone(err: unknown): boolean {
  const d = telegramDescription(err);
  return d.includes("chat not found") || d.includes("bot was blocked") || d.includes("user is deactivated") || d.includes("bot was kicked");
}
