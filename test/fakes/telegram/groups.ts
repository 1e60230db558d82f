// Group features of the fake Bot API: forum supergroups (topics) and @mention entities, as
// Telegram adds them to the messages users send.
import type { FakeChat, MessageEntity } from "./types.js";

/** A forum supergroup (`is_forum`): messages in a topic carry `message_thread_id`. Ids look like -100…. */
export function forumChat(id: number, title: string): FakeChat {
  return { id, type: "supergroup", title, is_forum: true };
}

/** A supergroup without topics. */
export function supergroupChat(id: number, title: string): FakeChat {
  return { id, type: "supergroup", title };
}

const MENTION = /(?<=^|[^A-Za-z0-9_])@[A-Za-z0-9_]{5,32}(?![A-Za-z0-9_])/g;

/** `mention` entities for every `@username` in `text`, as Telegram marks them. */
export function mentionEntities(text: string): MessageEntity[] {
  return [...text.matchAll(MENTION)].map((match) => ({ type: "mention", offset: match.index, length: match[0].length }));
}
