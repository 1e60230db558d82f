import path from "node:path";
import { badRequest } from "../api-error.js";
import type { FakeState } from "../state.js";
import type { MediaKind, SentMessage, StoredFile, TgMessage } from "../types.js";
import type { MethodHandler } from "./context.js";
import { checkLength, formatText, replyMarkupOf, replyTarget } from "./formatting.js";
import { applyContent, CAPTION_LIMIT } from "./messages.js";

const DOWNLOAD_LIMIT = 20 * 1024 * 1024;

/** The Bot API object for a file of `kind` inside a Message (`photo` is an array of sizes). */
export function mediaObject(state: FakeState, kind: MediaKind, file: StoredFile): unknown {
  const base = { file_id: file.fileId, file_unique_id: file.fileUniqueId, file_size: file.size };
  const named = { ...(file.fileName !== undefined ? { file_name: file.fileName } : {}), mime_type: file.mimeType };
  switch (kind) {
    case "photo": {
      // Telegram sends several sizes, smallest first; the thumbnail is a separate file.
      const thumb = state.storeFile("photo", file.bytes, "thumb.jpg", "image/jpeg");
      return [
        { file_id: thumb.fileId, file_unique_id: thumb.fileUniqueId, file_size: thumb.size, width: 90, height: 68 },
        { ...base, width: 1280, height: 960 },
      ];
    }
    case "document":
      return { ...base, ...named };
    case "audio":
      return { ...base, ...named, duration: 1 };
    case "voice":
      return { ...base, mime_type: file.mimeType, duration: 1 };
    case "video":
    case "animation":
      return { ...base, ...named, width: 640, height: 360, duration: 1 };
  }
}

function sendMedia(kind: MediaKind, method: string): MethodHandler {
  return ({ state, params }) => {
    const chat = state.chat(params.string("chat_id"));
    state.checkThread(chat.id, params.integer("message_thread_id"));
    const upload = params.files.get(kind);
    const reference = params.string(kind);
    let file: StoredFile;
    if (upload !== undefined) {
      if (upload.bytes.length === 0) throw badRequest("file must be non-empty");
      file = state.storeFile(kind, upload.bytes, upload.fileName, upload.mimeType);
    } else if (reference !== undefined && /^https?:\/\//i.test(reference)) {
      file = state.storeFile(kind, Buffer.alloc(0), path.basename(new URL(reference).pathname) || undefined);
      file.url = reference;
    } else if (reference !== undefined && reference !== "") {
      const known = state.files.get(reference);
      if (known === undefined) throw badRequest("wrong file identifier/HTTP URL specified");
      file = known;
    } else {
      throw badRequest(`there is no ${kind} in the request`);
    }
    const caption = formatText(params, "caption", "caption_entities");
    checkLength(caption.text, CAPTION_LIMIT, "caption");
    const markup = replyMarkupOf(params);
    const replyTo = replyTarget(state, chat, params);
    const message: TgMessage = { message_id: state.nextMessageId(chat.id), from: state.bot, chat, date: state.now() };
    message[kind] = mediaObject(state, kind, file);
    if (kind === "animation") message["document"] = mediaObject(state, "document", file);
    applyContent(message, "caption", caption, markup);
    if (replyTo !== undefined) message.reply_to_message = replyTo;
    state.storeMessage(message);
    const record: SentMessage = {
      chatId: chat.id,
      messageId: message.message_id,
      method,
      kind,
      entities: caption.entities,
      file,
      uploaded: upload !== undefined,
      editCount: 0,
      sentAt: Date.now(),
      params: params.forRecord(),
      message,
    };
    if (caption.text !== "") record.caption = caption.text;
    if (caption.raw !== "") record.rawText = caption.raw;
    if (caption.parseMode !== undefined) record.parseMode = caption.parseMode;
    if (markup !== undefined) record.replyMarkup = markup;
    if (replyTo !== undefined) record.replyToMessageId = replyTo.message_id;
    state.sent.push(record);
    return message;
  };
}

const getFile: MethodHandler = ({ state, params }) => {
  const fileId = params.string("file_id");
  if (fileId === undefined || fileId === "") throw badRequest("file_id is empty");
  const file = state.files.get(fileId);
  if (file === undefined) throw badRequest("invalid file_id");
  if (file.size > DOWNLOAD_LIMIT) throw badRequest("file is too big");
  return { file_id: file.fileId, file_unique_id: file.fileUniqueId, file_size: file.size, file_path: file.filePath };
};

export const mediaMethods: Record<string, MethodHandler> = {
  sendPhoto: sendMedia("photo", "sendPhoto"),
  sendDocument: sendMedia("document", "sendDocument"),
  sendAudio: sendMedia("audio", "sendAudio"),
  sendVoice: sendMedia("voice", "sendVoice"),
  sendVideo: sendMedia("video", "sendVideo"),
  sendAnimation: sendMedia("animation", "sendAnimation"),
  getFile,
};
