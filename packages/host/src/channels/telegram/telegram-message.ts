import type { Animation, Audio, Document, PhotoSize, Video, VideoNote, Voice } from "telegraf/types";
import type { ChatRef, UserRef } from "../channel.js";

/**
 * The parts of a Telegram `Message` the channel reads. telegraf types a message as a union of
 * one type per content kind; this flat view (all content fields optional) is easier to read.
 */
export interface TelegramMessage {
  message_id: number;
  date: number;
  chat: { id: number; type: string; title?: string; username?: string; first_name?: string; last_name?: string; is_forum?: boolean };
  /** Topic of a forum supergroup (with `is_topic_message`); other chats use it for reply threads. */
  message_thread_id?: number;
  is_topic_message?: boolean;
  entities?: TelegramEntity[];
  caption_entities?: TelegramEntity[];
  from?: TelegramUser;
  text?: string;
  caption?: string;
  photo?: PhotoSize[];
  document?: Document;
  voice?: Voice;
  audio?: Audio;
  video?: Video;
  video_note?: VideoNote;
  animation?: Animation;
  sticker?: { emoji?: string; set_name?: string };
  location?: { latitude: number; longitude: number };
  contact?: { phone_number: string; first_name: string; last_name?: string };
  venue?: { title?: string; address?: string };
  poll?: { question?: string; options?: { text?: string }[]; type?: string };
  dice?: { emoji?: string; value?: number };
  game?: { title?: string; description?: string };
  story?: unknown;
  /** Service messages of a basic group upgraded to a supergroup (the old chat names the new one, and back). */
  migrate_to_chat_id?: number;
  migrate_from_chat_id?: number;
  reply_to_message?: TelegramMessage;
  media_group_id?: string;
  /** Set on an edited message: when it was edited (unix seconds). */
  edit_date?: number;
}

export interface TelegramEntity {
  type: string;
  offset: number;
  length: number;
  user?: TelegramUser;
}

export interface TelegramUser {
  id: number;
  is_bot: boolean;
  username?: string;
  first_name: string;
  last_name?: string;
}

export interface TelegramCallbackQuery {
  id: string;
  from: TelegramUser;
  data?: string;
  message?: TelegramMessage;
}

export interface TelegramUpdate {
  update_id: number;
  message?: TelegramMessage;
  /** A user edited one of their messages: same `message_id`, new text, `edit_date` (ARCHITECTURE §8). */
  edited_message?: TelegramMessage;
  callback_query?: TelegramCallbackQuery;
}

export function userName(user: TelegramUser | undefined): string {
  if (!user) return "unknown";
  const full = [user.first_name, user.last_name].filter(Boolean).join(" ").trim();
  return user.username ? (full ? `${full} (@${user.username})` : `@${user.username}`) : full || String(user.id);
}

export function chatRef(channelId: string, message: TelegramMessage): ChatRef {
  const c = message.chat;
  const title =
    c.title ?? ([c.first_name, c.last_name].filter(Boolean).join(" ").trim() || (c.username ? `@${c.username}` : ""));
  // Only a forum topic is its own conversation: in other supergroups message_thread_id marks a reply thread.
  const topic = c.is_forum === true && message.is_topic_message === true ? message.message_thread_id : undefined;
  return { channelId, chatId: String(c.id), type: c.type, title, ...(topic === undefined ? {} : { threadId: topic }) };
}

export function isGroup(chat: { type: string }): boolean {
  return chat.type === "group" || chat.type === "supergroup";
}

/**
 * A group message meant for the bot: it mentions it (`@username` or a text mention of its user),
 * replies to one of its messages, or is a command (checked by the caller).
 */
export function addressesBot(message: TelegramMessage, bot: { id: number | null; username: string | null }): boolean {
  const reply = message.reply_to_message?.from;
  if (reply && bot.id !== null && reply.id === bot.id) return true;
  const text = messageText(message);
  const entities = message.text !== undefined ? message.entities : message.caption_entities;
  const handle = bot.username ? `@${bot.username.toLowerCase()}` : null;
  for (const e of entities ?? []) {
    if (e.type === "text_mention" && bot.id !== null && e.user?.id === bot.id) return true;
    if (e.type === "mention" && handle && text.slice(e.offset, e.offset + e.length).toLowerCase() === handle) return true;
  }
  // Clients that send no entities (some bridges): the plain handle still counts.
  return handle !== null && !entities?.length && new RegExp(`(^|[^\\w])${handle}(?![\\w])`, "i").test(text);
}

export function userRef(user: TelegramUser | undefined): UserRef {
  return { userId: user ? String(user.id) : "0", name: userName(user) };
}

/** The text a message carries (text or caption), "" when none. */
export function messageText(message: TelegramMessage): string {
  return message.text ?? message.caption ?? "";
}

/**
 * Content that is not text or a file but still worth telling the model about (sticker, location,
 * venue, contact, poll, dice, game, story), and the quoted message when this one is a reply. A message
 * of a kind listed here is never dropped as empty: a private chat that sends a poll gets an answer.
 */
export function contextLines(message: TelegramMessage): string[] {
  const lines: string[] = [];
  const quoted = message.reply_to_message ? messageText(message.reply_to_message).trim() : "";
  if (quoted) {
    const short = quoted.length > 500 ? `${quoted.slice(0, 500)}…` : quoted;
    lines.push(`(In reply to ${userName(message.reply_to_message?.from)}: "${short}")`);
  }
  if (message.sticker) lines.push(`[sticker${message.sticker.emoji ? ` ${message.sticker.emoji}` : ""}]`);
  if (message.location) lines.push(`[location: ${message.location.latitude}, ${message.location.longitude}]`);
  if (message.contact) {
    const c = message.contact;
    lines.push(`[contact: ${[c.first_name, c.last_name].filter(Boolean).join(" ")} ${c.phone_number}]`);
  }
  if (message.venue) lines.push(`[venue: ${[message.venue.title, message.venue.address].filter(Boolean).join(", ")}]`);
  if (message.poll) {
    const options = (message.poll.options ?? []).map((o) => o.text ?? "").filter(Boolean);
    lines.push(`[${message.poll.type === "quiz" ? "quiz" : "poll"}: "${message.poll.question ?? ""}"${options.length ? ` options: ${options.join(" / ")}` : ""}]`);
  }
  if (message.dice) lines.push(`[dice ${message.dice.emoji ?? "🎲"} rolled ${message.dice.value ?? "?"}]`);
  if (message.game) lines.push(`[game: ${message.game.title ?? ""}]`);
  if (message.story) lines.push("[a story (its content is not available to bots)]");
  return lines;
}
