/** Shapes shared by the fake Bot API modules and its users (tests, benchmarks). Field names follow the Bot API. */

export interface FakeUser {
  id: number;
  is_bot: boolean;
  first_name: string;
  last_name?: string;
  username?: string;
  language_code?: string;
}

export interface FakeChat {
  id: number;
  type: "private" | "group" | "supergroup" | "channel";
  title?: string;
  first_name?: string;
  last_name?: string;
  username?: string;
  /** A supergroup with topics (see groups.ts `forumChat`). */
  is_forum?: boolean;
}

export interface MessageEntity {
  type: string;
  offset: number;
  length: number;
  url?: string;
  language?: string;
  custom_emoji_id?: string;
  user?: FakeUser;
}

export interface InlineKeyboardButton {
  text: string;
  callback_data?: string;
  url?: string;
  [field: string]: unknown;
}

export interface ReplyMarkup {
  inline_keyboard?: InlineKeyboardButton[][];
  keyboard?: unknown[][];
  remove_keyboard?: boolean;
  force_reply?: boolean;
  [field: string]: unknown;
}

/** A Bot API Message object as the fake returns it (only the fields it fills are typed). */
export interface TgMessage {
  message_id: number;
  chat: FakeChat;
  date: number;
  from?: FakeUser;
  text?: string;
  entities?: MessageEntity[];
  caption?: string;
  caption_entities?: MessageEntity[];
  reply_markup?: ReplyMarkup;
  reply_to_message?: TgMessage;
  edit_date?: number;
  [field: string]: unknown;
}

/** A Bot API Update object. */
export interface TgUpdate {
  update_id: number;
  message?: TgMessage;
  edited_message?: TgMessage;
  callback_query?: {
    id: string;
    from: FakeUser;
    message?: TgMessage;
    chat_instance: string;
    data?: string;
  };
  [field: string]: unknown;
}

export type MediaKind = "photo" | "document" | "audio" | "voice" | "video" | "animation";

/** A file the fake knows: sent by a simulated user or uploaded by the bot. */
export interface StoredFile {
  fileId: string;
  fileUniqueId: string;
  filePath: string;
  kind: MediaKind;
  fileName?: string;
  mimeType?: string;
  size: number;
  bytes: Buffer;
  /** Set when the bot passed an http(s) URL instead of uploading (bytes are then empty). */
  url?: string;
}

/** A file a simulated user sends (`sendPhoto`, `sendDocument`, …). */
export interface InboundFile {
  fileName: string;
  mimeType: string;
  bytes: Buffer;
  caption?: string;
}

export interface InboundOptions {
  from?: FakeUser;
  replyTo?: number;
  /** Forum topic of the message (`message_thread_id`, `is_topic_message`). */
  threadId?: number;
  /** Part of an album: parts sharing a `media_group_id` arrive as separate updates. */
  mediaGroupId?: string;
}

/** One message the bot sent, kept current through edits. */
export interface SentMessage {
  chatId: number;
  messageId: number;
  /** The Bot API method that created it (`sendMessage`, `sendPhoto`, …). */
  method: string;
  kind: "text" | MediaKind;
  /** Text as the user sees it (after parse_mode was applied) — text messages only. */
  text?: string;
  caption?: string;
  /** Entities of `text` (or of `caption` for media), after parse_mode or as given. */
  entities: MessageEntity[];
  parseMode?: string;
  /** Text or caption exactly as the bot sent it last (before parse_mode). */
  rawText?: string;
  replyMarkup?: ReplyMarkup;
  replyToMessageId?: number;
  file?: StoredFile;
  /** True when the file came as a multipart upload (not a file_id or URL). */
  uploaded?: boolean;
  editCount: number;
  sentAt: number;
  editedAt?: number;
  /** Parameters of the send call (uploaded files shown as `{fileName, size}`). */
  params: Record<string, unknown>;
  /** The Message object the Bot API returned, updated on edits. */
  message: TgMessage;
}

export interface EditRecord {
  chatId: number;
  messageId: number;
  method: string;
  text?: string;
  caption?: string;
  previousText?: string;
  entities: MessageEntity[];
  parseMode?: string;
  replyMarkup?: ReplyMarkup;
  at: number;
}

export interface ChatActionRecord {
  chatId: number;
  action: string;
  at: number;
}

export interface CallbackAnswerRecord {
  callbackQueryId: string;
  text?: string;
  showAlert?: boolean;
  url?: string;
  at: number;
}

export interface BotCommand {
  command: string;
  description: string;
}

export interface CommandsRecord {
  commands: BotCommand[];
  scope?: Record<string, unknown>;
  languageCode?: string;
  at: number;
}

export interface CallRecord {
  method: string;
  params: Record<string, unknown>;
  /** When the request arrived. */
  startedAt: number;
  /** When the answer was sent. */
  at: number;
  /** HTTP status of the answer (200 on success). */
  status: number;
  /** Bot API error description when the call failed. */
  error?: string;
  /** `parameters.retry_after` of a 429 answer (seconds). */
  retryAfter?: number;
}

export type Fault =
  | { status: 429; retryAfter: number }
  | { status: 500 | 502 | 409 | 400 | 403; description?: string };

/** A private chat with a user (`type: "private"`, chat id = user id). */
export function privateChat(userId: number, name = `User ${userId}`): FakeChat {
  return { id: userId, type: "private", first_name: name, username: usernameOf(name) };
}

/** A basic group (`type: "group"`); real group ids are negative, e.g. -100123. */
export function groupChat(id: number, title: string): FakeChat {
  return { id, type: "group", title };
}

export function user(id: number, name = `User ${id}`): FakeUser {
  return { id, is_bot: false, first_name: name, username: usernameOf(name), language_code: "en" };
}

function usernameOf(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9_]/g, "_");
}
