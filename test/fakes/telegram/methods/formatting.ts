import { badRequest } from "../api-error.js";
import { parseHtml } from "../html-parse.js";
import { parseMarkdownLegacy, parseMarkdownV2 } from "../markdown-parse.js";
import type { Params } from "../params.js";
import type { FakeState } from "../state.js";
import type { FakeChat, InlineKeyboardButton, MessageEntity, ReplyMarkup, TgMessage } from "../types.js";

export interface FormattedText {
  text: string;
  entities: MessageEntity[];
  parseMode?: string;
  raw: string;
}

/**
 * The text (or caption) of a call as Telegram stores it: parse_mode applied (HTML,
 * MarkdownV2, Markdown) or explicit entities taken, then surrounding whitespace trimmed.
 */
export function formatText(params: Params, field: "text" | "caption", entitiesField: string): FormattedText {
  const raw = params.string(field) ?? "";
  const parseMode = params.string("parse_mode") || undefined;
  let parsed: { text: string; entities: MessageEntity[] };
  switch (parseMode?.toLowerCase()) {
    case undefined:
      parsed = { text: raw, entities: explicitEntities(params.json(entitiesField)) };
      break;
    case "html":
      parsed = parseHtml(raw);
      break;
    case "markdownv2":
      parsed = parseMarkdownV2(raw);
      break;
    case "markdown":
      parsed = parseMarkdownLegacy(raw);
      break;
    default:
      throw badRequest("unsupported parse_mode");
  }
  const result: FormattedText = { ...trim(parsed.text, parsed.entities), raw };
  if (parseMode !== undefined) result.parseMode = parseMode;
  return result;
}

function explicitEntities(value: unknown): MessageEntity[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw badRequest("can't parse entities JSON object");
  const isEntity = (e: MessageEntity | null): e is MessageEntity =>
    typeof e === "object" && e !== null && typeof e.type === "string" && Number.isInteger(e.offset) && Number.isInteger(e.length);
  return (value as Array<MessageEntity | null>).filter(isEntity);
}

/** Telegram drops leading and trailing whitespace and clips entities to what is left. */
function trim(text: string, entities: MessageEntity[]): { text: string; entities: MessageEntity[] } {
  const lead = text.length - text.trimStart().length;
  const trimmed = text.trim();
  const clipped: MessageEntity[] = [];
  for (const entity of entities) {
    const start = Math.max(0, entity.offset - lead);
    const end = Math.min(trimmed.length, entity.offset + entity.length - lead);
    if (end > start) clipped.push({ ...entity, offset: start, length: end - start });
  }
  return { text: trimmed, entities: clipped };
}

/** Checks `reply_markup` like Telegram does for the mistakes bots make (callback_data over 64 bytes, …). */
export function replyMarkupOf(params: Params): ReplyMarkup | undefined {
  const value = params.json("reply_markup");
  if (value === undefined || value === null || value === "") return undefined;
  if (typeof value !== "object" || Array.isArray(value)) throw badRequest("can't parse reply keyboard markup JSON object");
  const markup = value as ReplyMarkup;
  if (markup.inline_keyboard !== undefined) {
    if (!Array.isArray(markup.inline_keyboard) || !markup.inline_keyboard.every(Array.isArray)) {
      throw badRequest("field \"inline_keyboard\" of the InlineKeyboardMarkup must be an Array of Arrays");
    }
    for (const row of markup.inline_keyboard) for (const button of row) checkButton(button);
  }
  return markup;
}

const BUTTON_ACTIONS = [
  ...["callback_data", "url", "switch_inline_query", "switch_inline_query_current_chat"],
  ...["web_app", "login_url", "pay", "copy_text", "callback_game"],
];

function checkButton(button: InlineKeyboardButton): void {
  if (typeof button !== "object" || button === null || typeof button.text !== "string") {
    throw badRequest("can't find field \"text\"");
  }
  if (button.text === "") throw badRequest("BUTTON_TEXT_INVALID");
  if (!BUTTON_ACTIONS.some((field) => button[field] !== undefined)) {
    throw badRequest("text buttons are unallowed in the inline keyboard");
  }
  if (button.callback_data !== undefined) {
    const size = Buffer.byteLength(String(button.callback_data), "utf8");
    if (size < 1 || size > 64) throw badRequest("BUTTON_DATA_INVALID");
  }
}

/** The message a send replies to (`reply_parameters` or the older `reply_to_message_id`). */
export function replyTarget(state: FakeState, chat: FakeChat, params: Params): TgMessage | undefined {
  const parameters = params.json("reply_parameters");
  let messageId: number | undefined;
  let allowWithout = params.boolean("allow_sending_without_reply") ?? false;
  let targetChat = chat.id;
  if (typeof parameters === "object" && parameters !== null) {
    const p = parameters as Record<string, unknown>;
    messageId = typeof p["message_id"] === "number" ? p["message_id"] : Number(p["message_id"]);
    if (p["allow_sending_without_reply"] === true) allowWithout = true;
    if (p["chat_id"] !== undefined) targetChat = Number(p["chat_id"]);
  } else {
    messageId = params.integer("reply_to_message_id");
  }
  if (messageId === undefined || Number.isNaN(messageId)) return undefined;
  const target = state.message(targetChat, messageId);
  if (target === undefined && !allowWithout) throw badRequest("message to be replied not found");
  return target;
}

export function checkLength(text: string, limit: number, what: "message" | "caption"): void {
  if (text.length > limit) throw badRequest(what === "message" ? "message is too long" : "message caption is too long");
}
