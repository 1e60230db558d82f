/**
 * A fake Telegram Bot API server for tests and benchmarks. telegraf (or any client)
 * talks to it unchanged through `apiRoot`; tests play the users (`sendText`, …), read what
 * the bot did (`messages`, `edits`, …) and inject faults (`failNext`). Behaviour follows
 * the real API where bots depend on it: getUpdates long polling with offset confirmation,
 * per-chat message ids, HTML/MarkdownV2 parsing with Telegram's error texts, 4096/1024
 * limits, "message is not modified", multipart uploads, getFile + downloads.
 */
import { Inbound } from "./telegram/inbound.js";
import type { Nemesis } from "./telegram/nemesis.js";
import { FakeBotApiServer, type ArrivalHold } from "./telegram/server.js";
import { FakeState } from "./telegram/state.js";
import { waitLimit } from "./wait-limit.js";
import type {
  BotCommand,
  CallbackAnswerRecord,
  CallRecord,
  ChatActionRecord,
  CommandsRecord,
  EditRecord,
  Fault,
  FakeChat,
  FakeUser,
  InboundFile,
  InboundOptions,
  MediaKind,
  SentMessage,
  StoredFile,
  TgUpdate,
} from "./telegram/types.js";

export { groupChat, privateChat, user } from "./telegram/types.js";
export type {
  BotCommand,
  CallbackAnswerRecord,
  CallRecord,
  ChatActionRecord,
  CommandsRecord,
  EditRecord,
  Fault,
  FakeChat,
  FakeUser,
  InboundFile,
  InboundOptions,
  InlineKeyboardButton,
  MediaKind,
  MessageEntity,
  ReplyMarkup,
  SentMessage,
  StoredFile,
  TgMessage,
  TgUpdate,
} from "./telegram/types.js";
export { parseHtml } from "./telegram/html-parse.js";
export type { ArrivalHold } from "./telegram/server.js";
export { nemesisLabel, ruleNemesis, type Nemesis, type NemesisAction, type NemesisCall, type NemesisRule } from "./telegram/nemesis.js";
export { parseMarkdownV2 } from "./telegram/markdown-parse.js";

export interface FakeTelegram {
  /** e.g. `http://127.0.0.1:PORT`; clients call `${apiRoot}/bot<token>/<method>`. */
  apiRoot: string;
  token: string;
  /** The bot as getMe describes it. */
  botUser: FakeUser;

  // inbound: simulated users (each returns the update_id; the message id is in `updates()`)
  /** A text message; `/commands` in it get bot_command entities as Telegram adds them. */
  sendText(chat: FakeChat, text: string, opts?: InboundOptions): number;
  /** `sendText` with a leading `/` added when missing. */
  sendCommand(chat: FakeChat, command: string, opts?: InboundOptions): number;
  sendPhoto(chat: FakeChat, file: InboundFile, opts?: InboundOptions): number;
  sendDocument(chat: FakeChat, file: InboundFile, opts?: InboundOptions): number;
  sendVoice(chat: FakeChat, file: InboundFile, opts?: InboundOptions): number;
  sendAudio(chat: FakeChat, file: InboundFile, opts?: InboundOptions): number;
  sendVideo(chat: FakeChat, file: InboundFile, opts?: InboundOptions): number;
  /** The user edits their message `messageId` (text, or caption of a file): an `edited_message` update. */
  editText(chat: FakeChat, messageId: number, text: string): number;
  /** The user replaces the file of their message `messageId` (same caption): an `edited_message` update. */
  editFile(chat: FakeChat, messageId: number, kind: MediaKind, file: Omit<InboundFile, "caption">): number;
  /** The Telegram message id of a message update (e.g. the one `sendText` queued). */
  messageIdOf(updateId: number): number;
  /** A tap on an inline button (callback_query); throws if the message has no such button. */
  pressButton(chat: FakeChat, messageId: number, data: string, from?: FakeUser): number;
  /** Queues any update object (edited_message, my_chat_member, …). */
  pushUpdate(update: Omit<TgUpdate, "update_id">): number;
  /** Upgrades a basic group to a supergroup (service messages in both; the old id is refused from then on). */
  migrateGroup(group: FakeChat, supergroup: FakeChat, from?: FakeUser): number;
  /** A user deletes forum topic `threadId`: the bot's sends into it fail ("message thread not found"). */
  deleteTopic(chat: FakeChat, threadId: number): void;
  /** Makes a chat known without a message from it (so the bot may write to it first). */
  registerChat(chat: FakeChat): void;

  // observed bot output (live objects, current after edits; deleted messages left out)
  messages(chatId?: number): SentMessage[];
  edits(chatId?: number): EditRecord[];
  chatActions(chatId?: number): ChatActionRecord[];
  callbackAnswers(): CallbackAnswerRecord[];
  /** Every setMyCommands call, oldest first. */
  commandsSet(): CommandsRecord[];
  /** Commands currently set for the default scope. */
  currentCommands(): BotCommand[];
  /** Every call that reached a method (including failed and injected-fault ones), oldest first. */
  calls(method?: string): CallRecord[];
  /** Every update queued so far, oldest first. */
  updates(): TgUpdate[];
  /** When an update was queued (ms since the epoch). */
  pushedAt(updateId: number): number | undefined;
  file(fileId: string): StoredFile | undefined;
  /** Polls every 10 ms until `predicate` returns something truthy (a throw counts as "not yet"). */
  waitFor<T>(predicate: () => T | undefined | null | false, timeoutMs?: number): Promise<T>;

  // fault injection
  /** The next `times` (default 1) calls of `method` fail with `fault` before reaching the method. */
  failNext(method: string, fault: Fault, times?: number): void;
  /** Consulted on every call (after `failNext` faults): fail, reset, hang or slow it; undefined turns it off. */
  setNemesis(nemesis: Nemesis | undefined): void;
  /** Consulted on every call before the nemesis: the call "arrives" once the promise it returns resolves. */
  holdArrival(hold: ArrivalHold | undefined): void;
  /** Highest offset the bot confirmed via getUpdates. */
  confirmedOffset(): number;
  /** Updates queued and not yet confirmed. */
  pendingUpdates(): number;
  /** Answers held getUpdates with `[]` and stops the server. */
  close(): Promise<void>;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export async function startFakeTelegram(opts: { token?: string; botUsername?: string } = {}): Promise<FakeTelegram> {
  const state = new FakeState(opts.token ?? "123456:TEST-fake-telegram-token", opts.botUsername ?? "starling_test_bot");
  const server = new FakeBotApiServer(state);
  const inbound = new Inbound(state);
  const port = await server.listen();
  const byChat = <T extends { chatId: number }>(list: T[], chatId: number | undefined): T[] =>
    chatId === undefined ? [...list] : list.filter((item) => item.chatId === chatId);

  const fake: FakeTelegram = {
    apiRoot: `http://127.0.0.1:${port}`,
    token: state.token,
    botUser: state.bot,
    sendText: (chat, text, o) => inbound.text(chat, text, o),
    sendCommand: (chat, command, o) => inbound.text(chat, command.startsWith("/") ? command : `/${command}`, o),
    sendPhoto: (chat, file, o) => inbound.file("photo", chat, file, o),
    sendDocument: (chat, file, o) => inbound.file("document", chat, file, o),
    sendVoice: (chat, file, o) => inbound.file("voice", chat, file, o),
    sendAudio: (chat, file, o) => inbound.file("audio", chat, file, o),
    sendVideo: (chat, file, o) => inbound.file("video", chat, file, o),
    editText: (chat, messageId, text) => inbound.edit(chat, messageId, text),
    editFile: (chat, messageId, kind, file) => inbound.editFile(chat, messageId, kind, file),
    messageIdOf: (updateId) => {
      const message = state.queue.all().find((u) => u.update_id === updateId)?.message;
      if (message === undefined) throw new Error(`messageIdOf: update ${updateId} is not a message`);
      return message.message_id;
    },
    pressButton: (chat, messageId, data, from) => inbound.button(chat, messageId, data, from),
    pushUpdate: (update) => state.queue.push(update),
    registerChat: (chat) => state.registerChat(chat),
    deleteTopic: (chat, threadId) => state.deletedTopics.add(`${chat.id}:${threadId}`),
    migrateGroup: (group, supergroup, from) => inbound.migrate(group, supergroup, from),
    messages: (chatId) => byChat(state.sent, chatId).filter((m) => !state.isDeleted(m.chatId, m.messageId)),
    edits: (chatId) => byChat(state.edits, chatId),
    chatActions: (chatId) => byChat(state.chatActions, chatId),
    callbackAnswers: () => [...state.callbackAnswers],
    commandsSet: () => [...state.commandsHistory],
    currentCommands: () => state.commands.get(`${JSON.stringify({ type: "default" })}|`)?.commands ?? [],
    calls: (method) =>
      method === undefined
        ? [...state.calls]
        : state.calls.filter((c) => c.method.toLowerCase() === method.toLowerCase()),
    updates: () => state.queue.all(),
    pushedAt: (updateId) => state.queue.pushedAt.get(updateId),
    file: (fileId) => state.files.get(fileId),
    async waitFor<T>(predicate: () => T | undefined | null | false, timeoutMs = 30_000): Promise<T> {
      const deadline = Date.now() + waitLimit(timeoutMs);
      let lastError: unknown;
      for (;;) {
        try {
          const value = predicate();
          if (value) return value;
        } catch (error) {
          lastError = error;
        }
        if (Date.now() >= deadline) {
          const recent = state.calls.slice(-8).map((c) => `${c.method}→${c.status}${c.error ? ` (${c.error})` : ""}`);
          const reason = lastError instanceof Error ? `; last error: ${lastError.message}` : "";
          const calls = recent.join(", ") || "none";
          throw new Error(`waitFor: condition not met within ${timeoutMs} ms${reason}; recent calls: ${calls}`, {
            cause: lastError,
          });
        }
        await sleep(10);
      }
    },
    failNext: (method, fault, times = 1) => server.failNext(method, fault, times),
    setNemesis: (nemesis) => server.setNemesis(nemesis),
    holdArrival: (hold) => server.setArrivalHold(hold),
    confirmedOffset: () => state.queue.confirmedOffset(),
    pendingUpdates: () => state.queue.pendingCount(),
    close: () => server.close(),
  };
  return fake;
}
