import { randomBytes } from "node:crypto";
import path from "node:path";
import { badRequest, groupUpgraded } from "./api-error.js";
import { UpdateQueue } from "./update-queue.js";
import type {
  CallbackAnswerRecord,
  CallRecord,
  ChatActionRecord,
  CommandsRecord,
  EditRecord,
  FakeChat,
  FakeUser,
  MediaKind,
  SentMessage,
  StoredFile,
  TgMessage,
} from "./types.js";

const FILE_FOLDERS: Record<MediaKind, string> = {
  photo: "photos",
  document: "documents",
  audio: "music",
  voice: "voice",
  video: "videos",
  animation: "animations",
};

const MIME_BY_EXTENSION: Record<string, string> = {
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  png: "image/png",
  gif: "image/gif",
  webp: "image/webp",
  pdf: "application/pdf",
  txt: "text/plain",
  md: "text/markdown",
  json: "application/json",
  csv: "text/csv",
  zip: "application/zip",
  mp3: "audio/mpeg",
  ogg: "audio/ogg",
  oga: "audio/ogg",
  wav: "audio/wav",
  m4a: "audio/mp4",
  mp4: "video/mp4",
  webm: "video/webm",
};

export function guessMimeType(fileName: string | undefined, kind: MediaKind): string {
  const extension = path.extname(fileName ?? "").slice(1).toLowerCase();
  const known = MIME_BY_EXTENSION[extension];
  if (known !== undefined) return known;
  if (kind === "photo") return "image/jpeg";
  if (kind === "voice") return "audio/ogg";
  if (kind === "video" || kind === "animation") return "video/mp4";
  return "application/octet-stream";
}

/** Everything the fake Bot API remembers. */
export class FakeState {
  readonly token: string;
  readonly bot: FakeUser;
  readonly queue = new UpdateQueue(1);
  readonly chats = new Map<number, FakeChat>();
  /** Every message in every chat (user's and bot's), by `chatId:messageId`. */
  readonly messages = new Map<string, TgMessage>();
  readonly sent: SentMessage[] = [];
  readonly edits: EditRecord[] = [];
  readonly chatActions: ChatActionRecord[] = [];
  readonly callbackAnswers: CallbackAnswerRecord[] = [];
  readonly commandsHistory: CommandsRecord[] = [];
  readonly commands = new Map<string, CommandsRecord>();
  readonly calls: CallRecord[] = [];
  readonly files = new Map<string, StoredFile>();
  readonly filesByPath = new Map<string, StoredFile>();
  /** Open callback queries: id → answered. */
  readonly callbackQueries = new Map<string, boolean>();
  /** `chatId:messageId` of deleted messages. */
  readonly deleted = new Set<string>();
  webhookUrl = "";
  private readonly lastMessageId = new Map<number, number>();
  private fileCounter = 0;
  private callbackCounter = 0;

  constructor(token: string, botUsername: string) {
    this.token = token;
    const id = Number(token.split(":")[0]);
    this.bot = {
      id: Number.isSafeInteger(id) ? id : 123456,
      is_bot: true,
      first_name: "Starling Test Bot",
      username: botUsername,
    };
  }

  /** Basic groups upgraded to a supergroup: old chat id → new chat id. */
  readonly migrated = new Map<number, number>();

  /** Forum topics deleted by a user, as `chatId:threadId`: sends into them fail as Telegram's do. */
  readonly deletedTopics = new Set<string>();

  /** Throws Telegram's answer to a send into a deleted forum topic. */
  checkThread(chatId: number, threadId: number | undefined): void {
    if (threadId !== undefined && this.deletedTopics.has(`${chatId}:${threadId}`)) throw badRequest("message thread not found");
  }

  registerChat(chat: FakeChat): void {
    this.chats.set(chat.id, { ...this.chats.get(chat.id), ...chat });
  }

  /** The chat named by a `chat_id` parameter (number or decimal string). */
  chat(chatId: string | undefined): FakeChat {
    if (chatId === undefined || chatId === "") throw badRequest("chat_id is empty");
    const chat = /^-?\d+$/.test(chatId) ? this.chats.get(Number(chatId)) : undefined;
    const upgradedTo = this.migrated.get(Number(chatId));
    if (upgradedTo !== undefined) throw groupUpgraded(upgradedTo);
    if (chat === undefined) throw badRequest("chat not found");
    return chat;
  }

  /** Message ids count up per chat, shared by the user's and the bot's messages. */
  nextMessageId(chatId: number): number {
    const id = (this.lastMessageId.get(chatId) ?? 0) + 1;
    this.lastMessageId.set(chatId, id);
    return id;
  }

  deleteMessage(chatId: number, messageId: number): void {
    this.messages.delete(`${chatId}:${messageId}`);
    this.deleted.add(`${chatId}:${messageId}`);
  }

  isDeleted(chatId: number, messageId: number): boolean {
    return this.deleted.has(`${chatId}:${messageId}`);
  }

  storeMessage(message: TgMessage): void {
    this.messages.set(`${message.chat.id}:${message.message_id}`, message);
  }

  message(chatId: number, messageId: number): TgMessage | undefined {
    return this.messages.get(`${chatId}:${messageId}`);
  }

  sentMessage(chatId: number, messageId: number): SentMessage | undefined {
    if (this.deleted.has(`${chatId}:${messageId}`)) return undefined;
    return this.sent.find((m) => m.chatId === chatId && m.messageId === messageId);
  }

  storeFile(kind: MediaKind, bytes: Buffer, fileName?: string, mimeType?: string): StoredFile {
    const n = ++this.fileCounter;
    const extension = path.extname(fileName ?? "") || `.${kind === "photo" ? "jpg" : "dat"}`;
    const file: StoredFile = {
      fileId: `${kind.slice(0, 2).toUpperCase()}AAC${n}${randomBytes(12).toString("base64url")}`,
      fileUniqueId: `AgAD${n}${randomBytes(3).toString("hex")}`,
      filePath: `${FILE_FOLDERS[kind]}/file_${n}${extension}`,
      kind,
      mimeType: mimeType ?? guessMimeType(fileName, kind),
      size: bytes.length,
      bytes,
    };
    if (fileName !== undefined) file.fileName = fileName;
    this.files.set(file.fileId, file);
    this.filesByPath.set(file.filePath, file);
    return file;
  }

  newCallbackQueryId(): string {
    const id = `${BigInt(this.bot.id) * 1_000_000n + BigInt(++this.callbackCounter)}`;
    this.callbackQueries.set(id, false);
    return id;
  }

  now(): number {
    return Math.floor(Date.now() / 1000);
  }
}
