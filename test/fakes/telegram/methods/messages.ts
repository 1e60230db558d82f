import { badRequest } from "../api-error.js";
import type { FakeState } from "../state.js";
import type { MessageEntity, ReplyMarkup, SentMessage, TgMessage } from "../types.js";
import type { MethodContext, MethodHandler } from "./context.js";
import { checkLength, type FormattedText, formatText, replyMarkupOf, replyTarget } from "./formatting.js";

export const MESSAGE_LIMIT = 4096;
export const CAPTION_LIMIT = 1024;

/** Fills text/caption, entities and keyboard of a Message object. */
export function applyContent(
  message: TgMessage,
  field: "text" | "caption",
  formatted: FormattedText,
  markup: ReplyMarkup | undefined,
): void {
  const entitiesField = field === "text" ? "entities" : "caption_entities";
  if (formatted.text === "" && field === "caption") delete message.caption;
  else message[field] = formatted.text;
  if (formatted.entities.length > 0) message[entitiesField] = formatted.entities;
  else delete message[entitiesField];
  // Only inline keyboards come back in the Message object.
  if (markup?.inline_keyboard !== undefined) message.reply_markup = { inline_keyboard: markup.inline_keyboard };
  else delete message.reply_markup;
}

const sendMessage: MethodHandler = ({ state, params }) => {
  const chat = state.chat(params.string("chat_id"));
  state.checkThread(chat.id, params.integer("message_thread_id"));
  const formatted = formatText(params, "text", "entities");
  if (formatted.text === "") throw badRequest("message text is empty");
  checkLength(formatted.text, MESSAGE_LIMIT, "message");
  const markup = replyMarkupOf(params);
  const replyTo = replyTarget(state, chat, params);
  const message: TgMessage = { message_id: state.nextMessageId(chat.id), from: state.bot, chat, date: state.now() };
  applyContent(message, "text", formatted, markup);
  if (replyTo !== undefined) message.reply_to_message = replyTo;
  state.storeMessage(message);
  const record: SentMessage = {
    chatId: chat.id,
    messageId: message.message_id,
    method: "sendMessage",
    kind: "text",
    text: formatted.text,
    entities: formatted.entities,
    rawText: formatted.raw,
    editCount: 0,
    sentAt: Date.now(),
    params: params.forRecord(),
    message,
  };
  if (formatted.parseMode !== undefined) record.parseMode = formatted.parseMode;
  if (markup !== undefined) record.replyMarkup = markup;
  if (replyTo !== undefined) record.replyToMessageId = replyTo.message_id;
  state.sent.push(record);
  return message;
};

/** The bot's own message named by chat_id + message_id, or the Bot API error for it. */
function editable({ state, params }: MethodContext): { record: SentMessage; message: TgMessage } {
  if (params.has("inline_message_id")) throw badRequest("inline messages are not supported by the fake Bot API");
  const chat = state.chat(params.string("chat_id"));
  const messageId = params.integer("message_id");
  if (messageId === undefined) throw badRequest("message identifier is not specified");
  const message = state.message(chat.id, messageId);
  if (message === undefined) throw badRequest("message to edit not found");
  const record = state.sentMessage(chat.id, messageId);
  if (record === undefined || message.from?.id !== state.bot.id) throw badRequest("message can't be edited");
  return { record, message };
}

const NOT_MODIFIED =
  "message is not modified: specified new message content and reply markup are exactly the same " +
  "as a current content and reply markup of the message";

function sameEntities(a: MessageEntity[], b: MessageEntity[]): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function finishEdit(
  state: FakeState,
  method: string,
  record: SentMessage,
  message: TgMessage,
  previousText: string | undefined,
): TgMessage {
  message.edit_date = state.now();
  record.editCount++;
  record.editedAt = Date.now();
  const edit = {
    chatId: record.chatId,
    messageId: record.messageId,
    method,
    entities: record.entities,
    at: record.editedAt,
    ...(record.kind === "text" ? { text: record.text } : { caption: record.caption }),
    ...(previousText !== undefined ? { previousText } : {}),
    ...(record.parseMode !== undefined ? { parseMode: record.parseMode } : {}),
    ...(record.replyMarkup !== undefined ? { replyMarkup: record.replyMarkup } : {}),
  };
  state.edits.push(edit);
  return message;
}

function editContent(field: "text" | "caption"): MethodHandler {
  return (context) => {
    const { state, params } = context;
    const { record, message } = editable(context);
    if (field === "text" && record.kind !== "text") throw badRequest("there is no text in the message to edit");
    if (field === "caption" && record.kind === "text") throw badRequest("there is no caption in the message to edit");
    const formatted = formatText(params, field, field === "text" ? "entities" : "caption_entities");
    if (field === "text" && formatted.text === "") throw badRequest("message text is empty");
    checkLength(formatted.text, field === "text" ? MESSAGE_LIMIT : CAPTION_LIMIT, field === "text" ? "message" : "caption");
    const markup = replyMarkupOf(params);
    const current = field === "text" ? record.text : record.caption;
    if (
      (current ?? "") === formatted.text &&
      sameEntities(record.entities, formatted.entities) &&
      JSON.stringify(record.replyMarkup?.inline_keyboard) === JSON.stringify(markup?.inline_keyboard)
    ) {
      throw badRequest(NOT_MODIFIED);
    }
    applyContent(message, field, formatted, markup);
    record[field] = formatted.text;
    record.entities = formatted.entities;
    record.rawText = formatted.raw;
    if (formatted.parseMode !== undefined) record.parseMode = formatted.parseMode;
    else delete record.parseMode;
    if (markup !== undefined) record.replyMarkup = markup;
    else delete record.replyMarkup;
    return finishEdit(state, field === "text" ? "editMessageText" : "editMessageCaption", record, message, current);
  };
}

const editMessageReplyMarkup: MethodHandler = (context) => {
  const { record, message } = editable(context);
  const markup = replyMarkupOf(context.params);
  if (JSON.stringify(record.replyMarkup?.inline_keyboard) === JSON.stringify(markup?.inline_keyboard)) {
    throw badRequest(NOT_MODIFIED);
  }
  if (markup?.inline_keyboard !== undefined) message.reply_markup = { inline_keyboard: markup.inline_keyboard };
  else delete message.reply_markup;
  if (markup !== undefined) record.replyMarkup = markup;
  else delete record.replyMarkup;
  return finishEdit(context.state, "editMessageReplyMarkup", record, message, undefined);
};

const deleteMessage: MethodHandler = ({ state, params }) => {
  const chat = state.chat(params.string("chat_id"));
  const messageId = params.integer("message_id");
  if (messageId === undefined) throw badRequest("message identifier is not specified");
  if (state.message(chat.id, messageId) === undefined) throw badRequest("message to delete not found");
  state.deleteMessage(chat.id, messageId);
  return true;
};

export const messageMethods: Record<string, MethodHandler> = {
  sendMessage,
  editMessageText: editContent("text"),
  editMessageCaption: editContent("caption"),
  editMessageReplyMarkup,
  deleteMessage,
};
