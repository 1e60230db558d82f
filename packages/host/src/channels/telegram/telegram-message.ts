import type { Animation, Audio, Document, PhotoSize, Video, VideoNote, Voice } from "telegraf/types";
import type { ChatRef, UserRef } from "../channel.js";

/**
 * The parts of a Telegram `Message` the channel reads. telegraf types a message as a union of
 * one type per content kind; this flat view (all content fields optional) is easier to read.
 */
export interface TelegramMessage {
  message_id: number;
  date: number;
  chat: { id: number; type: string; title?: string; username?: string; first_name?: string; last_name?: string };
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
  reply_to_message?: TelegramMessage;
  media_group_id?: string;
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
  return { channelId, chatId: String(c.id), type: c.type, title };
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
 * contact), and the quoted message when this one is a reply.
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
  return lines;
}
