import { mediaObject } from "./methods/media.js";
import { mentionEntities } from "./groups.js";
import type { FakeState } from "./state.js";
import type { FakeChat, FakeUser, InboundFile, InboundOptions, MediaKind, MessageEntity, TgMessage } from "./types.js";
import { user } from "./types.js";

/** `/command` or `/command@bot` at the start of the text or after whitespace, as Telegram marks them. */
const BOT_COMMAND = /(?<=^|\s)\/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?(?![A-Za-z0-9_@])/g;

export function botCommandEntities(text: string): MessageEntity[] {
  return [...text.matchAll(BOT_COMMAND)].map((match) => ({
    type: "bot_command",
    offset: match.index,
    length: match[0].length,
  }));
}

const MEDIA = ["photo", "document", "audio", "voice", "video", "animation"] as const;

/** Who sends in a chat when the test does not say: the private chat's user, or a group member. */
function defaultSender(chat: FakeChat): FakeUser {
  if (chat.type !== "private") return user(1000, "Group Member");
  const sender: FakeUser = {
    id: chat.id,
    is_bot: false,
    first_name: chat.first_name ?? `User ${chat.id}`,
    language_code: "en",
  };
  if (chat.username !== undefined) sender.username = chat.username;
  return sender;
}

/** Builds the updates a simulated user causes and queues them. */
export class Inbound {
  private readonly state: FakeState;

  constructor(state: FakeState) {
    this.state = state;
  }

  private newMessage(chat: FakeChat, opts: InboundOptions | undefined): TgMessage {
    this.state.registerChat(chat);
    const message: TgMessage = {
      message_id: this.state.nextMessageId(chat.id),
      from: opts?.from ?? defaultSender(chat),
      chat: this.state.chats.get(chat.id) ?? chat,
      date: this.state.now(),
    };
    if (opts?.threadId !== undefined) {
      message.message_thread_id = opts.threadId;
      message.is_topic_message = true;
    }
    if (opts?.mediaGroupId !== undefined) message.media_group_id = opts.mediaGroupId;
    if (opts?.replyTo !== undefined) {
      const target = this.state.message(chat.id, opts.replyTo);
      if (target === undefined) throw new Error(`replyTo: no message ${opts.replyTo} in chat ${chat.id}`);
      message.reply_to_message = target;
    }
    return message;
  }

  /**
   * A basic group upgraded to a supergroup, as Telegram shows it to a bot: a service message in the
   * old group (`migrate_to_chat_id`), one in the new supergroup (`migrate_from_chat_id`), and from
   * then on every call naming the old chat id fails with 400 "group chat was upgraded to a
   * supergroup chat" and `parameters.migrate_to_chat_id`. Returns the second update's id.
   */
  migrate(group: FakeChat, supergroup: FakeChat, from?: FakeUser): number {
    const old = this.newMessage(group, { from: from ?? defaultSender(group) });
    this.deliver({ ...old, migrate_to_chat_id: supergroup.id });
    this.state.migrated.set(group.id, supergroup.id);
    const now = this.newMessage(supergroup, { from: from ?? defaultSender(supergroup) });
    return this.deliver({ ...now, migrate_from_chat_id: group.id });
  }

  private deliver(message: TgMessage): number {
    this.state.storeMessage(message);
    return this.state.queue.push({ message });
  }

  text(chat: FakeChat, text: string, opts?: InboundOptions): number {
    const message = this.newMessage(chat, opts);
    message.text = text;
    const entities = [...botCommandEntities(text), ...mentionEntities(text)].sort((a, b) => a.offset - b.offset);
    if (entities.length > 0) message.entities = entities;
    return this.deliver(message);
  }

  /**
   * The user edits one of their messages, as Telegram shows it to a bot: an `edited_message` update
   * with the same `message_id`, the new text (entities recomputed) and `edit_date`. Returns its update_id.
   */
  edit(chat: FakeChat, messageId: number, text: string): number {
    const original = this.state.message(chat.id, messageId);
    if (original === undefined) throw new Error(`editText: no message ${messageId} in chat ${chat.id}`);
    const edited: TgMessage = { ...original, edit_date: this.state.now() };
    delete edited.entities;
    delete edited.caption_entities;
    const entities = [...botCommandEntities(text), ...mentionEntities(text)].sort((a, b) => a.offset - b.offset);
    // A file's text is its caption, also when it had none before.
    if (original.caption !== undefined || MEDIA.some((kind) => original[kind] !== undefined)) {
      edited.caption = text;
      if (entities.length > 0) edited.caption_entities = entities;
    } else {
      edited.text = text;
      if (entities.length > 0) edited.entities = entities;
    }
    this.state.storeMessage(edited);
    return this.state.queue.push({ edited_message: edited });
  }

  /**
   * The user replaces the file of one of their messages (Telegram's "replace photo"): an `edited_message`
   * with the same `message_id` and caption and a new file (new `file_id` and `file_unique_id`). Returns its update_id.
   */
  editFile(chat: FakeChat, messageId: number, kind: MediaKind, file: Omit<InboundFile, "caption">): number {
    const original = this.state.message(chat.id, messageId);
    if (original === undefined) throw new Error(`editFile: no message ${messageId} in chat ${chat.id}`);
    const edited: TgMessage = { ...original, edit_date: this.state.now() };
    for (const old of MEDIA) delete edited[old];
    edited[kind] = mediaObject(this.state, kind, this.state.storeFile(kind, file.bytes, file.fileName, file.mimeType)) as never;
    this.state.storeMessage(edited);
    return this.state.queue.push({ edited_message: edited });
  }

  file(kind: MediaKind, chat: FakeChat, file: InboundFile, opts?: InboundOptions): number {
    const message = this.newMessage(chat, opts);
    const stored = this.state.storeFile(kind, file.bytes, file.fileName, file.mimeType);
    message[kind] = mediaObject(this.state, kind, stored);
    if (file.caption !== undefined && file.caption !== "") {
      message.caption = file.caption;
      const entities = [...botCommandEntities(file.caption), ...mentionEntities(file.caption)].sort((a, b) => a.offset - b.offset);
      if (entities.length > 0) message.caption_entities = entities;
    }
    return this.deliver(message);
  }

  /** A tap on an inline button of one of the bot's messages; the button must exist. */
  button(chat: FakeChat, messageId: number, data: string, from?: FakeUser): number {
    const message = this.state.message(chat.id, messageId);
    if (message === undefined) throw new Error(`pressButton: no message ${messageId} in chat ${chat.id}`);
    const buttons = (message.reply_markup?.inline_keyboard ?? []).flat();
    if (!buttons.some((button) => button.callback_data === data)) {
      const offered = buttons.map((button) => JSON.stringify(button.callback_data ?? button.url)).join(", ");
      throw new Error(
        `pressButton: message ${messageId} in chat ${chat.id} has no button with data ${JSON.stringify(data)} ` +
          `(buttons: ${offered || "none"})`,
      );
    }
    return this.state.queue.push({
      callback_query: {
        id: this.state.newCallbackQueryId(),
        from: from ?? defaultSender(chat),
        message,
        chat_instance: `ci${Math.abs(chat.id)}`,
        data,
      },
    });
  }
}
